"""Turn a department's submission into a sealed event, or a list of field errors.

Pure: the clock and the id factory are passed in, so the same submission sealed twice with the
same collaborators gives the same event.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any
from uuid import uuid4

from pydantic import ValidationError

from hub.domain.catalogue import EventSpec
from hub.domain.common import CHINA_TZ
from hub.domain.departments import Department
from hub.domain.envelope import Envelope, Event, Submission
from hub.errors import FieldError, InvalidEvent

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def field_errors(exc: ValidationError) -> list[FieldError]:
    """Pydantic's errors as ``{field, rule, message}``, the field as a dotted path."""
    out = []
    for err in exc.errors(include_url=False):
        path = ".".join(str(part) for part in err["loc"]) or "(body)"
        out.append(FieldError(field=path, rule=err["type"], message=err["msg"]))
    return out


def validate_submission(spec: EventSpec, raw: Any, now: datetime) -> Submission:
    """Validate ``raw`` (a dict from JSON) as a submission of ``spec``'s event type."""
    model = spec.submission_model
    context = {"now": now, "today": now.astimezone(CHINA_TZ).date()}
    try:
        return model.model_validate(raw, context=context)
    except ValidationError as exc:
        raise InvalidEvent(spec.event_type.value, field_errors(exc)) from None


def seal(
    spec: EventSpec,
    department: Department,
    raw: Any,
    clock: Clock = utc_now,
    new_id: Callable[[], str] = lambda: str(uuid4()),
) -> Event:
    """Validate and seal: the hub, not the caller, decides type, version, department and time."""
    now = clock()
    submission = validate_submission(spec, raw, now)
    event_id = str(submission.event_id) if submission.event_id else new_id()
    envelope = Envelope(
        event_id=event_id,
        event_type=spec.event_type,
        schema_version=spec.schema_version,
        source_department=department,
        subject_ids=spec.subject_ids(submission.payload),
        occurred_at=submission.occurred_at,
        recorded_at=now.replace(microsecond=now.microsecond // 1000 * 1000),
        # A new event without a case opens its own case (一件事), named after the event.
        case_id=submission.case_id or f"case-{event_id}",
        refers_to=submission.refers_to,
        pending_documents=submission.pending_documents,
        consents=sorted(set(submission.consents)),
    )
    return spec.event_model(envelope=envelope, payload=submission.payload)
