"""The audit-note sink in memory: the notes posted, in order; can be told to fail."""

from __future__ import annotations

from hub.domain.audit_entries import Note
from hub.errors import NotAudited, Unavailable


class InMemoryAuditNotes:
    """:class:`~hub.domain.ports.AuditNoteSink` in a list, standing in for
    :class:`~hub.audit.intake.KafkaAuditIntake`.

    ``fail_with``: while set, ``post`` refuses as the Kafka intake does when the broker is
    away — :class:`NotAudited`, caused by the given error (by default :class:`Unavailable`) —
    and keeps nothing."""

    def __init__(self) -> None:
        self.notes: list[Note] = []
        self.fail_with: BaseException | None = None

    def post(self, note: Note) -> None:
        if self.fail_with is not None:
            raise NotAudited(f"audit note not written: {self.fail_with}") from self.fail_with
        self.notes.append(note)

    def refuse(self, cause: BaseException | None = None) -> None:
        """Make every later ``post`` fail (``cause``: why; the broker being unreachable by default)."""
        self.fail_with = cause or Unavailable("the audit intake is unreachable")

    def restore(self) -> None:
        """Accept notes again."""
        self.fail_with = None

    def close(self) -> None:
        """Nothing to close (the real sink's producer belongs to its clients)."""
