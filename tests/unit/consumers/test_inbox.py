"""The inbox SDK on the in-memory Kafka: Kafka failures are waited out, one poll's records are
handled within a time budget below the poll interval, and an agency runner thread that dies is
logged and restarted (issue 12: "an inbox dies on the first Kafka error")."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from kafka.errors import CommitFailedError, KafkaTimeoutError, TopicAuthorizationFailedError
from kafka.structs import TopicPartition

import consumers.reference_agencies.fleet as fleet_module
from consumers.inbox import Inbox, InboxStats, RetryPolicy
from hub.config import HubSettings
from hub.domain.departments import Department
from hub.domain.outcomes import Outcome
from hub.kafka.clients import Clients
from hub.kafka.topic_names import TopicNames
from hub.memory.agency import InMemoryAgency
from hub.memory.kafka import InMemoryClients
from hub.wire.serde import model_deserializer, model_serializer
from tests.builders import items as work_items

NO_WAIT = RetryPolicy(attempts=5, initial_s=0, max_s=0)


@pytest.fixture
def clients(tmp_path):
    return InMemoryClients.provisioned(HubSettings(topic_prefix="inbox", state_dir=tmp_path))


def _queue(clients, count: int):
    """``count`` work items on partition 0 of their department's inbox; (department, items)."""
    items = work_items(count)
    department = items[0].department
    topic = TopicNames(clients.settings.topic_prefix).inbox(department)
    encode = model_serializer(clients.registry, "WorkItem")
    producer = clients.producer()
    for item in items:
        producer.send(topic, key=item.item_id.encode(), value=encode(item, topic), partition=0)
    return department, items


def _outcomes(clients, department) -> list[Outcome]:
    topic = TopicNames(clients.settings.topic_prefix).outcomes_of(department)
    decode = model_deserializer(clients.registry, "Outcome", Outcome)
    return [decode(r.value, topic) for r in clients.broker.records(topic)]


def _committed(clients, inbox) -> int:
    return clients.broker.committed.get((inbox.group, TopicPartition(inbox.topic, 0)), 0)


def _run_until_committed(inbox, clients, agency, count: int, within_s: float = 20) -> InboxStats:
    limit = time.monotonic() + within_s
    stats = inbox.run(agency, stop=lambda: _committed(clients, inbox) >= count
                      or time.monotonic() > limit, poll_ms=10)
    assert _committed(clients, inbox) == count, "the inbox did not get through its items"
    return stats


def _each_completed_once(clients, department, agency, items) -> None:
    assert sorted(i.item_id for i in agency.applied) == sorted(i.item_id for i in items)
    completed = {o.item_id for o in _outcomes(clients, department) if o.status.value == "COMPLETED"}
    assert completed == {i.item_id for i in items}


def test_a_commit_refused_after_a_rebalance_is_waited_out_and_the_batch_redelivered(clients):
    department, items = _queue(clients, 3)
    clients.broker.fail_next("commit", CommitFailedError("the group rebalanced"))
    agency = InMemoryAgency()
    inbox = Inbox(department, clients=clients, retry=NO_WAIT)
    _run_until_committed(inbox, clients, agency, len(items))
    assert agency.deliveries == 2 * len(items)  # the batch came again; applied once by item id
    _each_completed_once(clients, department, agency, items)


def test_a_poll_timeout_is_waited_out(clients, caplog):
    department, items = _queue(clients, 2)
    clients.broker.fail_next("poll", KafkaTimeoutError("Unable to bootstrap from 127.0.0.1:9092"), times=2)
    agency = InMemoryAgency()
    inbox = Inbox(department, clients=clients, retry=NO_WAIT)
    with caplog.at_level(logging.WARNING, logger="consumers.inbox"):
        _run_until_committed(inbox, clients, agency, len(items))
    assert "KafkaTimeoutError" in caplog.text and "failure 2 in a row" in caplog.text
    assert "Kafka answers again, consuming after 2 failure(s)" in caplog.text
    _each_completed_once(clients, department, agency, items)


def test_the_broker_refusing_the_department_is_not_waited_out(clients):
    department, _ = _queue(clients, 1)
    clients.broker.fail_next("poll", TopicAuthorizationFailedError())
    inbox = Inbox(department, clients=clients, retry=NO_WAIT)
    with pytest.raises(TopicAuthorizationFailedError):
        inbox.run(InMemoryAgency(), poll_ms=10)


