"""The shared-data query on the real stack: events published through the SDK, a real facts
projection, the HTTP API with issued tokens, and the audit intake read back from Kafka.

Expectations come from the submissions this test made and the rules file, never from what the
projection stored.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from fastapi.testclient import TestClient
from kafka import KafkaProducer

from hub.kafka.clients import Clients
from hub.api.app import create_app
from hub.audit.intake import KafkaAuditIntake, decode_note
from hub.api.tokens import TokenStore, issue_token
from hub.domain.audit_entries import FactQueryNote
from hub.domain.catalogue import CATALOGUE
from hub.domain.departments import Department
from hub.domain.envelope import EventType
from hub.domain.rules import lookup
from hub.kafka.topic_names import TopicNames
from hub.security.pseudonym_keys import load_pseudonyms
from hub.projections.facts import FactsProjection
from producers.demo_data import generate
from tests.integration.flow_helpers import RULES, Departments, enterprise, read_all


def granted(event_type: EventType, department: Department) -> set[str]:
    return {g.field for item in RULES.items_for(event_type) if item.department == department
            and item.basis_kind == "law"  # a consent is for its one item, not for queries
            for g in item.grants}


def test_a_department_gets_only_its_granted_fields_another_is_refused_and_both_are_audited(
        settings, clients, tmp_path):
    rng = random.Random(2002)
    marriage = generate(EventType.MARRIAGE_REGISTERED, rng)
    company = enterprise(rng, foreign=False)
    with Departments(settings) as departments:
        original = departments.publish(EventType.MARRIAGE_REGISTERED, marriage)
        # The registrar corrects the marriage's registration date: the facts follow the correction.
        day = (date.fromisoformat(marriage["payload"]["registered_on"]) - timedelta(days=1)).isoformat()
        corrected_payload = {**marriage["payload"], "registered_on": day}
        correction = departments.publish(EventType.MARRIAGE_REGISTERED, {
            "payload": corrected_payload, "occurred_at": marriage["occurred_at"],
            "refers_to": {"event_id": original.event_id, "change_kind": "CORRECTION"}})
        departments.publish(EventType.ENTERPRISE_REGISTERED, company)
    # A record no decoder can read (the router dead-letters it): the projection must move past it.
    producer = KafkaProducer(**Clients(settings).connection())
    producer.send(CATALOGUE[EventType.MARRIAGE_REGISTERED].topic(settings.topic_prefix),
                  key=b"junk", value=b"\x00not avro").get(timeout=10)
    producer.close()

    tokens_file = tmp_path / "tokens.json"
    tokens = {d: issue_token(tokens_file, d, label="facts test")
              for d in (Department.PROVIDENT_FUND, Department.HEALTH)}
    facts = FactsProjection(clients, path=tmp_path / "facts.sqlite")
    intake = KafkaAuditIntake(clients)
    client = TestClient(create_app(settings, TokenStore.load(tokens_file), lambda d: None,
                                   facts=facts, audit_intake=intake))

    def query(subject: str, department: Department | None):
        headers = {"Authorization": f"Bearer {tokens[department]}"} if department else {}
        return client.get(f"/v1/subjects/{subject}/facts", headers=headers)

    try:
        spouse_a = marriage["payload"]["spouse_a"]["id_number"]
        answer = query(spouse_a, Department.PROVIDENT_FUND)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        [fact] = body["facts"]
        assert (fact["fact"], fact["status"], fact["event_id"]) == (
            "marital_status", "MARRIED", correction.event_id)
        expected = granted(EventType.MARRIAGE_REGISTERED, Department.PROVIDENT_FUND)
        assert set(fact["fields"]) == expected
        assert {p: v["value"] for p, v in fact["fields"].items()} == {
            p: lookup({"payload": corrected_payload}, p) for p in expected}
        assert fact["fields"]["payload.registered_on"]["value"] == day
        assert marriage["payload"]["certificate_number"] not in answer.text

        uscc = company["payload"]["uscc"]
        by_code = query(uscc, Department.PROVIDENT_FUND).json()
        [org] = by_code["facts"]
        expected_org = granted(EventType.ENTERPRISE_REGISTERED, Department.PROVIDENT_FUND)
        assert set(org["fields"]) == expected_org
        assert {p: v["value"] for p, v in org["fields"].items()} == {
            p: lookup(company, p) for p in expected_org}
        # The provident fund is never given the representative's identity number: asking by it
        # links it to nothing.
        rep_id = company["payload"]["legal_representative"]["id_number"]
        assert query(rep_id, Department.PROVIDENT_FUND).json()["facts"] == []

        refused = query(spouse_a, Department.HEALTH)
        assert refused.status_code == 403
        assert refused.json()["errors"][0]["rule"] == "fact_grant"
        assert marriage["payload"]["spouse_b"]["name"] not in refused.text
        assert query(spouse_a, None).status_code == 401
    finally:
        intake.close()
        facts.close()

    notes = [decode_note(r.value) for r in read_all(settings, TopicNames(settings.topic_prefix).audit_intake)]
    assert all(isinstance(n, FactQueryNote) for n in notes) and len(notes) == 5
    by_id = {n.query_id: n for n in notes}
    allowed = by_id[body["query_id"]]
    # the intake is Kafka and the chain keeps notes forever: the subject only by pseudonym
    ref = load_pseudonyms(settings.resolved_pseudonym_keys_file).of
    assert (allowed.allowed, allowed.department, allowed.subject_ref) == (True, "PROVIDENT_FUND", ref(spouse_a))
    assert {(f.event_type, f.field) for f in allowed.fields} == {
        ("marriage_registered", p) for p in expected}
    assert by_id[by_code["query_id"]].subject_ref == ref(uscc)
    assert [(n.department, n.subject_ref, n.fields) for n in notes if not n.allowed] == [
        ("HEALTH", ref(spouse_a), []), (None, ref(spouse_a), [])]
    raw = b"".join(r.value for r in read_all(settings, TopicNames(settings.topic_prefix).audit_intake))
    assert spouse_a.encode() not in raw and uscc.encode() not in raw
    assert "HEALTH" in next(n.reason for n in notes if n.department == "HEALTH")
