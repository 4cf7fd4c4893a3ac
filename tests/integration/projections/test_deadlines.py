"""承诺时限 on the real broker: items past their deadline get one OVERDUE outcome each."""

from __future__ import annotations

from datetime import timedelta

from tests.factories import sealed_record
from hub.domain.envelope import EventType
from hub.domain.routing import DecisionKind, decision_for, route
from hub.kafka.topic_names import TopicNames
from hub.projections.cases import CaseProjection
from hub.projections.deadlines import DeadlineWatch
from hub.rules import load_rules
from hub.wire.serde import model_serializer


def test_overdue_items_are_flagged_once_and_shown(settings, clients):
    # deadlines: P1D (provident fund), P5D (public security)
    event = sealed_record(EventType.MARRIAGE_REGISTERED, seed=2)
    decision = decision_for(event, DecisionKind.ROUTED, route(event, load_rules()))
    topic = TopicNames(settings.topic_prefix).routing_log
    producer = clients.producer()
    producer.send(topic, key=decision.case_id.encode(),
                  value=model_serializer(clients.registry, "RoutingDecision")(decision, topic)).get(10)
    producer.close()

    two_days_later = decision.decided_at + timedelta(days=2)
    watch = DeadlineWatch(clients, clock=lambda: two_days_later)
    try:
        late = watch.tick()
        assert [(o.department.value, o.status.value) for o in late] == [("PROVIDENT_FUND", "OVERDUE")]
        assert watch.tick() == []  # flagged once: the projection read its own OVERDUE back
    finally:
        watch.close()

    projection = CaseProjection(clients)
    projection.catch_up()
    items = {i.department: i for i in projection.case(decision.case_id).items.values()}
    projection.close()
    assert items["PROVIDENT_FUND"].overdue and not items["PUBLIC_SECURITY"].overdue
    assert not items["PROVIDENT_FUND"].final


def test_the_routers_deadline_check_runs_in_a_child_process_and_flags(settings, clients):
    """`hub worker` runs each round as `hub deadline-check` in a child (its projection's memory
    and CPU never sit in the router); the child flags what is late and reports a failure."""
    import pytest

    from hub.domain.outcomes import Outcome
    from hub.kafka.log_reader import read_from_start
    from hub.wire.serde import model_deserializer
    from hub.worker.app import run_deadline_check

    event = sealed_record(EventType.MARRIAGE_REGISTERED, seed=3)
    decision = decision_for(event, DecisionKind.ROUTED, route(event, load_rules()))
    two_days = timedelta(days=2)  # routed two days ago: the P1D item is late, the P5D one not
    decision = decision.model_copy(update={
        "decided_at": decision.decided_at - two_days,
        "items": [i.model_copy(update={"deadline_at": i.deadline_at - two_days}) for i in decision.items]})
    topic = TopicNames(settings.topic_prefix).routing_log
    producer = clients.producer()
    producer.send(topic, key=decision.case_id.encode(),
                  value=model_serializer(clients.registry, "RoutingDecision")(decision, topic)).get(10)
    producer.close()

    run_deadline_check(settings)
    deadlines = TopicNames(settings.topic_prefix).deadlines
    decode = model_deserializer(clients.registry, "Outcome", Outcome)
    flagged = [decode(r.value, r.topic) for r in read_from_start(clients, [deadlines])]
    assert [(o.department.value, o.status.value) for o in flagged] == [("PROVIDENT_FUND", "OVERDUE")]

    broken = settings.model_copy(update={"bootstrap_servers": "127.0.0.1:1", "publish_timeout_s": 2.0})
    with pytest.raises(RuntimeError, match="hub deadline-check exited with"):
        run_deadline_check(broken)
