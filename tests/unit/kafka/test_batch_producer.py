"""BatchProducer: a batch is done when every record is acknowledged, failed at the first refusal,
and a failed producer is replaced (librdkafka itself replaced by a fake that reports on poll)."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass

import pytest
from confluent_kafka import KafkaError

from hub.kafka.batch_producer import BatchProducer, DeliveryFailed


@dataclass(frozen=True)
class Out:
    topic: str
    key: bytes
    value: bytes


class FakeProducer:
    """Queues records; ``poll`` reports them delivered, or refused for keys in ``refuse``."""

    def __init__(self, config, refuse=frozenset(), full_times=0):
        self.config, self.refuse, self.full_times = config, refuse, full_times
        self.queue, self.sent, self.purged = [], [], False
        self.lock = threading.Lock()

    def produce(self, topic, value, key, on_delivery):
        with self.lock:
            if self.full_times:
                self.full_times -= 1
                raise BufferError("queue full")
            self.queue.append((topic, key, value, on_delivery))

    def poll(self, timeout):
        with self.lock:
            queued, self.queue = self.queue, []
        for topic, key, value, report in queued:
            refused = key in self.refuse
            if not refused:
                self.sent.append((topic, key, value))
            report(KafkaError(KafkaError._MSG_TIMED_OUT) if refused else None, None)
        if not queued:
            threading.Event().wait(min(timeout, 0.01))
        return len(queued)

    def purge(self):
        self.purged = True

    def flush(self, timeout):
        self.poll(0)
        return 0


def producer_with(*fakes):
    made = list(fakes)
    built = []

    def factory(config):
        fake = made.pop(0) if made else FakeProducer(config)
        fake.config = config
        built.append(fake)
        return fake

    return BatchProducer({"bootstrap.servers": "x"}, delivery_timeout_ms=1000, factory=factory), built


def test_a_batch_is_done_once_every_record_is_acknowledged_in_order():
    batch, built = producer_with(FakeProducer({}))
    outputs = [Out("inbox", f"k{i}".encode(), f"v{i}".encode()) for i in range(5)]

    async def go():
        await asyncio.wait_for(batch.send_all(outputs), 5)

    try:
        asyncio.run(go())
        assert built[0].sent == [(o.topic, o.key, o.value) for o in outputs]
        assert built[0].config["enable.idempotence"] is True and built[0].config["acks"] == "all"
    finally:
        batch.close()


def test_a_refused_record_fails_the_batch_and_the_producer_is_replaced():
    batch, built = producer_with(FakeProducer({}, refuse={b"bad"}), FakeProducer({}))

    async def go():
        with pytest.raises(DeliveryFailed):
            await asyncio.wait_for(batch.send_all([Out("t", b"ok", b"1"), Out("t", b"bad", b"2")]), 5)
        await asyncio.sleep(0)  # the failure's callback replaces the producer
        await asyncio.wait_for(batch.send_all([Out("t", b"again", b"3")]), 5)

    try:
        asyncio.run(go())
        assert built[0].purged and len(built) == 2
        assert built[1].sent == [("t", b"again", b"3")]
    finally:
        batch.close()


def test_a_full_local_queue_is_waited_out_not_raised():
    batch, built = producer_with(FakeProducer({}, full_times=3))

    async def go():
        await asyncio.wait_for(batch.send_all([Out("t", b"k", b"v")]), 5)

    try:
        asyncio.run(go())
        assert built[0].sent == [("t", b"k", b"v")]
    finally:
        batch.close()


def test_an_empty_batch_is_done_at_once_and_a_closed_producer_refuses():
    batch, _ = producer_with(FakeProducer({}))

    async def go():
        await batch.send_all([])
        batch.close()
        with pytest.raises(Exception, match="closed"):
            batch.send_all([Out("t", b"k", b"v")])

    asyncio.run(go())


def test_a_failing_delivery_report_does_not_stop_the_reports():
    class OnceFailingPoll(FakeProducer):
        failed = False

        def poll(self, timeout):
            if not self.failed:
                self.failed = True
                raise RuntimeError("a callback failed")
            return super().poll(timeout)

    batch, built = producer_with(OnceFailingPoll({}))

    async def go():
        await asyncio.wait_for(batch.send_all([Out("t", b"k", b"v")]), 5)

    try:
        asyncio.run(go())
        assert built[0].failed and built[0].sent == [("t", b"k", b"v")]
    finally:
        batch.close()
