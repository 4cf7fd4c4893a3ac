"""`hub replay` on the real broker and registry, with the router and the reference agencies.

(a) An agency loses a day of items; replaying that day to its inbox restores exactly the missing
    rows, duplicates none and touches no other agency.
(b) Events written with version 1 of a schema replay, after version 2 (an added optional field)
    is registered, to the same items the router made; so does an event written with version 2.
(c) A correction and a supplement inside the window whose originals are older reach the
    departments the router sent them to, thanks to the context read before the window.
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from confluent_kafka.schema_registry import topic_subject_name_strategy
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from typer.testing import CliRunner

from consumers.reference_agencies import agency_db_path
from tests.factories import sealed
from hub.wire.codec import event_to_record
from hub.kafka.clients import Clients
from hub.audit.intake import decode_note
from hub.cli.app import app
from hub.config import HubSettings
from hub.domain.audit_entries import ReplayNote
from hub.domain.catalogue import CATALOGUE
from hub.domain.departments import Department
from hub.domain.envelope import EventType
from hub.domain.replay import ReplayRequest, ReplayWindow
from hub.domain.routing import WorkItem
from hub.kafka.topic_names import TopicNames
from hub.schema_registry.catalogue import SchemaCatalogueRegistry
from hub.replay.run import run_replay
from hub.wire.headers import REPLAY_ID, REPLAYED_AT, header
from hub.wire.schemas import event_schema
from producers.demo_data import generate
from tests.integration.flow_helpers import (
    Departments,
    back_office,
    enterprise,
    expected_items,
    inbox_items,
    read_all,
    routing_decisions,
    unique_mix,
    wait_until,
    worker,
)

TIMEOUT_S = 120.0
MARRIAGE = CATALOGUE[EventType.MARRIAGE_REGISTERED]


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _boundary() -> datetime:
    """A window boundary strictly between the records published before and after it."""
    time.sleep(0.05)
    at = _now()
    time.sleep(0.05)
    return at


def _env(settings: HubSettings) -> dict:
    return {"HUB_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
            "HUB_SCHEMA_REGISTRY_URL": settings.schema_registry_url,
            "HUB_TOPIC_PREFIX": settings.topic_prefix}


def _rows(path: Path) -> dict[str, tuple]:
    """Every registration of an agency's register, by the item id that created it."""
    with sqlite3.connect(path) as db:
        return {r[1]: r for r in db.execute("SELECT * FROM registrations ORDER BY rowid")}


def _lose(path: Path, item_ids: list[str]) -> None:
    """The agency loses these items: their registrations and its record of deciding them."""
    marks = ",".join("?" * len(item_ids))
    with sqlite3.connect(path) as db:
        db.execute(f"DELETE FROM changes WHERE item_id IN ({marks})", item_ids)
        db.execute(f"DELETE FROM registrations WHERE item_id IN ({marks})", item_ids)


def _notes(settings: HubSettings) -> list[ReplayNote]:
    topic = TopicNames(settings.topic_prefix).audit_intake
    return [n for n in (decode_note(r.value) for r in read_all(settings, topic))
            if isinstance(n, ReplayNote)]


