"""The inbox SDK: how an agency (or an adapter) consumes its department's work items.

    inbox = Inbox(Department.TAX, settings)
    inbox.run(handler, stop=lambda: done.is_set())

For every work item: a DELIVERED outcome; the handler, retried with exponential backoff and
jitter when it raises; then COMPLETED (with the agency's reference) or REJECTED (with the
reason). A handler that keeps failing has its item parked on the dead-letter topic with the
error, and a FAILED outcome — never silently dropped. A record that cannot even be decoded is
parked the same way. Offsets are committed only after the batch's outcomes and dead letters are
acknowledged by Kafka, so a crash redelivers rather than loses; handlers are idempotent by item
id, so a redelivery is harmless.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from kafka import KafkaConsumer, KafkaProducer, OffsetAndMetadata, TopicPartition
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from hub.config import HubSettings
from hub.domain.dead_letters import DeadLetter
from hub.domain.departments import Department
from hub.domain.outcomes import Completed, Handler, Outcome, OutcomeStatus, Rejected
from hub.domain.routing import WorkItem
from hub.kafka.topic_names import TopicNames
from hub.security.principals import department_principal
from hub.kafka.clients import Clients
from hub.kafka.failures import is_transient
from hub.wire.serde import model_deserializer, model_serializer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """How long a failing handler is retried before its item is parked."""

    attempts: int = 5
    initial_s: float = 0.2
    max_s: float = 5.0


@dataclass
class InboxStats:
    delivered: int = 0
    completed: int = 0
    rejected: int = 0
    failed: int = 0
    parked: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


class Inbox:
    """Consumes one department's inbox topic in the consumer group ``<prefix>.agency.<dept>``."""

    def __init__(self, department: Department, settings: HubSettings | None = None, *,
                 clients: Clients | None = None, group: str | None = None,
                 retry: RetryPolicy = RetryPolicy(),
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        """``clients``: where the Kafka and registry clients come from; if not given, built from
        ``settings`` as the department's own principal (unless the settings name one): the
        broker, not this class, decides what the department may read and write."""
        self.department = department
        self._clients = clients or Clients(
            (settings or HubSettings()).for_service(department_principal(department)))
        self.settings = settings = self._clients.settings
        self.names = TopicNames(settings.topic_prefix)
        self.topic = self.names.inbox(department)
        self.group = group or f"{settings.topic_prefix}.agency.{department.value.lower()}"
        self.retry, self._clock = retry, clock
        self.stats = InboxStats()
        registry = self._clients.registry
        self._decode = model_deserializer(registry, "WorkItem", WorkItem)
        self._encode_outcome = model_serializer(registry, "Outcome")
        self._encode_letter = model_serializer(registry, "DeadLetter")
        self._consumer: KafkaConsumer | None = None
        self._producer: KafkaProducer | None = None
        self._pending: list = []  # send futures of the current batch

    def run(self, handler: Handler, stop: Callable[[], bool] = lambda: False,
            poll_ms: int = 500) -> InboxStats:
        """Process items until ``stop()`` is true; returns the counts."""
        try:
            while not stop():
                try:
                    self.poll_once(handler, poll_ms)
                except Exception as exc:
                    if not is_transient(exc):
                        raise
                    # Start over from the committed offsets once the registry is back.
                    log.warning("registry unavailable (%s); reconnecting from committed offsets", exc)
                    self.close()
                    time.sleep(2)
        finally:
            self.close()
        return self.stats

    def poll_once(self, handler: Handler, poll_ms: int = 500) -> int:
        """One batch: process, make outcomes durable, then commit. Returns records processed."""
        consumer = self._kafka_consumer()
        batches = consumer.poll(timeout_ms=poll_ms, max_records=100)
        offsets = {}
        for tp, records in batches.items():
            for record in records:
                self._process(record, handler)
                offsets[tp] = OffsetAndMetadata(record.offset + 1, "", -1)
        if offsets:
            self._await_sends()
            consumer.commit(offsets)  # only after every outcome above is acknowledged
        return sum(len(r) for r in batches.values())

    def _process(self, record, handler: Handler) -> None:
        try:
            item = self._decode_retrying(record)
        except Exception as exc:  # noqa: BLE001 - undecodable records are parked, not fatal
            if is_transient(exc):
                raise  # nothing committed: the batch is redelivered once the registry answers
            self._park(record, exc)
            return
        self._emit(Outcome.for_item(item, OutcomeStatus.DELIVERED, self._clock()))
        self.stats.delivered += 1
        attempts = 0
        try:
            for attempt in Retrying(stop=stop_after_attempt(self.retry.attempts), reraise=True,
                                    wait=wait_exponential_jitter(multiplier=self.retry.initial_s,
                                                              max=self.retry.max_s,
                                                              jitter=self.retry.initial_s)):
                with attempt:
                    attempts = attempt.retry_state.attempt_number
                    result = handler(item)
        except Exception as exc:  # noqa: BLE001 - the handler's failure is reported, not raised
            self._park(record, exc)
            self._emit(Outcome.for_item(item, OutcomeStatus.FAILED, self._clock(),
                                        reason=f"{type(exc).__name__}: {exc}"[:2000], attempts=attempts))
            self.stats.failed += 1
            return
        self._emit(self._result_outcome(item, result, attempts))

    def _decode_retrying(self, record) -> WorkItem:
        # A registry that is briefly unreachable (or loses a response) is retried here, so a
        # good item is never parked for it.
        for attempt in Retrying(stop=stop_after_attempt(6), reraise=True,
                                retry=retry_if_exception(is_transient),
                                wait=wait_exponential_jitter(multiplier=0.5, max=10)):
            with attempt:
                return self._decode(record.value, record.topic)
        raise AssertionError("unreachable")  # pragma: no cover

    def _result_outcome(self, item: WorkItem, result, attempts: int) -> Outcome:
        if isinstance(result, Completed):
            self.stats.completed += 1
            return Outcome.for_item(item, OutcomeStatus.COMPLETED, self._clock(),
                                    reference=result.reference, attempts=attempts)
        if isinstance(result, Rejected):
            self.stats.rejected += 1
            return Outcome.for_item(item, OutcomeStatus.REJECTED, self._clock(),
                                    reason=result.reason, attempts=attempts)
        raise TypeError(f"handler returned {type(result).__name__}, not Completed or Rejected")

    def _emit(self, outcome: Outcome) -> None:
        topic = self.names.outcomes_of(self.department)  # this department's own: one writer per topic
        self._pending.append(self._kafka_producer().send(
            topic, key=outcome.case_id.encode(), value=self._encode_outcome(outcome, topic)))

    def _park(self, record, exc: Exception) -> None:
        log.warning("parking %s[%d]@%d: %s", record.topic, record.partition, record.offset, exc)
        letter = DeadLetter.of(stage=f"inbox:{self.department.value}", error=exc,
                               topic=record.topic, partition=record.partition,
                               offset=record.offset, key=record.key, value=record.value,
                               parked_at=self._clock())
        topic = self.names.dead_letters_of(self.department)  # its own: one writer per topic
        self._pending.append(self._kafka_producer().send(
            topic, key=record.key or b"", value=self._encode_letter(letter, topic)))
        self.stats.parked += 1

    def _await_sends(self) -> None:
        """Block until every send of the batch is acknowledged; a failed send raises."""
        producer = self._kafka_producer()
        producer.flush(timeout=self.settings.publish_timeout_s)
        pending, self._pending = self._pending, []
        for future in pending:
            future.get(timeout=self.settings.publish_timeout_s)

    def _kafka_consumer(self) -> KafkaConsumer:
        if self._consumer is None:
            self._consumer = self._clients.consumer(
                self.topic, group_id=self.group, auto_offset_reset="earliest",
                client_id=f"oncehub-inbox-{self.department.value.lower()}",
            )
        return self._consumer

    def _kafka_producer(self) -> KafkaProducer:
        if self._producer is None:
            self._producer = self._clients.producer(
                client_id=f"oncehub-inbox-{self.department.value.lower()}")
        return self._producer

    def close(self) -> None:
        if self._producer is not None:
            self._producer.flush(timeout=self.settings.publish_timeout_s)
            self._producer.close(timeout=5)
            self._producer = None
        if self._consumer is not None:
            self._consumer.close(autocommit=False)
            self._consumer = None
