"""What the router does with one record, independent of faust: decode, route, or dead-letter.

The processor returns the records to write (inbox items, routing-log decision, or a dead
letter) and never raises for a bad record: anything it cannot decode or route becomes a dead
letter with the reason and the source topic/partition/offset, so the partition keeps moving.

It also refuses (dead-letters) what would reach into another department's data, by the rules of
:mod:`hub.domain.ownership`: an event on a topic its department does not write, a correction,
annulment or supplement of another department's event, an event id reused with other content,
an event joining a case another department opened.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from hub.domain.catalogue import EventSpec
from hub.domain.dead_letters import DeadLetter
from hub.domain.envelope import EventType
from hub.domain.identifiers import mask_id
from hub.domain.ownership import (
    Recorded, Refused, case_refusal, id_refusal, reference_refusal, supplement_refusal, withdrawal_refusal,
    writer_refusal)
from hub.domain.redaction import error_text
from hub.domain.routing import (
    DecisionKind, RoutingDecision, WorkItem, consent_items, decision_for, inbox_key, route, withdrawal_notices,
    withheld)
from hub.domain.rules import RuleBook
from hub.kafka.failures import is_transient
from hub.kafka.topic_names import TopicNames
from hub.worker.staged import Staged

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class Output:
    """One record to produce: topic, key, value (already serialised)."""

    topic: str
    key: bytes
    value: bytes


@dataclass(frozen=True)
class Prepared:
    """Records' outputs, built, and the table changes that go with them (not yet made).

    ``commit(enter)`` makes the changes, record by record: ``enter(n)`` (if given) is called
    before the ``n``-th record's, so the router can make them in that record's faust context."""

    outputs: list[Output]
    commit: Callable[..., None]
    discard: Callable[[], None]


@dataclass(frozen=True)
class SourceRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


class RouterProcessor:
    """Routes decoded events; serialisers and the "routed before" memory are passed in.

    ``routed`` maps an event id to what routing it recorded (JSON-able): ``{"items":
    [[department, item], …], "department", "event_type", "subject", "fingerprint"}``, so a later
    correction or annulment reaches every department that received the original, and is
    refused unless it comes from the original's department, with its type and primary subject;
    an id routed again must come with the same content. (An entry of an older router is the
    plain list of pairs: its items still count, its owner is unknown, so references to it
    are refused.) ``held`` keeps events accepted with documents missing (容缺受理) until their
    supplement, with the same record of who published them. ``cases`` maps a case id to the
    department that opened it (only that department may add events to it).

    The router reads the event topics side by side, so a supplement can be read before the
    event it completes. With ``early_supplements`` (the router) such a supplement is kept in
    ``held`` under the event's id and applied when the event comes; if the event then needs no
    documents, the supplement is dead-lettered at that point, naming its own source offset.
    Without it (replay, which reads in time order) a supplement for nothing held is a dead letter.
    A supplement kept for an event that does not come within a set time is dead-lettered by
    :meth:`expire_early` (the router runs it on a timer), so ``held`` does not grow without bound.
    """

    def __init__(
        self,
        rules: RuleBook,
        names: TopicNames,
        decode: Callable[[EventSpec, bytes, str], dict],
        specs_by_topic: dict[str, EventSpec],
        encode_item: Callable[[WorkItem, str], bytes],
        encode_decision: Callable[[RoutingDecision, str], bytes],
        encode_dead_letter: Callable[[DeadLetter, str], bytes],
        routed: MutableMapping[str, list | dict],
        held: MutableMapping[str, dict],
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        early_supplements: bool = False,
        cases: MutableMapping[str, str] | None = None,
    ):
        self._rules, self._names, self._decode = rules, names, decode
        self._specs = specs_by_topic
        self._encode_item, self._encode_decision = encode_item, encode_decision
        self._encode_dead_letter = encode_dead_letter
        # Every table change is staged and made only once all of a record's outputs are built.
        self._routed, self._held = Staged(routed), Staged(held)
        self._cases = Staged(cases if cases is not None else {})
        self._tables = (self._routed, self._held, self._cases)
        self._clock = clock
        self._early_supplements = early_supplements
        self._choosing = _choosing_only(rules)
        self._building = True  # False only inside :meth:`remember`

    @property
    def _route_rules(self) -> RuleBook:
        """The rules ``route`` chooses items with: all of them, or (when only the tables are
        wanted) the same rules without their grants, so no field is projected."""
        return self._rules if self._building else self._choosing

    def process(self, record: SourceRecord) -> list[Output]:
        """Route one record and record it in the tables; a transient failure raises and leaves
        the tables untouched, so the same record can be tried again."""
        prepared = self.prepare(record)
        prepared.commit()
        return prepared.outputs

    def remember(self, record: SourceRecord) -> list[Output]:
        """Make exactly the table changes :meth:`process` makes for ``record``, without building
        its outputs: no routing decision, no work item's fields, nothing encoded. What the replay
        does with the records before its window, which only rebuild this memory. The same code
        runs (the same refusals, the same items chosen, the same entries written); returns only
        the record's dead letters (an unroutable record changes nothing, as in :meth:`process`)."""
        self._building = False
        try:
            return self.process(record)
        finally:
            self._building = True

    def prepare(self, record: SourceRecord) -> Prepared:
        """Build one record's outputs without changing the tables: ``commit()`` makes the
        changes, after the caller has the outputs (the router calls it on faust's event loop,
        having built the outputs on a thread, because registry lookups block)."""
        return self.prepare_batch([record])

    def prepare_batch(self, records: Sequence[SourceRecord]) -> Prepared:
        """:meth:`prepare` for several records, in order: each sees the table changes of those
        before it. A record that cannot be routed is a dead letter and changes nothing; a
        transient failure raises and leaves the tables untouched (the batch is tried again)."""
        self._discard()
        outputs: list[Output] = []
        try:
            for n, record in enumerate(records):
                if n:
                    for table in self._tables:
                        table.begin()
                outputs += self._prepare_one(record)
        except BaseException:
            self._discard()
            raise
        return Prepared(outputs, self._commit, self._discard)

    def _prepare_one(self, record: SourceRecord) -> list[Output]:
        try:
            return self._route(record)
        except Exception as exc:  # noqa: BLE001 - every failure of one record is parked, by design
            if is_transient(exc):
                raise  # the registry is unreachable: retry the record, don't park it
            for table in self._tables:
                table.drop_segment()
            log.warning("parking %s[%d]@%d: %s", record.topic, record.partition, record.offset,
                        error_text(exc))
            return [self.dead_letter(record, exc)]

    def _commit(self, enter: Callable[[int], None] | None = None) -> None:
        per_table = [table.segments() for table in self._tables]
        for n, writes in enumerate(zip(*per_table)):
            if enter is not None:
                enter(n)
            for table, segment in zip(self._tables, writes):
                table.apply(segment)

    def _discard(self) -> None:
        for table in self._tables:
            table.discard()

    def _route(self, record: SourceRecord) -> list[Output]:
        spec = self._specs.get(record.topic)
        if spec is None:
            raise ValueError(f"no event type is published on {record.topic}")
        if record.value is None:
            raise ValueError("record has no value (tombstone)")
        event = self._decode(spec, record.value, record.topic)
        env = event["envelope"]
        _refuse_if(writer_refusal(event, record.topic, spec.event_type.value,
                                  _value(self._names.writer_of(record.topic)),
                                  frozenset(d.value for d in spec.publishers)))
        if env["event_type"] == EventType.DOCUMENTS_SUPPLEMENTED.value:
            return self._supplement(record, event)
        recorded = Recorded.of(event)
        refers = env.get("refers_to")
        _refuse_if(id_refusal(event, self.recorded(env["event_id"]), recorded.fingerprint)
                   or case_refusal(env["case_id"], recorded.department, self._cases.get(env["case_id"]))
                   or (reference_refusal(event, self.recorded(refers["event_id"])) if refers else None))
        if self._cases.get(env["case_id"]) is None:
            self._cases[env["case_id"]] = recorded.department  # this event opens the case
        if env["event_type"] == EventType.CONSENT_WITHDRAWN.value:
            return self._withdraw(event, recorded)
        early = self._early_for(env["event_id"])
        if env.get("pending_documents"):
            return self._hold(record, event, early, recorded)
        return self._release(event, DecisionKind.ROUTED, recorded) + self._unwanted(
            early, f"event {env['event_id']} was not waiting for documents (it was routed at once)")

    def recorded(self, event_id: str) -> Recorded | None:
        """What was recorded of event ``event_id`` when it was routed or held (None: neither)."""
        entry = self._routed.get(event_id)
        if isinstance(entry, dict):
            return Recorded.from_json(entry)
        if entry is not None:  # an older router's plain list of (department, item) pairs
            return Recorded(None, None, None, None)
        held = self._held.get(event_id)
        if held is None or "value" not in held:
            return None
        if "recorded" in held:
            return Recorded.from_json(held["recorded"])
        return Recorded.of(self._held_event(held))  # held by an older router: read it again

    def _held_event(self, held: dict) -> dict:
        return self._decode(self._specs[held["topic"]], bytes.fromhex(held["value"]), held["topic"])

    def _release(self, event: dict, kind: DecisionKind, recorded: Recorded | None = None,
                 withdrawn: frozenset[str] = frozenset()) -> list[Output]:
        """Route the event now: its work items, then the decision that records them.
        ``withdrawn``: consent-based items withdrawn while the event was held; a correction or
        annulment inherits those withdrawn for the event it changes."""
        env = event["envelope"]
        refers = env.get("refers_to")
        original = self._routed.get(refers["event_id"]) if refers else None
        before = _items_of(original)
        withdrawn = withdrawn | _withdrawn_of(original)
        items = route(event, self._route_rules, {tuple(p) for p in before} if before else None, withdrawn)
        self._routed[env["event_id"]] = {"items": [[w.department.value, w.item] for w in items],
                                         **(recorded or Recorded.of(event)).as_json(),
                                         **({"withdrawn": sorted(withdrawn)} if withdrawn else {})}
        if not self._building:
            return []
        log.info("routed %s %s subject=%s -> %d item(s)", env["event_type"], env["event_id"],
                 mask_id(env["subject_ids"][0]), len(items))
        decision = decision_for(event, kind, items,
                                withheld_items=withheld(event, self._rules, items, withdrawn))
        return [self._item_output(w) for w in items] + [self._decision_output(decision)]

    def _withdraw(self, event: dict, recorded: Recorded) -> list[Output]:
        """撤回同意: the named registration's withdrawn items are never sent again (remembered with
        it, or with it held for documents), and each department that received one is told."""
        env, payload = event["envelope"], event["payload"]
        target, items = payload["withdraws_consent_of"], list(payload["items"])
        original = self.recorded(target)
        withdrawable = set(consent_items(self._rules, original.event_type)) if original and original.event_type else set()
        _refuse_if(withdrawal_refusal(str(env["source_department"]), target, original,
                                      str(payload["subject_id"]), items, withdrawable))
        entry, sent = self._routed.get(target), set()
        if isinstance(entry, dict):
            sent = {tuple(p) for p in _items_of(entry) or []}
            self._routed[target] = {**entry, "withdrawn": sorted(_withdrawn_of(entry) | set(items))}
        else:  # held for documents: its items go out without these when it is released
            held = self._held[target]
            self._held[target] = {**held, "withdrawn": sorted(set(held.get("withdrawn", [])) | set(items))}
        notices = withdrawal_notices(event, str(original.event_type), sent, self._rules)
        self._routed[env["event_id"]] = {"items": [[w.department.value, w.item] for w in notices],
                                         **recorded.as_json()}
        if not self._building:
            return []
        log.info("consent withdrawn for %s: %d recipient(s) told", target, len(notices))
        decision = decision_for(event, DecisionKind.ROUTED, notices)
        return [self._item_output(w) for w in notices] + [self._decision_output(decision)]

    def _hold(self, record: SourceRecord, event: dict, early: list[dict],
              recorded: Recorded) -> list[Output]:
        """容缺受理: record the case with its planned items, send nothing until the documents come
        (documents that came ahead of the event are applied at once, as if read after it — those
        its own department sent: any other department's are dead letters)."""
        env = event["envelope"]
        pending = list(env["pending_documents"])
        self._held[env["event_id"]] = {"topic": record.topic, "value": record.value.hex(),
                                       "pending": pending, "recorded": recorded.as_json()}
        outputs: list[Output] = []
        if self._building:
            planned = route(event, self._rules)
            outputs.append(self._decision_output(decision_for(
                event, DecisionKind.HELD, planned, pending, withheld(event, self._rules, planned))))
        foreign = [s for s in early if s.get("department") != recorded.department]
        early = [s for s in early if s.get("department") == recorded.department]
        for s in foreign:
            outputs += self._unwanted([s], supplement_refusal(
                s.get("department") or "an unrecorded department", env["event_id"], recorded))
        for n, supplement in enumerate(early):
            if self._held.get(env["event_id"]) is None:  # an earlier one released it
                return outputs + self._unwanted(
                    early[n:], f"event {env['event_id']} was already released by an earlier supplement")
            outputs += self._apply_documents(env["event_id"], supplement["documents"], event)
        return outputs

    def _supplement(self, record: SourceRecord, supplement: dict) -> list[Output]:
        payload = supplement["payload"]
        event_id = payload["supplements_event_id"]
        held = self._held.get(event_id)
        if held is not None and "value" in held:
            _refuse_if(reference_refusal(supplement, self.recorded(event_id)))
            return self._apply_documents(event_id, payload["documents"])
        if self._early_supplements and self._routed.get(event_id) is None:
            # Not read yet (it is on another topic): keep the documents until it comes.
            early = (held or {}).get("early", [])
            self._held[event_id] = {"early": [*early, {
                "department": str(supplement["envelope"]["source_department"]),
                "documents": list(payload["documents"]), "topic": record.topic,
                "partition": record.partition, "offset": record.offset, "kept_at": self._clock().isoformat(),
                "key": record.key.hex() if record.key is not None else None, "value": record.value.hex()}]}
            # A warning, not info: the race is rare (a backlog read unevenly); a supplement naming
            # an event that never comes is dead-lettered by ``expire_early`` after a while.
            log.warning("supplement %s[%d]@%d came before event %s: kept until it comes",
                        record.topic, record.partition, record.offset, event_id)
            return []
        raise Refused(reference_refusal(supplement, None))

    def _apply_documents(self, event_id: str, documents: list[str],
                         original: dict | None = None) -> list[Output]:
        """Documents arrived for a held event: still waiting (HELD again) or released.
        ``original``: the held event, when the caller has it decoded already."""
        held = self._held[event_id]
        if original is None:
            original = self._held_event(held)
        remaining = [d for d in held["pending"] if d not in documents]
        withdrawn = _withdrawn_of(held)
        if remaining:
            self._held[event_id] = {**held, "pending": remaining}
            if not self._building:
                return []
            planned = route(original, self._rules, withdrawn=withdrawn)
            return [self._decision_output(
                decision_for(original, DecisionKind.HELD, planned, remaining,
                             withheld(original, self._rules, planned, withdrawn)))]
        del self._held[event_id]
        recorded = Recorded.from_json(held["recorded"]) if "recorded" in held else None
        return self._release(original, DecisionKind.RELEASED, recorded, withdrawn)

    def _early_for(self, event_id: str) -> list[dict]:
        """Supplements read before the event ``event_id`` (removed from ``held``)."""
        if not self._early_supplements:
            return []
        kept = self._held.get(event_id)
        if kept is None or "early" not in kept:
            return []
        del self._held[event_id]
        return kept["early"]

    def expire_early(self, ttl_s: float, partition: int | None = None) -> Prepared:
        """Supplements kept longer than ``ttl_s`` for an event that has not come: dead letters
        (the event's id was wrong, or it was never published), so ``held`` stays bounded.
        ``partition``: only those read from that partition (the router sweeps a partition while
        it handles one of its records, as faust writes a table only for the current record's
        partition)."""
        try:
            return Prepared(self._expired(ttl_s, partition), self._commit, self._discard)
        except BaseException:
            self._discard()
            raise

    def _expired(self, ttl_s: float, partition: int | None) -> list[Output]:
        now, outputs = self._clock(), []
        for event_id, entry in list(self._held.items()):
            if "early" not in entry:
                continue
            if partition is not None and entry["early"][0].get("partition") != partition:
                continue
            if any("kept_at" not in s for s in entry["early"]):  # kept by an older router: from now
                self._held[event_id] = entry = {**entry, "early": [
                    {"kept_at": now.isoformat(), **s} for s in entry["early"]]}
            expired = [s for s in entry["early"] if _age_s(s, now) > ttl_s]
            if not expired:
                continue
            outputs += self._unwanted(expired, f"supplement came before event {event_id}, which did "
                                               f"not come within {ttl_s:.0f}s")
            kept = [s for s in entry["early"] if s not in expired]
            if kept:
                self._held[event_id] = {**entry, "early": kept}
            else:
                del self._held[event_id]
        return outputs

    def _unwanted(self, early: list[dict], reason: str) -> list[Output]:
        """Supplements kept for an event that did not need them (after all): dead letters."""
        return [self.dead_letter(
            SourceRecord(s["topic"], s["partition"], s["offset"],
                         bytes.fromhex(s["key"]) if s["key"] is not None else None, bytes.fromhex(s["value"])),
            ValueError(reason)) for s in early]

    def _item_output(self, item: WorkItem) -> Output:
        topic = self._names.inbox(item.department)
        return Output(topic, inbox_key(item), self._encode_item(item, topic))

    def _decision_output(self, decision: RoutingDecision) -> Output:
        topic = self._names.routing_log
        return Output(topic, decision.case_id.encode(), self._encode_decision(decision, topic))

    def dead_letter(self, record: SourceRecord, exc: Exception, stage: str = "router") -> Output:
        letter = DeadLetter.of(stage=stage, error=exc, topic=record.topic,
                               partition=record.partition, offset=record.offset, parked_at=self._clock())
        topic = self._names.dead_letters
        # Keyed by the letter's id: the record's own key is often a subject's identity number.
        return Output(topic, letter.dead_letter_id.encode(), self._encode_dead_letter(letter, topic))


