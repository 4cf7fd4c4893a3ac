"""Helpers for the end-to-end routing tests: publish, run the back office, read topics back.

Expectations are computed from the rules file and the submissions the test itself made (which
items each event must cause, and their deterministic ids) — never from what the router wrote —
and topics are read from the beginning up to their end offsets, so a missing, extra or
misrouted record is seen.
"""

from __future__ import annotations

import atexit
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from kafka import KafkaConsumer

from consumers.reference_agencies import ReferenceAgency, reference_agencies
from consumers.reference_agencies.fleet import AgencyFleet
from hub.kafka.clients import Clients
from hub.config import HubSettings
from hub.domain.catalogue import CATALOGUE
from hub.domain.dead_letters import DeadLetter
from hub.domain.departments import Department
from hub.domain.envelope import EventType
from hub.domain.routing import RoutingDecision, WorkItem, item_id
from hub.domain.rules import RuleBook
from hub.kafka.topic_names import TopicNames
from hub.schema_registry.provisioning import provision_catalogue
from hub.rules import load_rules
from hub.kafka.admin import end_offsets
from hub.kafka.log_reader import partitions_of
from hub.wire.serde import model_deserializer
from hub.worker.process import WorkerProcess
from tests.integration.helpers import new_prefix
from producers.demo_data import generate
from producers.publisher import Publisher, Receipt

T = TypeVar("T")

RULES: RuleBook = load_rules()

# The six seed triggers (registrations that cause follow-on items); documents_supplemented only
# releases an event held with documents missing, so it is no scenario of its own.
SEED_TYPES: tuple[EventType, ...] = (
    EventType.SOCIAL_ORGANISATION_REGISTERED, EventType.ENTERPRISE_REGISTERED,
    EventType.MARRIAGE_REGISTERED, EventType.BIRTH_CERTIFIED, EventType.DEATH_CERTIFIED,
    EventType.RETIREMENT_APPROVED,
)


# Prefixes made by ``fresh_settings`` and not yet deleted; the ``module_prefixes`` fixture of
# tests/integration/conftest.py deletes them when their test module ends.
FRESH_PREFIXES: list[HubSettings] = []


def fresh_settings(endpoints) -> HubSettings:
    """Like the ``settings`` fixture (fresh prefix, topics created, schemas registered), for
    fixtures with a wider scope than a function; deleted with all it owns when the test module
    ends (after the module's own fixtures, and the processes they started, have stopped)."""
    settings = HubSettings(bootstrap_servers=endpoints.bootstrap_servers,
                           schema_registry_url=endpoints.schema_registry_url,
                           kafka_security=endpoints.kafka_security, principal="operator",
                           topic_prefix=new_prefix())
    FRESH_PREFIXES.append(settings)
    with Clients(settings) as clients:
        provision_catalogue(clients)
    return settings


