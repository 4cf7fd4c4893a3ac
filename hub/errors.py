"""The hub's exception hierarchy.

Every error the hub raises on purpose derives from :class:`HubError`, so entry points (CLI,
HTTP) can translate them to exit codes and status codes in one place. Errors carry what the
caller needs to act (field errors, retry hints), not just a message.
"""

from __future__ import annotations

from dataclasses import dataclass


class HubError(Exception):
    """Root of every error the hub raises deliberately."""


def caused_by(exc: BaseException, kinds: tuple[type[BaseException], ...]) -> bool:
    """True if ``exc``, or any exception that caused it, is one of ``kinds``."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kinds):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


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


class Unavailable(HubError):
    """Kafka or the schema registry could not be reached in time; nothing was done.

    Raised at the I/O edge (``raise Unavailable(...) from exc``) so callers never need to know
    which client library failed. ``retry_after_s`` is a hint (HTTP turns it into
    ``Retry-After``; the CLI exits with 3).
    """

    def __init__(self, message: str, retry_after_s: int = 5):
        self.retry_after_s = retry_after_s
        super().__init__(message)


class PublishUnavailable(Unavailable):
    """The event could not be published in time; it was not sent, so it was not written."""


class PublishOutcomeUnknown(PublishUnavailable):
    """The event was sent but Kafka did not acknowledge it in time: it may or may not have been
    recorded (a broker can write a record whose acknowledgement never arrives). Publishing it
    again with the same ``event_id`` is safe — the hub records an event id once — and is how the
    caller learns the outcome; nothing is ever recorded that the caller was told was not."""

    def __init__(self, message: str, event_id: str, retry_after_s: int = 5):
        self.event_id = event_id
        super().__init__(message, retry_after_s)


class TopicMissing(HubError):
    """A topic the hub needs does not exist: the cluster was not provisioned for this prefix."""

    def __init__(self, topics: list[str], needed_by: str = ""):
        self.topics = list(topics)
        who = f"{needed_by}: " if needed_by else ""
        super().__init__(f"{who}topic(s) not found: {', '.join(self.topics)} "
                         "(run `hub topics ensure`, or provision the catalogue)")


class Conflict(HubError):
    """The action would clash with another process's (e.g. a second writer of one chain)."""


class NotFound(HubError):
    """The thing asked for (a case, a dead letter) does not exist."""


class NotAudited(HubError):
    """The audit note of an action could not be written, so the action counts as not done."""


class InvalidOption(HubError):
    """An operator's option breaks a rule; the message names the option and the rule."""


class SchemaIncompatible(HubError):
    """A schema change would break readers or writers of earlier versions."""

    def __init__(self, subject: str, problems: list[str]):
        self.subject, self.problems = subject, problems
        super().__init__(f"{subject}: incompatible change:\n" + "\n".join(f"  - {p}" for p in problems))


class ConfigurationError(HubError):
    """Configuration (tokens file, settings) is missing or malformed."""


class DevStackError(HubError):
    """The development stack could not be brought to the requested state; the message says why."""
