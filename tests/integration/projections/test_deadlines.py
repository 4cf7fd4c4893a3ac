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
