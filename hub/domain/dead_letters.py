"""Dead letters: records that could not be processed, parked with why and where from.

A letter holds the record's coordinates (topic, partition, offset), never its key or bytes: the
record stays where it is, in its source topic, and a redrive reads it from there. A dead-letter
topic is therefore no second copy of anyone's personal data (letters parked before this carried
``key`` and ``value``; they are still read and redriven as they are).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from hub.domain.redaction import error_text

DEAD_LETTER_NAMESPACE = uuid.UUID("7c1e9a2d-4b6f-4e3a-9d8c-2f5b1a6e0c94")


class DeadLetter(BaseModel):
    """A parked record: reason, stage, and the source topic/partition/offset it is at."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dead_letter_id: str
    stage: str
    reason: str
    error_type: str
    source_topic: str
    source_partition: int
    source_offset: int
    parked_at: datetime
    key: bytes | None = None  # only in letters parked before coordinates-only letters
    value: bytes | None = None

    @classmethod
    def of(cls, *, stage: str, error: BaseException, topic: str, partition: int, offset: int,
           parked_at: datetime) -> "DeadLetter":
        # Same record, same stage → same id, so parking twice (after a crash) is recognisable.
        letter_id = uuid.uuid5(DEAD_LETTER_NAMESPACE, f"{topic}/{partition}/{offset}/{stage}")
        return cls(
            dead_letter_id=str(letter_id), stage=stage,
            reason=error_text(error), error_type=type(error).__name__,
            source_topic=topic, source_partition=partition, source_offset=offset,
            parked_at=parked_at,
        )
