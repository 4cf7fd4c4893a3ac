"""GET /metrics: operator tokens only; the case figures and the broker's figures as Prometheus
text (prometheus-client's own parser reads it back), and ingest counted by rule."""

from __future__ import annotations

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from hub.api.app import create_app
from hub.api.metrics_routes import count_ingest
from hub.api.tokens import TokenStore
from hub.config import HubSettings
from hub.kafka.lag import PartitionLag
from hub.memory import InMemoryAuditNotes
from tests.unit.api.test_case_routes import NOW, TOKENS, Hub, auth


def _samples(text: str) -> dict[tuple, float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _client(hub: Hub, broker=None) -> TestClient:
    return TestClient(create_app(HubSettings(), TokenStore(TOKENS, clock=lambda: NOW), lambda d: None,
                                 cases=hub.cases, audit_intake=InMemoryAuditNotes(), broker_figures=broker))


def test_only_an_operator_token_reads_the_metrics():
    client = _client(Hub())
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=auth("police")).status_code == 403
    assert client.get("/metrics", headers=auth("audit")).status_code == 403
    answer = client.get("/metrics", headers=auth("ops"))
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")


def test_the_case_figures_and_the_broker_figures_are_exposed():
    lags = [PartitionLag("oncehub.agency.tax", "oncehub.inbox.tax", 0, committed=3, end=7)]
    client = _client(Hub(), broker=lambda: (lags, {"oncehub.dlq": 2, "oncehub.dlq.tax": 0}))
    got = _samples(client.get("/metrics", headers=auth("ops")).text)
    # the marriage: the provident fund completed its item, public security rejected its own
    assert got[("oncehub_items_completed_in_back_office_total", (("department", "PROVIDENT_FUND"),))] == 1
    assert got[("oncehub_items_completed_in_back_office_total", (("department", "PUBLIC_SECURITY"),))] == 0
    assert got[("oncehub_items", (("department", "PUBLIC_SECURITY"), ("state", "rejected")))] == 1
    assert got[("oncehub_cases", (("status", "COMPLETED"),))] == 1
    assert got[("oncehub_item_completion_seconds_count", ())] == 1
    assert got[("oncehub_consumer_lag_records", (("group", "oncehub.agency.tax"), ("partition", "0"),
                                                 ("topic", "oncehub.inbox.tax")))] == 4
    assert got[("oncehub_dead_letters_parked", (("topic", "oncehub.dlq"),))] == 2


def test_ingest_is_counted_with_a_bounded_type_label():
    client = _client(Hub())
    before = _samples(client.get("/metrics", headers=auth("ops")).text)
    count_ingest("marriage_registered", "CIVIL_AFFAIRS", 202)
    count_ingest("no-such-type-<script>", "CIVIL_AFFAIRS", 404)
    client.post("/v1/events/marriage_registered", json={})  # through the route: no token
    client.post("/v1/events/no-such-type-<script>", json={}, headers=auth("civil"))  # raised: 404
    after = _samples(client.get("/metrics", headers=auth("ops")).text)

    def grew(name, **labels):
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0) - before.get(key, 0)

    assert grew("oncehub_events_accepted_total", event_type="marriage_registered", department="CIVIL_AFFAIRS") == 1
    assert grew("oncehub_events_refused_total", event_type="unknown", department="CIVIL_AFFAIRS",
                rule="unknown_type") == 2
    assert grew("oncehub_events_refused_total", event_type="marriage_registered",
                department="unauthenticated", rule="unauthenticated") == 1
    assert not any("script" in str(key) for key in after)


def test_a_broker_that_cannot_answer_leaves_its_figures_out_not_the_cases():
    def down():
        raise ConnectionError("broker unreachable")

    got = _samples(_client(Hub(), broker=down).get("/metrics", headers=auth("ops")).text)
    assert got[("oncehub_cases", (("status", "COMPLETED"),))] == 1
    assert not any(name == "oncehub_consumer_lag_records" for name, _ in got)
