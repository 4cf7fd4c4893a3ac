"""The envelope every hub event carries, and the sealed event (envelope + payload).

A department submits a payload with a few optional envelope hints (its own event id for
idempotent retries, the case it belongs to, a reference to an earlier event it corrects or
annuls). The hub seals it: assigns ids, the event type, the schema version, the department
from the caller's credentials, the subject ids from the payload, and the recording time.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Generic, TypeVar
from uuid import UUID

from pydantic import Field

from hub.domain.common import HubModel, PastInstant
from hub.domain.departments import Department


class ChangeKind(StrEnum):
    """How an event relates to the earlier event it refers to."""

    CORRECTION = "CORRECTION"
    ANNULMENT = "ANNULMENT"


class EventType(StrEnum):
    """The registration events of the catalogue (the six seed triggers)."""

    SOCIAL_ORGANISATION_REGISTERED = "social_organisation_registered"
    ENTERPRISE_REGISTERED = "enterprise_registered"
    MARRIAGE_REGISTERED = "marriage_registered"
    BIRTH_CERTIFIED = "birth_certified"
    DEATH_CERTIFIED = "death_certified"
    RETIREMENT_APPROVED = "retirement_approved"
    DOCUMENTS_SUPPLEMENTED = "documents_supplemented"
    CONSENT_WITHDRAWN = "consent_withdrawn"


# Events about an earlier registration (naming it in their payload), not registrations: they
# trigger no follow-on item of their own and state no fact.
FOLLOW_UPS = frozenset({EventType.DOCUMENTS_SUPPLEMENTED, EventType.CONSENT_WITHDRAWN})
REGISTRATIONS = tuple(t for t in EventType if t not in FOLLOW_UPS)


class RefersTo(HubModel):
    """A pointer from a correcting or annulling event to the event it changes."""

    event_id: str = Field(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
    change_kind: ChangeKind
    subject_id: str | None = Field(
        None, min_length=1, max_length=64,
        description="The subject the referred-to event is filed under (its primary subject, or "
        "the subject_id it named itself), needed only when this event names another primary subject — "
        "a correction of the subject itself: the event is filed with its original, so the "
        "router holding the original's partition sees it.")


class ProtectedFields(HubModel):
    """One person's payload fields, encrypted to their own key (crypto-shredding: see
    :mod:`hub.domain.personal_data` for which fields, :mod:`hub.security.shredding` for how)."""

    role: str
    key_id: str
    ephemeral: bytes
    nonce: bytes
    ciphertext: bytes


class Envelope(HubModel):
    """Who said what about whom, and when: identical on every event type."""

    event_id: str
    event_type: EventType
    schema_version: int = Field(ge=1)
    source_department: Department
    subject_ids: list[str] = Field(min_length=1)
    occurred_at: datetime
    recorded_at: datetime
    case_id: str
    refers_to: RefersTo | None = None
    pending_documents: list[str] = []
    consents: list[str] = []
    protected: list[ProtectedFields] = []


P = TypeVar("P", bound=HubModel)


class Event(HubModel, Generic[P]):
    """A sealed event as it travels on the wire: envelope plus the type's payload."""

    envelope: Envelope
    payload: P

    @property
    def key(self) -> str:
        """Kafka key: the subject the event is filed under (:func:`filing_subject`)."""
        return filing_subject(self.envelope.subject_ids, self.envelope.refers_to)


def filing_subject(subject_ids: list[str], refers_to: "RefersTo | dict | None") -> str:
    """The subject an event is filed under — its Kafka key, so one subject's events stay in
    order on one partition: the primary subject, except for an event that changes an earlier
    one filed under another subject (``refers_to.subject_id``), which is filed with it."""
    named = refers_to.get("subject_id") if isinstance(refers_to, dict) else getattr(refers_to, "subject_id", None)
    return named or subject_ids[0]


CASE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{2,63}$"


class Submission(HubModel, Generic[P]):
    """What a department sends: the payload plus optional envelope hints."""

    payload: P
    occurred_at: PastInstant
    event_id: UUID | None = Field(
        None, description="Set it to make retries idempotent; generated when absent."
    )
    case_id: str | None = Field(
        None, pattern=CASE_ID_PATTERN, description="Case (一件事) this event opens or joins."
    )
    refers_to: RefersTo | None = None
    pending_documents: list[Annotated[str, Field(min_length=2, max_length=100)]] = Field(
        default_factory=list,
        description="容缺受理: documents accepted as missing; follow-on items wait for them.",
    )
    consents: list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{2,63}$")]] = Field(
        default_factory=list,
        description="Consent-based follow-on items (by item name, e.g. marriage_housing_loan_notice) "
        "the citizen agreed to at the window; without it such an item is not shared.",
    )