# -- (a) a lost day ----------------------------------------------------------------------------
def test_replaying_a_lost_day_to_an_inbox_restores_exactly_the_missing_rows(settings, tmp_path):
    mix = unique_mix(36, random.Random(2024))
    batches = [mix[:12], mix[12:24], mix[24:]]  # the day before, the lost day, the day after
    expected, window = [], []
    agencies_dir = tmp_path / "agencies"
    with back_office(settings, tmp_path) as fleet, Departments(settings) as departments:
        for n, batch in enumerate(batches):
            if n:
                window.append(_boundary())
            for event_type, submission in batch:
                receipt = departments.publish(event_type, submission)
                expected.append((n, expected_items(event_type, receipt, submission["payload"])))
        per_dept = Counter(e.department for _, items in expected for e in items)
        wait_until(lambda: all(fleet.agencies[d].count() == per_dept[d] for d in fleet.agencies),
                   TIMEOUT_S, "every item registered by its agency",
                   describe=lambda: {d.value: a.count() for d, a in fleet.agencies.items()})

        lost_day = [e for n, items in expected if n == 1 for e in items]
        victim = Counter(e.department for e in lost_day).most_common(1)[0][0]
        lost = sorted(e.item_id for e in lost_day if e.department is victim)
        before = {d: _rows(agency_db_path(agencies_dir, d)) for d in fleet.agencies}
        _lose(agency_db_path(agencies_dir, victim), lost)
        assert fleet.agencies[victim].count() == per_dept[victim] - len(lost)
        delivered = fleet.inboxes[victim].stats.delivered

        result = CliRunner().invoke(app, [
            "replay", "--from", window[0].isoformat(), "--to", window[1].isoformat(),
            "--to-inbox", "--department", victim.value.lower(), "--json"], env=_env(settings))
        assert result.exit_code == 0, result.output
        summary = json.loads(result.stdout[result.stdout.index("{"):])
        assert (summary["read"], summary["matched"], summary["emitted"]) == (12, 12, len(lost))
        assert summary["audited"] and summary["skipped"] == {}

        wait_until(lambda: fleet.inboxes[victim].stats.delivered >= delivered + len(lost), TIMEOUT_S,
                   f"{victim.value} to take the replayed items")
        wait_until(lambda: fleet.agencies[victim].count() == per_dept[victim], TIMEOUT_S,
                   f"{victim.value}'s register to be whole again")
        time.sleep(1.0)  # anything extra would have arrived by now
        assert fleet.inboxes[victim].stats.delivered == delivered + len(lost)
        after = {d: _rows(agency_db_path(agencies_dir, d)) for d in fleet.agencies}

    for department, rows in after.items():
        if department is not victim:
            assert rows == before[department], department  # untouched, to the byte
    rows, old = after[victim], before[victim]
    assert set(rows) == set(old) and len(rows) == per_dept[victim]
    for item_id, row in rows.items():
        if item_id in lost:
            # Registered again from the same item: the same case, event, item, subject, status
            # and data (a new reference number: the agency draws the next one).
            assert row[1:8] == old[item_id][1:8]
        else:
            assert row == old[item_id]
    with sqlite3.connect(agency_db_path(agencies_dir, victim)) as db:
        assert db.execute("SELECT COUNT(*), COUNT(DISTINCT item_id) FROM changes").fetchone() == \
            (per_dept[victim], per_dept[victim])

    # The replayed records are exactly the lost items, marked; no other inbox got any.
    inboxes = inbox_items(settings)
    replayed = [(r, item) for d in Department for r, item in inboxes[d] if header(r.headers, REPLAY_ID)]
    assert sorted(item.item_id for _, item in replayed) == lost
    assert {header(r.headers, REPLAY_ID) for r, _ in replayed} == {summary["replay_id"]}
    assert all(header(r.headers, REPLAYED_AT).endswith("Z") for r, _ in replayed)
    originals = {item.item_id: r for r, item in inboxes[victim] if not header(r.headers, REPLAY_ID)}
    for r, item in replayed:  # the router's exact bytes and key
        assert (r.key, r.value) == (originals[item.item_id].key, originals[item.item_id].value)

    (note,) = _notes(settings)
    assert note.replay_id == summary["replay_id"] and note.target == "inbox" and not note.dry_run
    assert (note.read, note.matched, note.emitted, note.status) == (12, 12, len(lost), "completed")
    assert note.filters["department"] == victim.value and note.requested_by
    assert (note.window_from, note.window_to) == (window[0], window[1])


# -- (b) schema evolution ----------------------------------------------------------------------
def _register_v2(settings: HubSettings) -> str:
    """Version 2 of the marriage schema: an added optional field. Returns its schema text."""
    schema = event_schema(MARRIAGE)
    schema["fields"][1]["type"]["fields"].append(
        {"name": "witness_name", "type": ["null", "string"], "default": None})
    registry = SchemaCatalogueRegistry(Clients(settings).registry, settings.topic_prefix)
    registry.register(MARRIAGE, schema)
    return json.dumps(schema, ensure_ascii=False)


def _publish_v2(settings: HubSettings, schema_text: str, submission: dict) -> str:
    """A department system already on version 2 publishes one event with the new field set."""
    event = sealed(MARRIAGE, submission)
    record = event_to_record(event)
    record["payload"]["witness_name"] = "王五"
    clients = Clients(settings)
    serializer = AvroSerializer(clients.registry, schema_text, conf={
        "auto.register.schemas": False, "normalize.schemas": False,
        "subject.name.strategy": topic_subject_name_strategy})
    topic = MARRIAGE.topic(settings.topic_prefix)
    value = serializer(record, SerializationContext(topic, MessageField.VALUE))
    with clients:
        clients.producer().send(topic, key=event.key.encode(), value=value).get(timeout=10)
    return event.envelope.event_id


def _file_items(path: Path) -> dict[str, WorkItem]:
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return {line["item_id"]: WorkItem.model_validate({k: v for k, v in line.items() if k != "replay_id"})
            for line in lines}


def _router_items(settings: HubSettings, event_ids: set[str]) -> dict[str, WorkItem]:
    return {item.item_id: item for records in inbox_items(settings).values()
            for _, item in records if item.event_id in event_ids}


