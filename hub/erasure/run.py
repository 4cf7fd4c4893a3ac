"""Run one erasure (PIPL art. 47) against the hub's topics: what ``hub erase`` and the demo call.

In this order, each step acknowledged before the next, so an interrupted erasure is finished by
running it again (the keys are destroyed last; the ERASURE items have the same ids every time):

1. the request is checked (an identifier; a legal basis with no identifier in it), and the
   caller must be the operator — refused naming the argument and the rule, nothing written;
2. the person's keys are read, and their cases: those filed under them (the case view) and those
   whose events carry fields sealed by their keys (the facts projection's index: a legal
   representative's case is the enterprise's); the cases are checked against the legal holds —
   a registration the law keeps refuses the erasure, naming its type and the law, nothing written;
3. an ERASURE work item goes to every department that received the person's data, one per item
   received: the department deletes or anonymises its own copy;
4. the erasure is audited (by pseudonym: basis, keys destroyed, departments told);
5. the person's keys are tombstoned on ``<prefix>.subject-keys``: their fields no longer open in
   any copy of the event log, and every hub process drops the keys within seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from hub.audit.intake import KafkaAuditIntake
from hub.domain.audit_entries import ErasureNote
from hub.domain.case import CaseState
from hub.domain.erasure import (erasure_id, erasure_items, hold_refusal, holds_from_settings,
                                request_problems)
from hub.domain.pseudonyms import normalised
from hub.domain.routing import WorkItem, inbox_key
from hub.errors import HubError, InvalidOption
from hub.kafka.clients import Clients
from hub.kafka.failures import unavailable_as_hub_error
from hub.kafka.key_feed import KeyFeed
from hub.kafka.topic_names import TopicNames
from hub.projections.cases import CaseProjection
from hub.projections.facts import FactsProjection
from hub.projections.store import Progress
from hub.security.principals import Service
from hub.security.pseudonym_keys import pseudonyms_of
from hub.wire.serde import model_serializer


class ErasureRefused(HubError):
    """The law keeps one of the person's registrations: nothing was erased."""


@dataclass
class ErasureResult:
    erasure_id: str
    keys_erased: int
    items: list[WorkItem] = field(default_factory=list)
    dry_run: bool = False

    @property
    def departments(self) -> list[str]:
        return sorted({i.department.value for i in self.items})

    @property
    def nothing_held(self) -> bool:
        return not self.keys_erased and not self.items

    def as_json(self) -> dict:
        return {"erasure_id": self.erasure_id, "keys_erased": self.keys_erased,
                "items_sent": len(self.items), "departments": self.departments, "dry_run": self.dry_run}

    def __str__(self) -> str:
        if self.nothing_held:
            return "the hub holds no keys and sent no data about this subject: nothing to erase"
        verb = "would be" if self.dry_run else "were"
        return (f"erasure {self.erasure_id}: {self.keys_erased} key(s) {verb} destroyed; {len(self.items)} "
                f"ERASURE item(s) {verb} sent to {', '.join(self.departments) or 'no department'}"
                f"{'' if self.dry_run else '; audited'}")


def run_erasure(clients: Clients, subject_id: str, basis: str, *, requested_by: str,
                dry_run: bool = False, now: datetime | None = None,
                progress: Progress | None = None) -> ErasureResult:
    """Erase ``subject_id`` (see the module's steps). Raises :class:`InvalidOption` (a bad
    request, or not the operator), :class:`ErasureRefused` (a legal hold),
    :class:`~hub.errors.Unavailable`, :class:`~hub.errors.NotAudited`."""
    settings = clients.settings
    if settings.principal != Service.OPERATOR.value:
        # The broker refuses a department's tombstones and inbox writes anyway (ACLs): say so first.
        raise InvalidOption(f"hub erase is the operator's; this process authenticates as "
                            f"{settings.principal!r} (HUB_PRINCIPAL)")
    problems = request_problems(subject_id, basis)
    if problems:
        raise InvalidOption("; ".join(problems))
    subject, now = normalised(subject_id), now or datetime.now(timezone.utc)
    feed = KeyFeed(clients)
    try:
        keys = feed.keys_of(subject)
        cases = _cases_of(clients, subject, keys, progress)
        refusal = hold_refusal(cases, holds_from_settings(settings.erasure_holds), now)
        if refusal is not None:
            raise ErasureRefused(refusal)
        ref = pseudonyms_of(settings).of(subject)
        erasure = erasure_id(ref)
        result = ErasureResult(erasure, len(keys), erasure_items(cases, erasure, now), dry_run)
        if not result.nothing_held and not dry_run:
            _send(clients, result.items)
            KafkaAuditIntake(clients).post(ErasureNote(
                erasure_id=result.erasure_id, at=now, requested_by=requested_by, subject_ref=ref,
                basis=basis.strip(), keys_erased=len(keys), items_sent=len(result.items),
                departments=result.departments))
            feed.erase(keys)
        return result
    finally:
        feed.close()


def _cases_of(clients: Clients, subject: str, keys: frozenset[str], progress: Progress | None) -> list[CaseState]:
    """The person's cases: those filed under them, and those whose events carry their fields
    sealed by their keys (a legal representative: the case is the organisation's)."""
    facts, cases = FactsProjection(clients), CaseProjection(clients)
    try:
        if facts.sealed_index_complete():
            facts.catch_up(progress)
        else:  # a file from before the index of sealed fields: it would miss cases
            facts.rebuild(progress)
        cases.catch_up(progress)
        found = {c.case_id: c for c in cases.for_subject(subject)}
        for case_id in facts.cases_sealed_by(keys):
            case = found.get(case_id) or cases.case(case_id)
            if case is not None:
                found[case_id] = case
        return list(found.values())
    finally:
        facts.close()
        cases.close()


def _send(clients: Clients, items: list[WorkItem]) -> None:
    """Each ERASURE item to its department's inbox, keyed as the router keys items (so it comes
    after the item it erases); returns once the broker has them all."""
    names, timeout = TopicNames(clients.settings.topic_prefix), clients.settings.publish_timeout_s
    encode = model_serializer(clients.registry, "WorkItem")
    with unavailable_as_hub_error("the ERASURE items could not be sent"):
        producer = clients.producer(client_id="oncehub-erase")
        try:
            sent = []
            for item in items:
                topic = names.inbox(item.department)
                sent.append(producer.send(topic, key=inbox_key(item), value=encode(item, topic)))
            for future in sent:
                future.get(timeout=timeout)
        finally:
            producer.close(timeout=timeout)
