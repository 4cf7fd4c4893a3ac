"""The hub's exception hierarchy.

Every error the hub raises on purpose derives from :class:`HubError`, so entry points (CLI,
HTTP) can translate them to exit codes and status codes in one place. Errors carry what the
caller needs to act (field errors, retry hints), not just a message.
"""

from __future__ import annotations

from dataclasses import dataclass


class HubError(Exception):
    """Root of every error the hub raises deliberately."""


@dataclass(frozen=True)
class FieldError:
    """One broken rule on one field: ``spouse_a.id_number`` / ``check_character`` / message."""

    field: str
    rule: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "rule": self.rule, "message": self.message}

    def __str__(self) -> str:
        return f"{self.field}: {self.message} [{self.rule}]"


class InvalidEvent(HubError):
    """The submitted event breaks one or more rules; nothing was written."""

    def __init__(self, event_type: str, errors: list[FieldError]):
        self.event_type = event_type
        self.errors = errors
        lines = "\n".join(f"  - {e}" for e in errors)
        super().__init__(f"invalid {event_type} event ({len(errors)} error(s)):\n{lines}")


class UnknownEventType(HubError):
    """The event type is not in the catalogue."""

    def __init__(self, event_type: str, known: list[str]):
        self.event_type = event_type
        super().__init__(f"unknown event type {event_type!r}; known types: {', '.join(known)}")


class NotOwner(HubError):
    """A department tried to publish an event type that another department owns."""

    def __init__(self, department: str, event_type: str, owner: str):
        self.department, self.event_type, self.owner = department, event_type, owner
        super().__init__(
            f"department {department!r} may not publish {event_type!r}: it is owned by {owner!r}"
        )


class PublishUnavailable(HubError):
    """Kafka or the schema registry could not be reached in time; the event was not written.

    ``retry_after_s`` is a hint for callers (HTTP turns it into ``Retry-After``).
    """

    def __init__(self, message: str, retry_after_s: int = 5):
        self.retry_after_s = retry_after_s
        super().__init__(message)


class SchemaIncompatible(HubError):
    """A schema change would break readers or writers of earlier versions."""

    def __init__(self, subject: str, problems: list[str]):
        self.subject, self.problems = subject, problems
        super().__init__(f"{subject}: incompatible change:\n" + "\n".join(f"  - {p}" for p in problems))


class ConfigurationError(HubError):
    """Configuration (tokens file, settings) is missing or malformed."""
