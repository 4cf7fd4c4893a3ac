"""The hub's figures on the real stack after a whole flow (router, reference agencies, auditor):
``/metrics`` scraped from the app ``hub serve`` builds and ``hub status --json`` must equal what
the flow did — computed from the rules and the submissions this test made, never from what the
views stored."""

from __future__ import annotations

import json
import random
from collections import Counter

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from hub.api.app import create_app
from hub.api.tokens import Role, TokenStore, issue
from hub.audit.intake import KafkaAuditIntake
from hub.cli.app import app as hub_cli
from hub.kafka.clients import Clients
from hub.kafka.lag import broker_figures
from hub.projections.cases import CaseProjection
from tests.integration.audited_flow import audited_flow, hub_env
from tests.integration.flow_helpers import expected_items, unique_mix

COUNT, SEED = 8, 31


def _expected(receipts) -> Counter:
    """Items per department the rules give the flow's submissions (the same seeded mix)."""
    mix = unique_mix(COUNT, random.Random(SEED))
    per_department: Counter = Counter()
    for (event_type, submission), receipt in zip(mix, receipts, strict=True):
        for item in expected_items(event_type, receipt, submission["payload"], submission.get("consents", [])):
            per_department[item.department.value] += 1
    return per_department


def test_metrics_and_status_equal_what_the_flow_did(settings, tmp_path):
    receipts = audited_flow(settings, tmp_path, count=COUNT, seed=SEED)
    expected = _expected(receipts)
    assert sum(expected.values()) > COUNT  # the mix fans out

    tokens_file = tmp_path / "tokens.json"
    operator, _ = issue(tokens_file, Role.OPERATOR, None, "figures test")
    clients = Clients(settings)
    intake = KafkaAuditIntake(clients)
    try:
        app = create_app(settings, TokenStore.load(tokens_file), lambda d: None,
                         cases=CaseProjection(clients, tmp_path / "serve-cases.sqlite"), audit_intake=intake,
                         broker_figures=lambda: broker_figures(clients))
        with TestClient(app) as http:
            text = http.get("/metrics", headers={"Authorization": f"Bearer {operator}"}).text
    finally:
        intake.close()
        clients.close()
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(text) for s in family.samples}
    trips = {dict(labels)["department"]: value for (name, labels), value in samples.items()
             if name == "oncehub_items_completed_in_back_office_total"}
    assert trips == dict(expected)  # every item completed: one trip saved each
    assert samples[("oncehub_cases", (("status", "COMPLETED"),))] == COUNT
    assert samples[("oncehub_item_completion_seconds_count", ())] == sum(expected.values())
    parked = {dict(labels)["topic"]: v for (name, labels), v in samples.items()
              if name == "oncehub_dead_letters_parked"}
    assert parked and set(parked.values()) == {0}
    lag_groups = {dict(labels)["group"] for (name, labels), _ in samples.items()
                  if name == "oncehub_consumer_lag_records"}
    assert any(".agency." in g for g in lag_groups)  # the agencies' groups, read from the broker

    shown = CliRunner().invoke(hub_cli, ["status", "--json"], env=hub_env(settings, tmp_path / "cli-state"))
    assert shown.exit_code == 0, shown.output
    status = json.loads(shown.output)
    assert status["all"]["trips_saved"] == sum(expected.values()) and status["all"]["cases"] == COUNT
    assert {d["department"]: d["completed"] for d in status["all"]["departments"]} == dict(expected)
    assert status["dead_letters"] == {}
