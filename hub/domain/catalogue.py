"""The event catalogue: each event type, who owns it, its payload model and its schema.

This is the one table that ties an event type to its owner department (the only one allowed
to publish it), its pydantic payload model, its Avro record (``schemas/<record>.avsc``) and the
schema version stamped into the envelope.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from hub.domain import events
from hub.domain.common import HubModel
from hub.domain.departments import Department
from hub.domain.envelope import Event, EventType, Submission
from hub.errors import NotOwner, UnknownEventType

AVRO_NAMESPACE = "gov.zj.oncehub"


@dataclass(frozen=True)
class EventSpec:
    """Everything the hub knows about one event type."""

    event_type: EventType
    owner: Department
    payload_model: type[HubModel]
    record_name: str
    schema_version: int
    title_zh: str
    also_published_by: frozenset[Department] = frozenset()

    @property
    def publishers(self) -> frozenset[Department]:
        """Departments allowed to publish this event type (the owner first of all)."""
        return self.also_published_by | {self.owner}

    @property
    def avro_full_name(self) -> str:
        return f"{AVRO_NAMESPACE}.{self.record_name}"

    @property
    def shared(self) -> bool:
        """Published by several departments: then each has a topic of its own."""
        return bool(self.also_published_by - {self.owner})

    def topic(self, prefix: str, publisher: Department | None = None) -> str:
        """The topic ``publisher`` (the owner if not given) writes this event type to.

        One topic per event type, so each topic has one value schema (TopicNameStrategy), and
        one writer per topic, so the broker's ACLs can say who wrote what: a type several
        departments publish has a topic per publisher, ``<prefix>.events.<type>.<department>``.
        (:meth:`hub.kafka.topic_names.TopicNames.events` insists on the publisher for those.)
        """
        publisher = self.owner if publisher is None else publisher
        if publisher not in self.publishers:
            raise ValueError(f"{publisher.value} does not publish {self.event_type.value} "
                             f"(publishers: {', '.join(sorted(d.value for d in self.publishers))})")
        base = f"{prefix}.events.{self.event_type.value}"
        return f"{base}.{publisher.value.lower()}" if self.shared else base

    # pydantic keeps parametrised generic classes only weakly; holding them here avoids
    # rebuilding a class and its validator (~0.7 ms) whenever the GC has dropped it.
    @cached_property
    def event_model(self) -> type[Event]:
        return Event[self.payload_model]  # type: ignore[name-defined]

    @cached_property
    def submission_model(self) -> type[Submission]:
        return Submission[self.payload_model]  # type: ignore[name-defined]

    def subject_ids(self, payload: HubModel) -> list[str]:
        return payload.subject_ids()  # type: ignore[attr-defined]


def _spec(t: EventType, owner: Department, model: type[HubModel], title: str,
          also: frozenset[Department] = frozenset()) -> EventSpec:
    return EventSpec(t, owner, model, model.__name__, 1, title, also)


# Departments that accept registrations, and so may accept them with documents missing.
ACCEPTING = frozenset({Department.CIVIL_AFFAIRS, Department.MARKET_SUPERVISION, Department.HEALTH,
                       Department.HUMAN_RESOURCES_SOCIAL_SECURITY})


CATALOGUE: dict[EventType, EventSpec] = {
    s.event_type: s
    for s in (
        _spec(EventType.SOCIAL_ORGANISATION_REGISTERED, Department.CIVIL_AFFAIRS,
              events.SocialOrganisationRegistered, "社会组织成立登记"),
        _spec(EventType.ENTERPRISE_REGISTERED, Department.MARKET_SUPERVISION,
              events.EnterpriseRegistered, "企业设立登记"),
        _spec(EventType.MARRIAGE_REGISTERED, Department.CIVIL_AFFAIRS,
              events.MarriageRegistered, "结婚登记"),
        _spec(EventType.BIRTH_CERTIFIED, Department.HEALTH,
              events.BirthCertified, "出生医学证明"),
        _spec(EventType.DEATH_CERTIFIED, Department.HEALTH,
              events.DeathCertified, "死亡医学证明"),
        _spec(EventType.RETIREMENT_APPROVED, Department.HUMAN_RESOURCES_SOCIAL_SECURITY,
              events.RetirementApproved, "退休审批"),
        _spec(EventType.DOCUMENTS_SUPPLEMENTED, Department.CIVIL_AFFAIRS,
              events.DocumentsSupplemented, "补齐材料（容缺受理）", ACCEPTING),
        _spec(EventType.CONSENT_WITHDRAWN, Department.CIVIL_AFFAIRS,
              events.ConsentWithdrawn, "撤回同意", ACCEPTING),
    )
}


def spec_for(event_type: str) -> EventSpec:
    """Look up an event type by its name; unknown names raise :class:`UnknownEventType`."""
    try:
        return CATALOGUE[EventType(event_type)]
    except ValueError:
        raise UnknownEventType(event_type, [t.value for t in EventType]) from None


def spec_for_publisher(event_type: str, department: Department) -> EventSpec:
    """The spec, if ``department`` owns the event type; otherwise :class:`NotOwner`."""
    spec = spec_for(event_type)
    if department not in spec.publishers:
        raise NotOwner(department.value, spec.event_type.value, spec.owner.value)
    return spec
