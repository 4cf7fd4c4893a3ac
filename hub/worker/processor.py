"""What the router does with one record, independent of faust: decode, route, or dead-letter.

The processor returns the records to write (inbox items, routing-log decision, or a dead
letter) and never raises for a bad record: anything it cannot decode or route becomes a dead
letter with the reason and the source topic/partition/offset, so the partition keeps moving.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from datetime import datetime, timezone

from hub.domain.catalogue import EventSpec
from hub.domain.dead_letters import DeadLetter
from hub.domain.envelope import EventType
from hub.domain.identifiers import mask_id
from hub.domain.routing import DecisionKind, RoutingDecision, WorkItem, decision_for, route
from hub.domain.rules import RuleBook
from hub.kafka.topic_names import TopicNames
from hub.kafka.failures import is_transient

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class Output:
    """One record to produce: topic, key, value (already serialised)."""

    topic: str
    key: bytes
    value: bytes


@dataclass(frozen=True)
class SourceRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


class RouterProcessor:
    """Routes decoded events; serialisers and the "routed before" memory are passed in.

    ``routed`` maps an event id to the ``[department, item]`` pairs it was routed to, so a
    later correction or annulment reaches every department that received the original.
    ``held`` keeps events accepted with documents missing (容缺受理) until their supplement.

    The router reads the event topics side by side, so a supplement can be read before the
    event it completes. With ``early_supplements`` (the router) such a supplement is kept in
    ``held`` under the event's id and applied when the event comes; if the event then needs no
    documents, the supplement is dead-lettered at that point, naming its own source offset.
    Without it (replay, which reads in time order) a supplement for nothing held is a dead letter.
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
        routed: MutableMapping[str, list],
        held: MutableMapping[str, dict],
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        early_supplements: bool = False,
    ):
        self._rules, self._names, self._decode = rules, names, decode
        self._specs = specs_by_topic
        self._encode_item, self._encode_decision = encode_item, encode_decision
        self._encode_dead_letter = encode_dead_letter
        self._routed, self._held, self._clock = routed, held, clock
        self._early_supplements = early_supplements

    def process(self, record: SourceRecord) -> list[Output]:
        try:
            return self._route(record)
        except Exception as exc:  # noqa: BLE001 - every failure of one record is parked, by design
            if is_transient(exc):
                raise  # the registry is unreachable: retry the record, don't park it
            log.warning("parking %s[%d]@%d: %s", record.topic, record.partition, record.offset, exc)
            return [self.dead_letter(record, exc)]

    def _route(self, record: SourceRecord) -> list[Output]:
        spec = self._specs.get(record.topic)
        if spec is None:
            raise ValueError(f"no event type is published on {record.topic}")
        if record.value is None:
            raise ValueError("record has no value (tombstone)")
        event = self._decode(spec, record.value, record.topic)
        env = event["envelope"]
        if env["event_type"] == EventType.DOCUMENTS_SUPPLEMENTED.value:
            return self._supplement(record, event)
        early = self._early_for(env["event_id"])
        if env.get("pending_documents"):
            return self._hold(record, event, early)
        return self._release(event, DecisionKind.ROUTED) + self._unwanted(
            early, f"event {env['event_id']} was not waiting for documents (it was routed at once)")

    def _release(self, event: dict, kind: DecisionKind) -> list[Output]:
        """Route the event now: its work items, then the decision that records them."""
        env = event["envelope"]
        refers = env.get("refers_to")
        before = self._routed.get(refers["event_id"]) if refers else None
        items = route(event, self._rules, {tuple(p) for p in before} if before else None)
        self._routed[env["event_id"]] = [[w.department.value, w.item] for w in items]
        log.info("routed %s %s subject=%s -> %d item(s)", env["event_type"], env["event_id"],
                 mask_id(env["subject_ids"][0]), len(items))
        decision = decision_for(event, kind, items)
        return [self._item_output(w) for w in items] + [self._decision_output(decision)]

    def _hold(self, record: SourceRecord, event: dict, early: list[dict]) -> list[Output]:
        """容缺受理: record the case with its planned items, send nothing until the documents come
        (documents that came ahead of the event are applied at once, as if read after it)."""
        env = event["envelope"]
        pending = list(env["pending_documents"])
        self._held[env["event_id"]] = {"topic": record.topic, "value": record.value.hex(),
                                       "pending": pending}
        planned = route(event, self._rules)
        outputs = [self._decision_output(decision_for(event, DecisionKind.HELD, planned, pending))]
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
            return self._apply_documents(event_id, payload["documents"])
        if self._early_supplements and self._routed.get(event_id) is None:
            # Not read yet (it is on another topic): keep the documents until it comes.
            early = (held or {}).get("early", [])
            self._held[event_id] = {"early": [*early, {
                "documents": list(payload["documents"]), "topic": record.topic,
                "partition": record.partition, "offset": record.offset,
                "key": record.key.hex() if record.key is not None else None, "value": record.value.hex()}]}
            # A warning, not info: the race is rare (a backlog read unevenly), and a supplement
            # naming an event that never comes stays kept; this line is how it is found.
            log.warning("supplement %s[%d]@%d came before event %s: kept until it comes",
                        record.topic, record.partition, record.offset, event_id)
            return []
        raise ValueError(f"no event {event_id} is waiting for documents "
                         "(unknown id, already released, or keyed by another subject)")

    def _apply_documents(self, event_id: str, documents: list[str],
                         original: dict | None = None) -> list[Output]:
        """Documents arrived for a held event: still waiting (HELD again) or released.
        ``original``: the held event, when the caller has it decoded already."""
        held = self._held[event_id]
        if original is None:
            original = self._decode(self._specs[held["topic"]], bytes.fromhex(held["value"]), held["topic"])
        remaining = [d for d in held["pending"] if d not in documents]
        if remaining:
            self._held[event_id] = {**held, "pending": remaining}
            planned = route(original, self._rules)
            return [self._decision_output(
                decision_for(original, DecisionKind.HELD, planned, remaining))]
        del self._held[event_id]
        return self._release(original, DecisionKind.RELEASED)

    def _early_for(self, event_id: str) -> list[dict]:
        """Supplements read before the event ``event_id`` (removed from ``held``)."""
        if not self._early_supplements:
            return []
        kept = self._held.get(event_id)
        if kept is None or "early" not in kept:
            return []
        del self._held[event_id]
        return kept["early"]

    def _unwanted(self, early: list[dict], reason: str) -> list[Output]:
        """Supplements kept for an event that did not need them (after all): dead letters."""
        return [self.dead_letter(
            SourceRecord(s["topic"], s["partition"], s["offset"],
                         bytes.fromhex(s["key"]) if s["key"] is not None else None, bytes.fromhex(s["value"])),
            ValueError(reason)) for s in early]

    def _item_output(self, item: WorkItem) -> Output:
        topic = self._names.inbox(item.department)
        # Key by the item an item changes, so an original and its corrections stay in order.
        key = (item.refers_to_item_id or item.item_id).encode()
        return Output(topic, key, self._encode_item(item, topic))

    def _decision_output(self, decision: RoutingDecision) -> Output:
        topic = self._names.routing_log
        return Output(topic, decision.case_id.encode(), self._encode_decision(decision, topic))

    def dead_letter(self, record: SourceRecord, exc: Exception, stage: str = "router") -> Output:
        letter = DeadLetter.of(stage=stage, error=exc, topic=record.topic,
                               partition=record.partition, offset=record.offset,
                               key=record.key, value=record.value, parked_at=self._clock())
        topic = self._names.dead_letters
        return Output(topic, record.key or b"", self._encode_dead_letter(letter, topic))
