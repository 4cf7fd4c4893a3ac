"""The audit chain on the real broker: every fact audited once, tampering named to the offset.

Forgeries are made the two ways an attacker (or an auditor's test) can: a forged record produced
into the live audit topic, and a copy of the topic with one record changed, removed or
consistently re-hashed; `hub audit verify` must name the exact partition and offset.
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic
from typer.testing import CliRunner

from hub.kafka.clients import Clients
from hub.audit.auditor import Auditor, AuditorConflict
from hub.audit.codec import decode_record, encode_record
from hub.audit.intake import KafkaAuditIntake
from hub.audit.verify import stored_anchors, verify_chain
from hub.cli.app import app as cli
from hub.config import HubSettings
from hub.domain.audit import GENESIS, AuditRecord
from hub.domain.audit_entries import FactQueryNote
from hub.domain.outcomes import Outcome, OutcomeStatus
from hub.kafka.topic_names import TopicNames
from hub.wire.serde import model_deserializer
from tests.integration.flow_helpers import (
    SEED_TYPES,
    Departments,
    back_office,
    read_all,
    wait_until,
)
from producers.demo_data import generate


def _queries(settings: HubSettings, n: int) -> None:
    intake = KafkaAuditIntake(Clients(settings))
    try:
        for i in range(n):
            intake.post(FactQueryNote(query_id=str(uuid.uuid4()), at=datetime.now(timezone.utc),
                                      department="PROVIDENT_FUND", subject_ref=f"S{i % 7:05d}",
                                      allowed=True, fields=[]))
    finally:
        intake.close()


def _audited(settings: HubSettings, n: int) -> Auditor:
    """Post ``n`` notes and let an auditor chain them; returns the (stopped) auditor."""
    _queries(settings, n)
    auditor = Auditor(Clients(settings), anchor_every_s=3600)
    with auditor.running():
        auditor.wait_idle()
        auditor.anchor()
    return auditor


def _env(settings: HubSettings) -> dict:
    return {"HUB_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
            "HUB_SCHEMA_REGISTRY_URL": settings.schema_registry_url,
            "HUB_TOPIC_PREFIX": settings.topic_prefix}


def _verify_cli(settings: HubSettings, *args: str):
    return CliRunner().invoke(cli, ["audit", "verify", *args], env=_env(settings))


def _copy(settings: HubSettings, change) -> str:
    """Copy the audit topic partition by partition (same offsets), passing records through
    ``change(partition, offset, value) -> value | None`` (None drops the record)."""
    names = TopicNames(settings.topic_prefix)
    copy = f"{names.audit}.copy{uuid.uuid4().hex[:6]}"
    admin = KafkaAdminClient(**Clients(settings).connection())
    admin.create_topics([NewTopic(copy, settings.topic_partitions, 1)])
    admin.close()
    producer = KafkaProducer(**Clients(settings).connection(), acks="all")
    for rec in read_all(settings, names.audit):
        value = change(rec.partition, rec.offset, rec.value)
        if value is not None:
            producer.send(copy, key=rec.key, value=value, partition=rec.partition)
    producer.flush()
    producer.close()
    return copy


def _busiest(settings: HubSettings) -> tuple[int, list]:
    records = read_all(settings, TopicNames(settings.topic_prefix).audit)
    by_partition: dict[int, list] = {}
    for rec in records:
        by_partition.setdefault(rec.partition, []).append(rec)
    partition = max(by_partition, key=lambda p: len(by_partition[p]))
    return partition, by_partition[partition]


def test_an_intact_chain_verifies_with_its_count_and_heads(settings, clients):
    _audited(settings, 30)
    verdict = verify_chain(clients, anchors=stored_anchors(clients))
    assert verdict.ok and verdict.count == 30
    result = _verify_cli(settings)
    assert result.exit_code == 0, result.output
    assert "OK: 30 audit record(s) verified" in result.output
    for partition, (offset, digest) in verdict.heads.items():
        assert f"head {partition}@{offset}=sha256:{digest}" in result.output


def test_a_forged_record_in_the_live_topic_is_named(settings):
    _audited(settings, 12)
    partition, records = _busiest(settings)
    head = decode_record(records[-1].value)
    # A forger who knows the format: links to the head, but cannot make the hash match.
    forged = AuditRecord({**head.content, "department": "TAX"}, head.hash, head.hash)
    producer = KafkaProducer(**Clients(settings).connection(), acks="all")
    producer.send(TopicNames(settings.topic_prefix).audit, value=encode_record(forged),
                  partition=partition).get(timeout=10)
    producer.close()
    forged_at = records[-1].offset + 1
    result = _verify_cli(settings)
    assert result.exit_code == 1
    assert f"BROKEN at partition {partition} offset {forged_at}" in result.output
    assert "does not match its hash" in result.output


def test_a_copy_with_one_record_changed_is_named_at_that_offset(settings):
    _audited(settings, 20)
    partition, records = _busiest(settings)
    victim = records[len(records) // 2]

    def alter(p, offset, value):
        if (p, offset) != (partition, victim.offset):
            return value
        body = json.loads(value)
        body["content"]["department"] = "PUBLIC_SECURITY"  # who received it: rewritten
        return json.dumps(body).encode()

    copy = _copy(settings, alter)
    result = _verify_cli(settings, "--topic", copy)
    assert result.exit_code == 1
    assert f"BROKEN at partition {partition} offset {victim.offset}" in result.output
    assert "record altered" in result.output


def test_a_removed_record_breaks_the_next_link(settings, clients):
    _audited(settings, 20)
    partition, records = _busiest(settings)
    removed = records[1]
    copy = _copy(settings, lambda p, o, v: None if (p, o) == (partition, removed.offset) else v)
    verdict = verify_chain(clients, topic=copy)
    assert not verdict.ok
    # the copy's offsets shift by one after the gap: the record now at the removed offset breaks
    assert (verdict.partition, verdict.offset) == (partition, removed.offset)
    assert "does not link" in verdict.reason


def test_a_consistently_rehashed_copy_is_caught_by_the_anchors(settings, clients):
    """Rewriting a record and re-hashing everything after it fools the links, not the anchors."""
    _audited(settings, 20)
    partition, records = _busiest(settings)
    anchors = stored_anchors(clients)
    assert anchors, "the auditor published no anchors"
    prev = {}

    def rewrite(p, offset, value):
        record = decode_record(value)
        content = record.content
        if (p, offset) == (partition, records[0].offset):
            content = {**content, "department": "COMMERCE"}
        rewritten = AuditRecord.after(prev.get(p, GENESIS), content)
        prev[p] = rewritten.hash
        return encode_record(rewritten)

    copy = _copy(settings, rewrite)
    assert verify_chain(clients, topic=copy).ok  # the links alone cannot tell
    verdict = verify_chain(clients, topic=copy, anchors=anchors)
    anchored = max(o for (p, o) in anchors if p == partition)
    assert (verdict.ok, verdict.partition, verdict.offset) == (False, partition, anchored)
    assert "anchored hash" in verdict.reason
    # the same anchors given by hand, as an auditor keeping them outside the system would
    given = [f"{p}@{o}=sha256:{h}" for (p, o), h in anchors.items()]
    result = _verify_cli(settings, "--topic", copy, *[x for a in given for x in ("--anchor", a)])
    assert result.exit_code == 1 and f"partition {partition} offset {anchored}" in result.output


def test_a_time_window_is_verified_linked_to_the_record_before_it(settings, clients):
    _queries(settings, 10)
    auditor = Auditor(clients, anchor_every_s=3600)
    with auditor.running():
        auditor.wait_idle()
        middle = datetime.now(timezone.utc)
        _queries(settings, 6)
        auditor.wait_idle()
    window = verify_chain(clients, from_ts=middle)
    assert window.ok and window.count == 6
    result = _verify_cli(settings, "--from", (middle - timedelta(days=1)).isoformat(),
                         "--to", (middle + timedelta(days=1)).isoformat())
    assert result.exit_code == 0 and "OK: 16 audit record(s)" in result.output
    assert _verify_cli(settings, "--from", "yesterday").exit_code == 2


def test_a_crash_between_writing_and_committing_audits_nothing_twice(settings, clients, monkeypatch):
    _queries(settings, 15)
    crashing = Auditor(clients, batch_max=50)
    crashing.start()

    def crash():
        raise RuntimeError("killed before the commit")

    monkeypatch.setattr(crashing._consumer, "commit", crash)
    with pytest.raises(RuntimeError):
        while True:
            crashing.step()
    crashing.close()
    written = len(read_all(settings, TopicNames(settings.topic_prefix).audit))
    assert written == 15  # the batch reached the audit topic; its source offsets were not committed
    _queries(settings, 5)
    survivor = Auditor(clients)
    with survivor.running():
        survivor.wait_idle()
    verdict = verify_chain(clients)
    assert verdict.ok and verdict.count == 20  # the 15 not re-audited, the 5 new ones audited


def test_a_second_auditor_is_refused_before_it_forks_the_chain(settings, clients):
    first, second = Auditor(clients), Auditor(clients)
    first.start()
    second.start()
    try:
        _queries(settings, 3)
        while first.audited < 3:
            first.step()
        _queries(settings, 1)
        with pytest.raises(AuditorConflict, match="another auditor"):
            for _ in range(20):
                second.step()
    finally:
        first.close()
        second.close()
    assert verify_chain(clients).ok


def test_every_decision_item_and_outcome_of_a_flow_is_audited_once(settings, clients, tmp_path: Path):
    rng = random.Random(4)
    with Departments(settings) as departments:
        receipts = [departments.publish(t, generate(t, rng)) for t in SEED_TYPES]
    names = TopicNames(settings.topic_prefix)
    auditor = Auditor(clients)
    with auditor.running(), back_office(settings, tmp_path):
        sources = [names.routing_log, *names.all_outcomes(), *names.all_inboxes()]
        # every item completed: one COMPLETED (and one DELIVERED) outcome per inbox record
        decode = model_deserializer(clients.registry, "Outcome", Outcome)

        def completed() -> int:
            return sum(1 for t in names.all_outcomes() for r in read_all(settings, t)
                       if decode(r.value, r.topic).status is OutcomeStatus.COMPLETED)

        wait_until(lambda: len(read_all(settings, names.routing_log)) >= len(receipts), 120,
                   "every event routed")
        wait_until(lambda: completed() >= sum(len(read_all(settings, t)) for t in names.all_inboxes()),
                   120, "every item completed")
        auditor.wait_idle(60)
    expected = sum(len(read_all(settings, t)) for t in sources)
    verdict = verify_chain(clients)
    assert verdict.ok and verdict.count == expected
    kinds = [decode_record(r.value).content["kind"] for r in read_all(settings, names.audit)]
    assert set(kinds) == {"routing_decision", "item_sent", "outcome"}
    case_ids = {decode_record(r.value).content["case_id"] for r in read_all(settings, names.audit)}
    assert {r.case_id for r in receipts} <= case_ids
