"""The router's timers and record handling survive outages (issue 12's first two defects)."""

from __future__ import annotations

import asyncio
import logging

import pytest
from confluent_kafka.schema_registry.error import SchemaRegistryError
from kafka.errors import KafkaTimeoutError

from hub.kafka.topic_names import TopicNames
from hub.memory.kafka import InMemoryRegistry
from hub.schema_registry.subjects import value_subject
from hub.wire.schemas import named_schema_json
from hub.worker.app import unregistered_subjects, written_by_router
from hub.worker.resilience import describe_failure, keep_going, until_done


class FlakyWatch:
    """A deadline watch whose first round meets a broker that is down."""

    def __init__(self):
        self.rounds = 0

    def tick(self):
        self.rounds += 1
        if self.rounds == 1:
            raise KafkaTimeoutError("Unable to bootstrap from 127.0.0.1:9092")
        return ["flagged"]


def test_a_timer_round_that_meets_a_broker_outage_is_logged_and_the_next_round_runs(caplog):
    """The deadline timer crashed the whole faust app when the broker was down."""
    watch = FlakyWatch()

    async def two_rounds():
        return [await keep_going("the deadline check", watch.tick) for _ in range(2)]

    with caplog.at_level(logging.WARNING, logger="hub.worker.resilience"):
        assert asyncio.run(two_rounds()) == [None, ["flagged"]]
    assert "the deadline check failed: Kafka unavailable (KafkaTimeoutError" in caplog.text


def test_a_record_is_tried_again_until_the_server_answers():
    attempts, slept = [], []

    async def attempt():
        attempts.append(1)
        if len(attempts) < 4:
            raise KafkaTimeoutError("broker down")
        return "written"

    async def sleep(seconds):
        slept.append(seconds)

    assert asyncio.run(until_done("routing t[0]@1", attempt, sleep=sleep)) == "written"
    assert slept == [0.5, 1.0, 2.0]  # backing off, not spinning


def test_a_missing_subject_is_named_a_configuration_error_not_an_outage(caplog):
    missing = SchemaRegistryError(404, 40401, "Subject 'p.inbox.tax-value' not found")
    assert describe_failure(missing).startswith("configuration error")
    assert "hub schemas register" in describe_failure(missing)
    calls = []

    async def attempt():
        calls.append(1)
        if len(calls) == 1:
            raise missing
        return "ok"

    async def sleep(seconds):
        pass

    with caplog.at_level(logging.WARNING, logger="hub.worker.resilience"):
        asyncio.run(until_done("routing t[0]@1", attempt, sleep=sleep))
    (record,) = caplog.records
    assert record.levelno == logging.ERROR and "not registered" in record.getMessage()


def test_the_router_lists_the_subjects_it_writes_that_are_not_registered():
    names = TopicNames("unit")
    registry = InMemoryRegistry()
    topics = written_by_router(names)
    from confluent_kafka.schema_registry import Schema

    registry.register_schema(value_subject(names.routing_log),
                             Schema(named_schema_json("RoutingDecision"), "AVRO"))
    missing = unregistered_subjects(registry, topics)
    assert value_subject(names.routing_log) not in missing
    assert value_subject(names.dead_letters) in missing
    assert len(missing) == len(topics) - 1


@pytest.mark.parametrize("error", [KafkaTimeoutError("x"), OSError("connection refused")])
def test_outages_are_told_apart_from_bugs(error):
    assert "unavailable" in describe_failure(error)
    assert describe_failure(ValueError("boom")).startswith("unexpected failure")
