"""Scoped, audited case reads on the real stack: a routed marriage and its outcomes in Kafka, the
real case projection, the HTTP API with issued tokens, the audit intake read back from Kafka;
and every Kafka-backed route answering 503 with Retry-After when the broker cannot be reached
(an unreachable bootstrap address: the shared broker is never stopped).

Expectations come from the decision and outcomes this test wrote and the rules file, never from
what the projection stored.
"""

from __future__ import annotations

import time
from datetime import timedelta

from fastapi.testclient import TestClient
from kafka import TopicPartition

from hub.api.app import create_app
from hub.api.local_server import free_port
from hub.api.tokens import Role, TokenStore, issue, issue_token
from hub.audit.intake import KafkaAuditIntake, decode_note
from hub.domain.audit_entries import ReadNote
from hub.domain.departments import Department
from hub.domain.envelope import EventType
from hub.domain.outcomes import Outcome, OutcomeStatus
from hub.domain.routing import DecisionKind, decision_for, route
from hub.kafka.clients import Clients
from hub.kafka.topic_names import TopicNames
from hub.projections.cases import CaseProjection
from hub.projections.facts import FactsProjection
from hub.projections.timeline import TimelineProjection
from hub.rules import load_rules
from hub.wire.serde import model_serializer
from tests.factories import sealed_record

POLICE, FUND, TAX = Department.PUBLIC_SECURITY, Department.PROVIDENT_FUND, Department.TAX


def _write_case(settings, clients):
    """A marriage routed to public security and the provident fund; public security rejects its
    item with a reason, the provident fund completes its own with a reference."""
    event = sealed_record(EventType.MARRIAGE_REGISTERED, seed=7)
    items = route(event, load_rules())
    decision = decision_for(event, DecisionKind.ROUTED, items)
    names = TopicNames(settings.topic_prefix)
    producer = clients.producer()
    producer.send(names.routing_log, key=decision.case_id.encode(),
                  value=model_serializer(clients.registry, "RoutingDecision")(decision, names.routing_log)
                  ).get(10)
    at = decision.decided_at + timedelta(minutes=5)
    for item in items:
        outcome = (Outcome.for_item(item, OutcomeStatus.REJECTED, at, reason="not in this household")
                   if item.department is POLICE else
                   Outcome.for_item(item, OutcomeStatus.COMPLETED, at, reference="HPF-20260601-01"))
        topic = names.outcomes_of(item.department)  # (the test's operator principal may write it)
        producer.send(topic, key=item.case_id.encode(),
                      value=model_serializer(clients.registry, "Outcome")(outcome, topic)).get(10)
    producer.close()
    return decision, {i.department: i for i in items}


def _intake_notes(clients, topic: str, timeout_s: float = 30.0) -> list:
    with clients.reading() as consumer:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end = consumer.end_offsets(partitions)
        records, deadline = [], time.monotonic() + timeout_s
        while any(consumer.position(tp) < off for tp, off in end.items()):
            assert time.monotonic() < deadline, f"could not read {topic} to its end {end}"
            for batch in consumer.poll(timeout_ms=500).values():
                records += batch
    return [decode_note(r.value) for r in records]