def wait_until(check: Callable[[], T], timeout_s: float, what: str, every_s: float = 0.3,
               describe: Callable[[], Any] | None = None) -> T:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` on timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            detail = f": {describe()}" if describe else ""
            raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}{detail}")
        time.sleep(every_s)


# -- publishing ---------------------------------------------------------------------------------
class Departments:
    """One publisher per department, reused (opening a producer per event is slow)."""

    def __init__(self, settings: HubSettings):
        self.settings = settings
        self._publishers: dict[Department, Publisher] = {}

    def publish(self, event_type: EventType | str, submission: dict) -> Receipt:
        spec = CATALOGUE[EventType(event_type)]
        publisher = self._publishers.get(spec.owner)
        if publisher is None:
            publisher = self._publishers[spec.owner] = Publisher(spec.owner, self.settings)
        return publisher.publish_raw(spec.event_type.value, submission)

    def close(self) -> None:
        for publisher in self._publishers.values():
            publisher.close(timeout_s=2)
        self._publishers.clear()

    def __enter__(self) -> "Departments":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def enterprise(rng: random.Random, foreign: bool) -> dict:
    """An enterprise registration, foreign-invested (外资, with an investor country) or not."""
    submission = generate(EventType.ENTERPRISE_REGISTERED, rng)
    payload = submission["payload"]
    payload["foreign_invested"] = foreign
    payload["investor_countries"] = ["SG"] if foreign else []
    return submission


def identifiers_of(payload: Any) -> set[str]:
    """Every credit code, certificate and identity number anywhere in a payload."""
    found: set[str] = set()
    if isinstance(payload, dict):
        for key, value in payload.items():
            if key in ("uscc", "certificate_number", "id_number", "approval_number") and value:
                found.add(value)
            else:
                found |= identifiers_of(value)
    return found


def unique_mix(count: int, rng: random.Random) -> list[tuple[EventType, dict]]:
    """``count`` submissions cycling through the six seed event types, no identifier used twice.

    Random data may (rarely) reuse an identity number or credit code, which a reference agency
    rightly refuses as a duplicate; the crash test wants every item completed, so it avoids that.
    """
    types = list(SEED_TYPES)
    used: set[str] = set()
    out = []
    while len(out) < count:
        event_type = types[len(out) % len(types)]
        submission = generate(event_type, rng)
        ids = identifiers_of(submission["payload"])
        if ids & used:
            continue
        used |= ids
        out.append((event_type, submission))
    return out


# -- what the rules say must happen ------------------------------------------------------------
@dataclass(frozen=True)
class Expected:
    event_id: str
    case_id: str
    event_type: str
    department: Department
    item: str
    item_id: str


def expected_items(event_type: EventType | str, receipt: Receipt, payload: dict,
                   consents: list[str] = ()) -> list[Expected]:
    """The NEW items the rules give a (non-correcting) event: one per applicable rule (a
    consent-based one only with its consent)."""
    event = {"payload": payload, "envelope": {"consents": list(consents)}}
    return [
        Expected(receipt.event_id, receipt.case_id, EventType(event_type).value, rule.department,
                 rule.item, item_id(receipt.event_id, rule.department, rule.item))
        for rule in RULES.items_for(event_type) if rule.applies_to(event) and rule.consented(event)
    ]


def rule_for(event_type: str, item: str):
    matches = [r for r in RULES.items_for(event_type) if r.item == item]
    assert len(matches) == 1, f"no single rule for {event_type}/{item}: {matches}"
    return matches[0]


# -- reading topics back ----------------------------------------------------------------------
def read_all(settings: HubSettings, topic: str, timeout_s: float = 30.0) -> list:
    """Every record of ``topic`` from the beginning to its current end, all partitions."""
    return read_topics(settings, [topic], timeout_s)


# One reading consumer per cluster identity, reused: on the secured stack every new client costs
# two TLS handshakes and SCRAM logins, and tests poll these helpers in loops.
_readers: dict[tuple, KafkaConsumer] = {}


def _reader(settings: HubSettings) -> KafkaConsumer:
    key = (settings.bootstrap_servers, settings.kafka_security, str(settings.resolved_credentials_file))
    if key not in _readers:
        _readers[key] = KafkaConsumer(**Clients(settings).connection(), enable_auto_commit=False,
                                      group_id=None)
    return _readers[key]


@atexit.register
def _close_readers() -> None:
    for consumer in _readers.values():
        consumer.close()


def read_topics(settings: HubSettings, topics: list[str], timeout_s: float = 30.0) -> list:
    """Every record of ``topics`` from the beginning to their current ends, sorted per topic by
    partition and offset."""
    consumer = _reader(settings)
    partitions = partitions_of(consumer, topics, "a test's read-back")
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    end = consumer.end_offsets(partitions)
    records = []
    deadline = time.monotonic() + timeout_s
    while any(consumer.position(tp) < off for tp, off in end.items()):
        assert time.monotonic() < deadline, f"could not read {topics} to their end {end}"
        for tp, batch in consumer.poll(timeout_ms=500).items():
            records += [r for r in batch if r.offset < end[tp]]
    consumer.assign([])
    return sorted(records, key=lambda r: (r.topic, r.partition, r.offset))


class Decoders:
    """Decoders of the hub's own topics (the registered schemas, resolved to the local ones);
    one per registry account (each keeps the schemas it has fetched)."""

    _made: dict[tuple, "Decoders"] = {}

    def __new__(cls, settings: HubSettings):
        key = (settings.schema_registry_url, settings.kafka_security, str(settings.resolved_credentials_file))
        if key not in cls._made:
            made = cls._made[key] = super().__new__(cls)
            made._build(settings)
        return cls._made[key]

    def _build(self, settings: HubSettings) -> None:
        registry = Clients(settings).registry
        self.item = model_deserializer(registry, "WorkItem", WorkItem)
        self.decision = model_deserializer(registry, "RoutingDecision", RoutingDecision)
        self.dead_letter = model_deserializer(registry, "DeadLetter", DeadLetter)


def inbox_items(settings: HubSettings) -> dict[Department, list[tuple[Any, WorkItem]]]:
    """Every record of every inbox topic of the prefix, decoded: department → [(record, item)]."""
    names, decoders = TopicNames(settings.topic_prefix), Decoders(settings)
    found: dict[Department, list] = {d: [] for d in Department}
    by_topic = {names.inbox(d): d for d in Department}
    for r in read_topics(settings, list(by_topic)):
        found[by_topic[r.topic]].append((r, decoders.item(r.value, r.topic)))
    return found


def routing_decisions(settings: HubSettings) -> list[RoutingDecision]:
    names, decoders = TopicNames(settings.topic_prefix), Decoders(settings)
    return [decoders.decision(r.value, r.topic) for r in read_all(settings, names.routing_log)]


def dead_letters(settings: HubSettings) -> list[DeadLetter]:
    names, decoders = TopicNames(settings.topic_prefix), Decoders(settings)
    return [decoders.dead_letter(r.value, r.topic)
            for r in read_topics(settings, names.all_dead_letters())]


def inbox_record_count(settings: HubSettings) -> int:
    """Records written to all inbox topics so far (their end offsets; duplicates included)."""
    return sum(end_offsets(Clients(settings), TopicNames(settings.topic_prefix).all_inboxes()).values())


# -- the back office ----------------------------------------------------------------------------
@contextmanager
def worker(settings: HubSettings, log_dir: Path | None = None) -> Iterator[WorkerProcess]:
    """The router as a child process, stopped (or killed) whatever happens."""
    process = WorkerProcess(settings, log_file=(log_dir / "worker.log") if log_dir else None)
    process.start()
    try:
        yield process
    finally:
        process.stop(timeout_s=20)


@contextmanager
def back_office(settings: HubSettings, base_dir: Path) -> Iterator[AgencyFleet]:
    """Router plus the six reference agencies (their databases in ``base_dir``)."""
    with worker(settings, base_dir), AgencyFleet(settings, base_dir / "agencies") as fleet:
        yield fleet


@contextmanager
def open_agencies(base_dir: Path) -> Iterator[dict[Department, ReferenceAgency]]:
    """The agencies' registers after the fleet has stopped, for their own query helpers."""
    agencies = reference_agencies(base_dir / "agencies")
    try:
        yield agencies
    finally:
        for agency in agencies.values():
            agency.close()