def _choosing_only(rules: RuleBook) -> RuleBook:
    """``rules`` with every item's grants taken out: ``route`` chooses the same items with it
    (grants play no part in choosing: the condition, the consent and the memory do) but
    projects no field. Only :meth:`RouterProcessor.remember` routes with it, and keeps only
    the chosen items' ``(department, item)`` pairs."""
    return rules.model_copy(update={"event_types": {
        kind: [r.model_copy(update={"grants": []}) for r in items]
        for kind, items in rules.event_types.items()}})


def _age_s(kept: dict, now: datetime) -> float:
    """Seconds since an early supplement was kept."""
    return (now - datetime.fromisoformat(kept["kept_at"])).total_seconds()


def _refuse_if(reason: str | None) -> None:
    if reason is not None:
        raise Refused(reason)


def _value(department) -> str | None:
    return department.value if department is not None else None


def _withdrawn_of(entry: list | dict | None) -> frozenset[str]:
    """The consent-based items withdrawn for the event of a ``routed`` or ``held`` entry."""
    return frozenset(entry.get("withdrawn", ())) if isinstance(entry, dict) else frozenset()


def _items_of(entry: list | dict | None) -> list | None:
    """The ``[department, item]`` pairs of a ``routed`` entry, new (dict) or old (list)."""
    return entry.get("items") if isinstance(entry, dict) else entry
