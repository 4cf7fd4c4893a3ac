"""A librdkafka producer for the router's outputs: a batch handed over at once, acknowledged together.

The router writes 3–4 records per event (inbox items and the routing decision). Through faust's
aiokafka producer each record cost about 0.3 ms of the router's one Python thread (building the
batch, the send future, the SSL writes), more than routing the event (BENCHMARKS.md, "Router
CPU"). librdkafka does that work in C on its own threads: :meth:`BatchProducer.send_all` queues a
batch's records and returns an awaitable that completes when the broker has acknowledged every
one of them (``acks=all``, idempotent: per-partition order kept across retries), or fails with
the first record's delivery error. The router awaits it before its events' offsets can be
committed, exactly as it awaited faust's sends.

Delivery reports come back on a thread of ours (``poll``) and are handed to the event loop.
After a failed delivery the producer is replaced: an idempotent producer whose batches expired
in an outage can stay out of step with the broker's sequence numbers (seen with kafka-python in
the fault drills), and a new one starts clean. The records are then sent again by the caller.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from confluent_kafka import KafkaError, KafkaException, Producer

log = logging.getLogger(__name__)

POLL_S = 0.05  # how often the delivery thread wakes when there is nothing to report
QUEUE_FULL_WAIT_S = 0.05


class Output(Protocol):
    topic: str
    key: bytes
    value: bytes


class DeliveryFailed(KafkaException):
    """A record of the batch was not acknowledged (librdkafka's error, no record content)."""


class BatchProducer:
    """One librdkafka producer; ``config``: librdkafka properties (connection, client id)."""

    def __init__(self, config: dict[str, Any], delivery_timeout_ms: int,
                 factory: Callable[[dict[str, Any]], Any] = Producer):
        self._config = {
            **config,
            "acks": "all",
            "enable.idempotence": True,
            # Batches form while the router works on the next records; 1 ms is enough on loopback
            # and keeps the end-to-end latency low at low rates.
            "linger.ms": 1,
            "delivery.timeout.ms": delivery_timeout_ms,
            "allow.auto.create.topics": False,
        }
        self._factory = factory
        self._lock = threading.Lock()
        self._producer = self._factory(self._config)
        self._closed = threading.Event()
        self._poller = threading.Thread(target=self._poll_forever, name="batch-producer-deliveries",
                                        daemon=True)
        self._poller.start()

    def send_all(self, outputs: Sequence[Output]) -> asyncio.Future:
        """Queue ``outputs`` in order; the future (of the running loop) is done when all are
        acknowledged, or fails with :class:`DeliveryFailed` once any is refused or expires."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future = loop.create_future()
        if not outputs:
            done.set_result(None)
            return done
        waiting = [len(outputs)]
        lock = threading.Lock()

        def settle(error) -> None:  # on the event loop
            if done.done():
                return
            if error is not None:
                done.set_exception(DeliveryFailed(error))
            else:
                done.set_result(None)

        def delivered(err, _msg) -> None:  # on the delivery thread
            with lock:
                waiting[0] -= 1
                last = waiting[0] == 0
            if err is not None or last:
                try:
                    loop.call_soon_threadsafe(settle, err)
                except RuntimeError:  # the loop is closed: the router is stopping, nobody waits
                    pass

        producer = self._current()
        for output in outputs:
            self._produce(producer, output, delivered)
        done.add_done_callback(lambda f: self._replace_after_failure(producer, f))
        return done

    def _produce(self, producer, output: Output, delivered) -> None:
        while True:
            try:
                producer.produce(output.topic, value=output.value, key=output.key, on_delivery=delivered)
                return
            except BufferError:  # the local queue is full: let deliveries drain it
                producer.poll(QUEUE_FULL_WAIT_S)

    def _current(self):
        with self._lock:
            if self._closed.is_set():
                raise KafkaException(KafkaError(KafkaError._DESTROY, "the producer is closed"))
            return self._producer

    def _replace_after_failure(self, producer, future: asyncio.Future) -> None:
        if future.cancelled() or future.exception() is None:
            return
        with self._lock:
            if self._producer is not producer or self._closed.is_set():
                return  # replaced already
            log.warning("router output producer replaced after a failed delivery: %s", future.exception())
            self._producer = self._factory(self._config)
        producer.purge()  # what it still holds is sent again by the new one

    def _poll_forever(self) -> None:
        # Never ends but on close: without this thread no batch is ever acknowledged again.
        while not self._closed.is_set():
            with self._lock:
                producer = self._producer
            try:
                producer.poll(POLL_S)
            except Exception as exc:  # noqa: BLE001 - a report's failure must not stop the reports
                log.warning("router output producer: delivery reports failed once (%s)", type(exc).__name__)
                self._closed.wait(POLL_S)

    def close(self, timeout_s: float = 5.0) -> None:
        """Deliver what is queued (up to ``timeout_s``), then stop the delivery thread."""
        with self._lock:
            if self._closed.is_set():
                return
            self._closed.set()
            producer = self._producer
        self._poller.join(timeout=2 * POLL_S + 1)
        remaining = producer.flush(timeout_s)
        if remaining:
            log.warning("router output producer closed with %d record(s) undelivered (their events "
                        "are routed again)", remaining)