def _await_decisions(settings: HubSettings, kinds: dict[str, str]) -> None:
    """Wait until the router has decided each event (event id → ROUTED, HELD or RELEASED)."""
    wait_until(lambda: kinds.items() <= {(d.event_id, d.kind.value) for d in routing_decisions(settings)},
               TIMEOUT_S, f"the router's decisions {kinds}")


def test_v1_events_replay_after_v2_is_registered(settings, clients, tmp_path):
    rng = random.Random(77)
    start = _boundary()
    with worker(settings, tmp_path), Departments(settings) as departments:
        v1 = [departments.publish(EventType.MARRIAGE_REGISTERED, generate(EventType.MARRIAGE_REGISTERED, rng))
              for _ in range(2)]
        schema_v2 = _register_v2(settings)
        v2_event = _publish_v2(settings, schema_v2, generate(EventType.MARRIAGE_REGISTERED, rng))
        end = _boundary()
        event_ids = {r.event_id for r in v1} | {v2_event}
        _await_decisions(settings, dict.fromkeys(event_ids, "ROUTED"))
        wait_until(lambda: len(_router_items(settings, event_ids)) == 2 * len(event_ids), TIMEOUT_S,
                   "the router's items for every v1 and v2 event")
    client = clients.registry
    assert client.get_versions(f"{MARRIAGE.topic(settings.topic_prefix)}-value") == [1, 2]
    router = _router_items(settings, event_ids)

    out = tmp_path / "replay.jsonl"
    summary = run_replay(clients, ReplayRequest(ReplayWindow(start, end), to_file=out))
    assert (summary.read, summary.matched, summary.emitted) == (3, 3, 6)
    assert not summary.skipped and summary.audited
    assert _file_items(out) == router
    assert {i.event_id for i in router.values()} == event_ids


# -- (c) context before the window --------------------------------------------------------------
def test_changes_inside_the_window_reach_where_the_router_sent_their_older_originals(settings, clients, tmp_path):
    rng = random.Random(5)
    foreign = enterprise(rng, foreign=True)
    held = generate(EventType.SOCIAL_ORGANISATION_REGISTERED, rng)
    held["pending_documents"] = ["住所证明"]
    with worker(settings, tmp_path), Departments(settings) as departments:
        original = departments.publish(EventType.ENTERPRISE_REGISTERED, foreign)
        waiting = departments.publish(EventType.SOCIAL_ORGANISATION_REGISTERED, held)
        # The originals are decided before the window opens: the changes inside it need the
        # log before the window as context (which --context-from takes away below).
        _await_decisions(settings, {original.event_id: "ROUTED", waiting.event_id: "HELD"})
        start = _boundary()
        domestic = {**foreign, "event_id": None,
                    "refers_to": {"event_id": original.event_id, "change_kind": "CORRECTION"},
                    "payload": {**foreign["payload"], "foreign_invested": False, "investor_countries": []}}
        correction = departments.publish(EventType.ENTERPRISE_REGISTERED, domestic)
        supplement = departments.publish(EventType.DOCUMENTS_SUPPLEMENTED, {
            "occurred_at": _now().isoformat(), "payload": {
                "supplements_event_id": waiting.event_id,
                "subject_id": held["payload"]["uscc"], "documents": ["住所证明"]}})
        end = _boundary()
        in_window = {correction.event_id, waiting.event_id}  # the release sends the held event's items
        _await_decisions(settings, {correction.event_id: "ROUTED", waiting.event_id: "RELEASED"})
        wait_until(lambda: {i.event_id for i in _router_items(settings, in_window).values()} == in_window,
                   TIMEOUT_S, "the router's items for the correction and the released event")
    router = _router_items(settings, in_window)
    assert "COMMERCE" in {i.department.value for i in router.values() if i.event_id == correction.event_id}

    out = tmp_path / "replay.jsonl"
    summary = run_replay(clients, ReplayRequest(ReplayWindow(start, end), to_file=out))
    assert _file_items(out) == router
    assert (summary.context, summary.read, summary.matched) == (2, 2, 2) and not summary.skipped

    # Without the context the replay cannot know (nor check that their departments own the
    # originals): it says so rather than guessing, and routes neither.
    blind = run_replay(clients, ReplayRequest(ReplayWindow(start, end), to_file=out, context_from=start))
    assert blind.context == 0 and blind.matched == 0 and blind.skipped_total == 2
    examples = " ".join(blind.skip_examples["Refused"])
    assert "was never recorded" in examples and "is waiting for documents" in examples
    assert _file_items(out) == {}
    assert supplement.event_id  # published, and skipped above as unroutable without its original
