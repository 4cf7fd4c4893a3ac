"""The inbox SDK on the real broker: outcomes before commits, retries, parking, redrive."""

from __future__ import annotations


from kafka import KafkaConsumer, TopicPartition

from consumers.inbox import Inbox, RetryPolicy
from tests.factories import sealed_record
from tests.integration.helpers import read_record
from hub.kafka.clients import Clients
from hub.kafka.dead_letters import dead_letters, redrive
from hub.domain.departments import Department
from hub.domain.envelope import EventType
from hub.domain.outcomes import Completed, Outcome, Rejected
from hub.domain.routing import route
from hub.kafka.topic_names import TopicNames
from hub.rules import load_rules
from hub.wire.serde import model_deserializer, model_serializer

FAST = RetryPolicy(attempts=3, initial_s=0.01, max_s=0.05)
TAX = Department.TAX


def _tax_items(count: int):
    items = []
    for seed in range(count):
        event = sealed_record(EventType.ENTERPRISE_REGISTERED, seed=seed)
        items += [i for i in route(event, load_rules()) if i.department is TAX]
    return items


def _send(settings, items, garbage_first: bool = False):
    topic = TopicNames(settings.topic_prefix).inbox(TAX)
    encode = model_serializer(Clients(settings).registry, "WorkItem")
    producer = Clients(settings).producer()
    if garbage_first:
        producer.send(topic, key=b"poison", value=b"\x00\x00\x00\x00\x63not avro", partition=0).get(10)
    for item in items:
        producer.send(topic, key=item.item_id.encode(), value=encode(item, topic), partition=0).get(10)
    producer.close()


def _outcomes(settings) -> list[Outcome]:
    topic = TopicNames(settings.topic_prefix).outcomes_of(TAX)  # the tax inbox reports on its own topic
    decode = model_deserializer(Clients(settings).registry, "Outcome", Outcome)
    consumer = KafkaConsumer(**Clients(settings).connection(), enable_auto_commit=False)
    tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    end, out = consumer.end_offsets(tps), []
    while any(consumer.position(tp) < off for tp, off in end.items()):
        for records in consumer.poll(timeout_ms=500).values():
            out += [decode(r.value, topic) for r in records]
    consumer.close()
    return out


def _drain(inbox, handler, expected: int) -> None:
    seen = 0
    for _ in range(60):
        seen += inbox.poll_once(handler, poll_ms=500)
        if seen >= expected:
            return
    raise AssertionError(f"processed {seen} of {expected} records")


def test_results_retries_parking_and_commit(settings, clients):
    items = _tax_items(4)
    flaky_calls = {}

    def handler(item):
        if item.item_id == items[0].item_id:
            return Completed(reference="税登-TEST-1")
        if item.item_id == items[1].item_id:
            return Rejected(reason="already registered")
        if item.item_id == items[2].item_id:  # fails twice, then works
            flaky_calls[item.item_id] = flaky_calls.get(item.item_id, 0) + 1
            if flaky_calls[item.item_id] < 3:
                raise ConnectionError("agency system busy")
            return Completed(reference="税登-TEST-3")
        raise RuntimeError("agency database is corrupt")  # always fails: parked

    _send(settings, items, garbage_first=True)
    inbox = Inbox(TAX, settings, retry=FAST)
    _drain(inbox, handler, len(items) + 1)
    inbox.close()

    by_item = {}
    for outcome in _outcomes(settings):
        by_item.setdefault(outcome.item_id, []).append(outcome)
    statuses = {k: [o.status.value for o in v] for k, v in by_item.items()}
    assert statuses[items[0].item_id] == ["DELIVERED", "COMPLETED"]
    assert statuses[items[1].item_id] == ["DELIVERED", "REJECTED"]
    assert statuses[items[2].item_id] == ["DELIVERED", "COMPLETED"]
    assert by_item[items[2].item_id][-1].attempts == 3
    assert statuses[items[3].item_id] == ["DELIVERED", "FAILED"]
    assert "corrupt" in by_item[items[3].item_id][-1].reason

    letters = dead_letters(clients)
    assert {l.stage for l in letters} == {"inbox:TAX"}
    # coordinates only: each letter says where its record is, and the record is still there
    assert all((l.key, l.value) == (None, None) for l in letters)
    by_offset = {l.source_offset: l for l in letters}
    assert set(by_offset) == {0, 4} and {l.source_partition for l in letters} == {0}
    assert read_record(settings, by_offset[0].source_topic, 0, 0).key == b"poison"
    assert read_record(settings, by_offset[4].source_topic, 0, 4).key == items[3].item_id.encode()
    assert "corrupt" in by_offset[4].reason

    # Everything was committed after its outcome: a new consumer in the group gets nothing.
    again = Inbox(TAX, settings, retry=FAST)
    assert sum(again.poll_once(handler, poll_ms=1000) for _ in range(3)) == 0
    again.close()


def test_a_parked_item_redriven_after_the_fix_completes(settings, clients):
    (item,) = _tax_items(1)[:1]
    _send(settings, [item])
    broken = Inbox(TAX, settings, retry=FAST)
    _drain(broken, lambda i: (_ for _ in ()).throw(RuntimeError("down for maintenance")), 1)
    broken.close()
    (letter,) = dead_letters(clients)
    assert redrive(clients, [letter]).sent == 1
    fixed = Inbox(TAX, settings, retry=FAST)
    _drain(fixed, lambda i: Completed(reference="税登-AFTER-FIX"), 1)
    fixed.close()
    final = [o for o in _outcomes(settings) if o.item_id == item.item_id and o.status.is_final]
    assert [o.status.value for o in final] == ["FAILED", "COMPLETED"]
    assert final[-1].reference == "税登-AFTER-FIX"
