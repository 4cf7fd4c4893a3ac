"""The router's metrics: items per department, dead letters, events per type and stage times."""

from prometheus_client import REGISTRY

from hub.domain.departments import Department
from hub.kafka.topic_names import TopicNames
from hub.worker.metering import RouterMeter
from hub.worker.processor import Output, SourceRecord

NAMES = TopicNames("meter")


def _value(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _watched() -> tuple[float, ...]:
    """The figures one routed batch moves, in the order the test compares them."""
    return (_value("oncehub_items_routed_total", department="TAX"),
            _value("oncehub_items_routed_total", department="PUBLIC_SECURITY"),
            _value("oncehub_dead_letters_total", stage="router"),
            _value("oncehub_events_routed_total", event_type="marriage_registered"),
            _value("oncehub_routing_latency_seconds_count"),
            _value("oncehub_router_stage_seconds_sum", stage="send"))


def test_a_batch_counts_its_items_per_department_its_dead_letters_and_its_events():
    topic = next(t for t, spec in NAMES.event_specs().items() if spec.event_type == "marriage_registered")
    before = _watched()
    records = [SourceRecord(topic, 0, n, b"k", b"v") for n in range(2)]
    outputs = [Output(NAMES.inbox(Department.TAX), b"k", b"i"), Output(NAMES.inbox(Department.TAX), b"k", b"i"),
               Output(NAMES.inbox(Department.PUBLIC_SECURITY), b"k", b"i"), Output(NAMES.routing_log, b"k", b"d"),
               Output(NAMES.dead_letters, b"k", b"l")]
    RouterMeter(NAMES).routed(records, outputs, [100.0, 100.5], started=101.0, prepared=101.25, acked=101.75)
    after = _watched()
    assert [a - b for a, b in zip(after, before)] == [2, 1, 1, 2, 2, 0.5]


def test_a_publisher_clock_ahead_of_the_router_records_no_negative_wait():
    before = _value("oncehub_router_stage_seconds_bucket", stage="wait", le="0.001")
    RouterMeter(NAMES).taken([200.0], now=199.0)
    assert _value("oncehub_router_stage_seconds_bucket", stage="wait", le="0.001") == before + 1