class _Clock:
    """A monotonic clock the handler moves on: each delivery "takes" ``step_s``."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_one_poll_is_handled_within_its_time_budget(clients):
    department, items = _queue(clients, 10)
    clock, agency = _Clock(), InMemoryAgency()

    def slow_agency(item):
        clock.now += 10  # each item takes 10 s: 10 items would take 100 s
        return agency(item)

    inbox = Inbox(department, clients=clients, retry=NO_WAIT, batch_budget_s=25, monotonic=clock)
    handled = [inbox.poll_once(slow_agency, poll_ms=10) for _ in range(4)]
    assert handled == [3, 3, 3, 1]  # 3 begun within 25 s, then the rest put back for the next poll
    assert _committed(clients, inbox) == 10
    assert agency.deliveries == 10  # nothing handled twice
    _each_completed_once(clients, department, agency, items)


def test_an_item_retried_past_the_budget_resumes_its_attempts_and_is_then_parked(clients):
    department, (item,) = _queue(clients, 1)
    clock, calls = _Clock(), []

    def down(item):
        clock.now += 10
        calls.append(item.item_id)
        raise ConnectionError("agency down")

    inbox = Inbox(department, clients=clients, retry=NO_WAIT, batch_budget_s=25, monotonic=clock)
    assert inbox.poll_once(down, poll_ms=10) == 0  # 3 attempts took 30 s: put back, not parked
    assert len(calls) == 3 and _committed(clients, inbox) == 0
    assert inbox.poll_once(down, poll_ms=10) == 1  # attempts 4 and 5, then parked
    assert len(calls) == 5 and _committed(clients, inbox) == 1
    statuses = [o.status.value for o in _outcomes(clients, department)]
    assert statuses == ["DELIVERED", "FAILED"]
    assert inbox.poll_once(down, poll_ms=10) == 0 and len(calls) == 5  # no endless repeat


def test_a_runner_thread_that_dies_is_logged_and_restarted(tmp_path, monkeypatch, caplog):
    runs: dict[Department, int] = {}

    class DyingOnce:
        def __init__(self, department, settings=None, **kwargs):
            self.department, self.stats = department, InboxStats()

        def run(self, handler, stop):
            runs[self.department] = runs.get(self.department, 0) + 1
            if self.department is Department.TAX and runs[self.department] == 1:
                raise RuntimeError("inbox broke on 110101199003077777")
            while not stop():
                time.sleep(0.01)
            return self.stats

    monkeypatch.setattr(fleet_module, "Inbox", DyingOnce)
    with caplog.at_level(logging.ERROR, logger="consumers.reference_agencies.fleet"):
        with fleet_module.AgencyFleet(HubSettings(state_dir=tmp_path), tmp_path / "agencies"):
            deadline = time.monotonic() + 10
            while runs.get(Department.TAX, 0) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
    assert runs[Department.TAX] == 2  # started again after dying
    assert "inbox TAX died (RuntimeError" in caplog.text
    assert "110101199003077777" not in caplog.text  # the reason is logged, identity numbers masked
    assert not [t for t in threading.enumerate() if t.name.startswith("inbox-")]


class _Recording:
    """Stands in for a client: records how it was closed."""

    def __init__(self):
        self.calls = []

    def flush(self, timeout=None):
        self.calls.append(("flush", timeout))

    def close(self, **kwargs):
        self.calls.append(("close", kwargs))


def test_after_a_failure_the_clients_are_closed_without_waiting_on_kafka(clients):
    department, _ = _queue(clients, 1)
    inbox = Inbox(department, clients=clients, retry=NO_WAIT)
    inbox._producer, inbox._consumer = producer, consumer = _Recording(), _Recording()
    inbox._close_quietly()
    # no flush (the batch is redelivered), no close timeout beyond a moment
    assert producer.calls == [("close", {"timeout": 0})]
    assert consumer.calls == [("close", {"autocommit": False, "timeout_ms": 2_000})]
    inbox._producer, inbox._consumer = producer, consumer = _Recording(), _Recording()
    inbox.close()  # a normal stop still sends what is pending
    assert producer.calls[0][0] == "flush"
    assert consumer.calls == [("close", {"autocommit": False, "timeout_ms": None})]


def test_a_group_consumer_leaves_a_dead_members_place_to_others_within_ten_seconds(monkeypatch):
    built = {}

    class Capturing:  # stands in for kafka-python's consumer: keeps the configuration it was given
        def __init__(self, *topics, **config):
            built.update(config)

    monkeypatch.setattr("hub.kafka.clients.KafkaConsumer", Capturing)
    Clients(HubSettings(topic_prefix="c")).consumer("t", group_id="g")
    assert built["session_timeout_ms"] == 10_000 and built["heartbeat_interval_ms"] < 10_000 / 2
    Clients(HubSettings(topic_prefix="c")).consumer("t", group_id="g", session_timeout_ms=30_000)
    assert built["session_timeout_ms"] == 30_000  # a caller's own setting wins


def test_every_kafka_client_reconnects_at_most_a_second_apart():
    config = Clients(HubSettings(topic_prefix="c")).connection()
    assert config["reconnect_backoff_max_ms"] == 1_000


class _Batching:
    """A batch-capable agency over :class:`InMemoryAgency`; ``fail_batches`` makes the batch form
    raise that many times (the one-item form still works)."""

    def __init__(self, fail_batches: int = 0):
        self.agency, self.batches, self.fail_batches = InMemoryAgency(), [], fail_batches

    def __call__(self, item):
        return self.agency(item)

    def handle_many(self, items):
        self.batches.append(len(items))
        if self.fail_batches:
            self.fail_batches -= 1
            raise ConnectionError("the database went away mid-batch")
        return [self.agency(item) for item in items]


def test_a_batch_handler_gets_a_polls_items_in_one_call(clients):
    department, items = _queue(clients, 30)
    handler = _Batching()
    inbox = Inbox(department, clients=clients, retry=NO_WAIT)
    assert inbox.poll_once(handler, poll_ms=10) == 30
    assert handler.batches == [30] and handler.agency.deliveries == 30
    assert _committed(clients, inbox) == 30
    _each_completed_once(clients, department, handler.agency, items)
    for item in items:  # each item's outcomes in order on its case's partition
        mine = [o.status.value for o in _outcomes(clients, department) if o.item_id == item.item_id]
        assert mine == ["DELIVERED", "COMPLETED"]
    completed = [o for o in _outcomes(clients, department) if o.status.value == "COMPLETED"]
    assert {o.attempts for o in completed} == {1}


def test_a_failed_batch_falls_back_to_one_item_at_a_time_with_nothing_reported_twice(clients, caplog):
    department, items = _queue(clients, 5)
    handler = _Batching(fail_batches=1)
    inbox = Inbox(department, clients=clients, retry=NO_WAIT)
    with caplog.at_level(logging.WARNING, logger="consumers.inbox"):
        assert inbox.poll_once(handler, poll_ms=10) == 5
    assert handler.batches == [5] and handler.agency.deliveries == 5  # each then on its own
    assert "a batch of 5 items failed (ConnectionError" in caplog.text
    _each_completed_once(clients, department, handler.agency, items)
    statuses = sorted(o.status.value for o in _outcomes(clients, department))
    assert statuses == ["COMPLETED"] * 5 + ["DELIVERED"] * 5


def test_a_batch_returning_the_wrong_number_of_results_is_not_trusted(clients):
    department, items = _queue(clients, 3)
    handler = _Batching()
    handler.handle_many = lambda batch: []  # a broken batch form: answered nothing
    inbox = Inbox(department, clients=clients, retry=NO_WAIT)
    assert inbox.poll_once(handler, poll_ms=10) == 3
    _each_completed_once(clients, department, handler.agency, items)  # by the one-item path


def test_outcomes_and_handler_time_are_counted_once_committed(clients):
    from prometheus_client import REGISTRY

    def value(name, **labels):
        return REGISTRY.get_sample_value(name, labels) or 0.0

    department, items = _queue(clients, 4)
    dept = department.value
    before = (value("oncehub_outcomes_reported_total", department=dept, status="DELIVERED"),
              value("oncehub_outcomes_reported_total", department=dept, status="COMPLETED"),
              value("oncehub_inbox_handler_seconds_count", department=dept))
    clients.broker.fail_next("commit", CommitFailedError("the group rebalanced"))
    inbox = Inbox(department, clients=clients, retry=NO_WAIT)
    _run_until_committed(inbox, clients, _Batching(), len(items))
    after = (value("oncehub_outcomes_reported_total", department=dept, status="DELIVERED"),
             value("oncehub_outcomes_reported_total", department=dept, status="COMPLETED"),
             value("oncehub_inbox_handler_seconds_count", department=dept))
    # the first batch's commit was refused: its outcomes were not counted, the redelivery's were
    assert [a - b for a, b in zip(after, before)] == [4, 4, 2]