def test_departments_read_only_their_share_and_every_read_is_audited(settings, clients, tmp_path):
    decision, items = _write_case(settings, clients)
    spouse_a, spouse_b = decision.subject_ids
    tokens_file = tmp_path / "tokens.json"
    tokens = {d: issue_token(tokens_file, d, label="scoped reads test") for d in (POLICE, FUND, TAX)}
    operator, operator_record = issue(tokens_file, Role.OPERATOR, label="ops")
    store = TokenStore.load(tokens_file)
    ids = {r.department: r.id for r in store.records()}
    cases = CaseProjection(clients, path=tmp_path / "cases.sqlite")
    intake = KafkaAuditIntake(clients)
    client = TestClient(create_app(settings, store, lambda d: None, cases=cases, audit_intake=intake))

    def get(path: str, token: str):
        return client.get(path, headers={"Authorization": f"Bearer {token}"})

    try:
        case_path = f"/v1/cases/{decision.case_id}"
        police = get(case_path, tokens[POLICE])
        assert police.status_code == 200, police.text
        assert list(police.json()["items"]) == [items[POLICE].item_id]
        assert police.json()["items"][items[POLICE].item_id]["reason"] == "not in this household"
        assert "HPF-20260601-01" not in police.text
        fund = get(case_path, tokens[FUND])
        assert list(fund.json()["items"]) == [items[FUND].item_id]
        assert "not in this household" not in fund.text
        assert fund.json()["items"][items[FUND].item_id]["reference"] == "HPF-20260601-01"

        other, unknown = get(case_path, tokens[TAX]), get("/v1/cases/case-unknown", tokens[TAX])
        assert other.status_code == unknown.status_code == 404
        assert other.json()["errors"][0]["rule"] == unknown.json()["errors"][0]["rule"]

        whole = get(case_path, operator).json()
        assert set(whole["items"]) == {items[POLICE].item_id, items[FUND].item_id}
        assert [c["case_id"] for c in get(f"/v1/subjects/{spouse_b}/cases", tokens[FUND]).json()["cases"]] == [
            decision.case_id]
        assert get(f"/v1/subjects/{spouse_a}/cases", tokens[TAX]).json()["cases"] == []

        issued = store.records()
        revoked = next(r for r in issued if r.department is TAX)
        from hub.api.tokens import revoke
        revoke(tokens_file, revoked.id)
        refused = get(case_path, tokens[TAX])
        assert refused.status_code == 401 and refused.json()["errors"][0]["message"] == "bearer token revoked"
    finally:
        intake.close()
        cases.close()

    notes = [n for n in _intake_notes(clients, TopicNames(settings.topic_prefix).audit_intake)
             if isinstance(n, ReadNote)]
    # keyed by token id: one token's notes in order, tokens across partitions
    assert sorted((n.token_id, n.route, n.case_ids) for n in notes) == sorted([
        (ids[POLICE], "case", [decision.case_id]),
        (ids[FUND], "case", [decision.case_id]),
        (ids[TAX], "case", []), (ids[TAX], "case", []),
        (operator_record.id, "case", [decision.case_id]),
        (ids[FUND], "subject_cases", [decision.case_id]),
        (ids[TAX], "subject_cases", []),
    ])
    assert {(n.token_id, n.role, n.department) for n in notes} == {
        (ids[POLICE], "department", "PUBLIC_SECURITY"), (ids[FUND], "department", "PROVIDENT_FUND"),
        (ids[TAX], "department", "TAX"), (operator_record.id, "operator", None)}
    for note in notes:
        dumped = note.model_dump_json()
        assert spouse_a not in dumped and spouse_b not in dumped


def test_an_unreachable_broker_is_a_503_with_retry_after_on_every_kafka_route(settings, tmp_path):
    dead = settings.model_copy(update={"bootstrap_servers": f"127.0.0.1:{free_port()}",
                                       "publish_timeout_s": 2.0})
    tokens_file = tmp_path / "tokens.json"
    token = issue_token(tokens_file, FUND)
    operator, _ = issue(tokens_file, Role.OPERATOR)
    clients = Clients(dead)
    from producers.pool import PublisherPool

    pool = PublisherPool(clients)
    client = TestClient(create_app(
        dead, TokenStore.load(tokens_file), pool, cases=CaseProjection(clients, tmp_path / "c.sqlite"),
        facts=FactsProjection(clients, tmp_path / "f.sqlite"), audit_intake=KafkaAuditIntake(clients),
        timeline=TimelineProjection(clients, tmp_path / "t.sqlite")))
    subject = "330106199001011234"
    try:
        for path, who in (("/v1/cases/case-1", token), (f"/v1/subjects/{subject}/cases", token),
                          (f"/v1/subjects/{subject}/facts", token),
                          (f"/v1/audit/subjects/{subject}", operator)):
            response = client.get(path, headers={"Authorization": f"Bearer {who}"})
            assert response.status_code == 503, (path, response.text)
            assert int(response.headers["Retry-After"]) > 0
            assert response.json()["errors"][0]["rule"] in ("unavailable", "audit_unavailable")
    finally:
        pool.close()
        clients.close()
