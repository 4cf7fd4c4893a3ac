"""The inbox SDK: how an agency (or an adapter) consumes its department's work items.

    inbox = Inbox(Department.TAX, settings)
    inbox.run(handler, stop=lambda: done.is_set())

For every work item: a DELIVERED outcome; the handler, retried with exponential backoff and
jitter when it raises; then COMPLETED (with the agency's reference) or REJECTED (with the
reason). A handler that keeps failing has its item parked on the dead-letter topic with the
error, and a FAILED outcome — never silently dropped. A record that cannot even be decoded is
parked the same way. Offsets are committed only after the batch's outcomes and dead letters are
acknowledged by Kafka, so a crash redelivers rather than loses; handlers are idempotent by item
id, so a redelivery is harmless. A handler with a batch form (``handle_many``, as the SQL
adapter and the reference agencies have) is given a poll's items in one call — one transaction
instead of one per item — and falls back to the one-item path if that call fails.

Kafka failing is not the end of an inbox: a timeout, a commit refused because the group
rebalanced, a broker or coordinator that cannot be reached (and the registry being unreachable)
are waited out — logged, the clients closed, a capped exponential backoff, then the inbox starts
again from the group's committed offsets. The batch in flight may be redelivered; its items are
applied once by item id. Only an error that waiting cannot fix (the broker refusing this
department's credentials or rights, a handler returning nonsense) leaves :meth:`Inbox.run`.

One poll's records are handled within a time budget well below the consumer's
``max.poll.interval.ms`` (see :meth:`Inbox.poll_once`), so a slow or unreachable agency cannot
make the consumer miss its poll deadline, lose its partitions, fail its commit and be handed the
same batch again, round after round.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from kafka import KafkaConsumer, KafkaProducer, OffsetAndMetadata
from kafka.errors import AuthorizationError, KafkaError, SaslAuthenticationFailedError
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from hub.observability import metrics
from hub.config import HubSettings
from hub.domain.dead_letters import DeadLetter
from hub.domain.departments import Department
from hub.domain.outcomes import Completed, Handler, Outcome, OutcomeStatus, Rejected
from hub.domain.redaction import described, error_text
from hub.domain.routing import WorkItem
from hub.errors import caused_by
from hub.kafka.clients import Clients
from hub.kafka.failures import is_transient
from hub.kafka.topic_names import TopicNames
from hub.security.principals import department_principal
from hub.wire.serde import model_deserializer, model_serializer

log = logging.getLogger(__name__)

# kafka-python's default; set explicitly on the inbox's consumer because the batch budget below
# is derived from it.
MAX_POLL_INTERVAL_MS = 300_000
# Records per poll. Each poll's outcomes are flushed and its offsets committed synchronously, and
# a batch-capable handler pays one transaction per poll: 20 (the first setting) made those
# per-poll costs the inbox's limit (bench/inbox_bench.py). The time budget still bounds a poll.
MAX_RECORDS = 500


def is_transient_failure(exc: BaseException) -> bool:
    """True if waiting may cure ``exc``: the registry unreachable, or any Kafka error (timeouts,
    a commit refused after a rebalance, brokers or the group coordinator unreachable) except
    the broker refusing our credentials or rights, which needs an operator."""
    if is_transient(exc):
        return True
    if caused_by(exc, (AuthorizationError, SaslAuthenticationFailedError)):
        return False
    return caused_by(exc, (KafkaError,))


PARKED = "parked"  # in a batch's tally beside the outcome statuses: dead letters written


class _OutOfTime(Exception):
    """The batch's time budget ran out while an item was still being retried."""


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
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
                 max_records: int = MAX_RECORDS, max_poll_interval_ms: int = MAX_POLL_INTERVAL_MS,
                 batch_budget_s: float | None = None,
                 reconnect_initial_s: float = 1.0, reconnect_max_s: float = 5.0,
                 monotonic: Callable[[], float] = time.monotonic):
        """``clients``: where the Kafka and registry clients come from; if not given, built from
        ``settings`` as the department's own principal (unless the settings name one): the
        broker, not this class, decides what the department may read and write.

        ``batch_budget_s`` (default: a third of ``max_poll_interval_ms``) bounds the time spent
        on one poll's records, at most ``max_records`` of them; ``reconnect_*`` the backoff
        after a Kafka or registry failure."""
        self.department = department
        self._clients = clients or Clients(
            (settings or HubSettings()).for_service(department_principal(department)))
        self.settings = settings = self._clients.settings
        self.names = TopicNames(settings.topic_prefix)
        self.topic = self.names.inbox(department)
        self.group = group or f"{settings.topic_prefix}.agency.{department.value.lower()}"
        self.retry, self._clock = retry, clock
        self.max_records, self.max_poll_interval_ms = max_records, max_poll_interval_ms
        self.batch_budget_s = (max_poll_interval_ms / 3000 if batch_budget_s is None
                               else batch_budget_s)
        self.reconnect_initial_s, self.reconnect_max_s = reconnect_initial_s, reconnect_max_s
        self._monotonic = monotonic
        # Items begun but not finished (DELIVERED sent): item id -> handler attempts so far, so
        # an item put back when a batch's budget runs out resumes its count after the next poll.
        self._tries: dict[str, int] = {}
        self.stats = InboxStats()
        registry = self._clients.registry
        self._decode = model_deserializer(registry, "WorkItem", WorkItem)
        self._encode_outcome = model_serializer(registry, "Outcome")
        self._encode_letter = model_serializer(registry, "DeadLetter")
        self._consumer: KafkaConsumer | None = None
        self._producer: KafkaProducer | None = None
        self._pending: list = []  # send futures of the current batch
        self._reported: Counter[str] = Counter()  # the current batch's outcomes by status

    def run(self, handler: Handler, stop: Callable[[], bool] = lambda: False,
            poll_ms: int = 500) -> InboxStats:
        """Process items until ``stop()`` is true; returns the counts. Kafka and registry
        failures are waited out (see the module's docstring); other errors are raised."""
        failures = 0
        try:
            while not stop():
                try:
                    self.poll_once(handler, poll_ms)
                    if failures:
                        log.warning("inbox %s: Kafka answers again, consuming after %d failure(s)",
                                    self.department.value, failures)
                    failures = 0
                except Exception as exc:
                    if not is_transient_failure(exc):
                        raise
                    failures += 1
                    delay = min(self.reconnect_max_s, self.reconnect_initial_s * 2 ** (failures - 1))
                    # Kafka's and the registry's messages name brokers, topics and groups, never
                    # an item's data.
                    log.warning("inbox %s: %s: %s; starting again from the committed offsets in "
                                "%.1fs (failure %d in a row)", self.department.value,
                                type(exc).__name__, error_text(exc, 300), delay, failures)
                    self._close_quietly()
                    self._wait(delay, stop)
        finally:
            self._close_quietly()
        return self.stats

    def _wait(self, seconds: float, stop: Callable[[], bool]) -> None:
        deadline = self._monotonic() + seconds
        while not stop() and (left := deadline - self._monotonic()) > 0:
            time.sleep(min(left, 0.2))

    def poll_once(self, handler: Handler, poll_ms: int = 500) -> int:
        """One batch: process, make outcomes durable, then commit. Returns records processed.

        Why a time budget: if the consumer does not poll again within ``max.poll.interval.ms``
        it leaves the group, its commit is refused and the whole batch is redelivered — with
        retries stacking (the inbox's attempts × a webhook's own attempts × the records of a
        poll) that happened every round while an agency was slow. So at most ``max_records``
        are fetched and, once ``batch_budget_s`` (a third of the interval) is spent, no further
        record or handler attempt is begun: what was handled is committed and the consumer is
        sought back to the first record that was not, which the next poll fetches again. An
        item interrupted between attempts keeps its attempt count, so it is still parked after
        ``RetryPolicy.attempts`` in all and a batch cannot repeat forever. The remaining two
        thirds of the interval cover the one handler call in flight when the budget runs out
        (the webhook adapter bounds its own retries by ``max_elapsed_s``) and the wait for
        the outcomes' acknowledgements. Pausing the partitions while an agency is down would
        also work, but needs the retry state kept across polls for every item; this needs it
        only for the one interrupted item."""
        consumer = self._kafka_consumer()
        batches = consumer.poll(timeout_ms=poll_ms, max_records=self.max_records)
        deadline = self._monotonic() + self.batch_budget_s
        offsets, handled = {}, 0
        for tp, records in batches.items():
            done = self._process_partition(records, handler, deadline)
            if done:
                offsets[tp] = OffsetAndMetadata(records[done - 1].offset + 1, "", -1)
                handled += done
            if done < len(records):
                consumer.seek(tp, records[done].offset)  # fetched again by the next poll
        if offsets:
            self._await_sends()
            consumer.commit(offsets)  # only after every outcome above is acknowledged
            for status, n in self._reported.items():
                if status == PARKED:
                    metrics.DEAD_LETTERS.labels(f"inbox:{self.department.value}").inc(n)
                else:
                    metrics.OUTCOMES_REPORTED.labels(self.department.value, status).inc(n)
        self._reported.clear()
        return handled

    def _process_partition(self, records: list, handler: Handler, deadline: float) -> int:
        """Handle one partition's records in order; returns how many were finished from the
        first (fewer than all when the batch's time budget ran out).

        Every item is decoded and reported DELIVERED first; then a handler with a batch form
        (:class:`~hub.domain.outcomes.BatchHandler`) is given them all at once, and whatever
        is not finished that way goes through the one-item path with its retries."""
        decoded = [self._decoded(record) for record in records]  # None: parked
        for item in decoded:
            if item is not None:
                self._deliver(item)
        finished = self._handle_together([item for item in decoded if item is not None],
                                         handler, deadline)
        for done, (record, item) in enumerate(zip(records, decoded)):
            if item is None or id(item) in finished:
                continue
            try:
                if self._monotonic() >= deadline:
                    raise _OutOfTime()
                self._handle_one(record, item, handler, deadline)
            except _OutOfTime:
                return done
        return len(records)

    def _decoded(self, record) -> WorkItem | None:
        """The record's item, or None once an undecodable record is parked."""
        try:
            return self._decode_retrying(record)
        except Exception as exc:  # noqa: BLE001 - undecodable records are parked, not fatal
            if is_transient(exc):
                raise  # nothing committed: the batch is redelivered once the registry answers
            self._park(record, exc)
            return None

    def _deliver(self, item: WorkItem) -> None:
        if item.item_id not in self._tries:
            self._emit(Outcome.for_item(item, OutcomeStatus.DELIVERED, self._clock()))
            self.stats.delivered += 1
            self._tries[item.item_id] = 0

    def _handle_together(self, items: list[WorkItem], handler: Handler, deadline: float) -> set[int]:
        """Give ``items`` to the handler's batch form, if it has one: one call, so an agency
        pays one transaction (one disk sync) per poll instead of one per item. All or nothing:
        if it raises, nothing is reported and every item takes the one-item path with its full
        retries (so the batch call is one extra try, not counted in ``attempts``). Returns the
        finished items (by identity: an item redelivered within one poll appears twice)."""
        handle_many = getattr(handler, "handle_many", None)
        if handle_many is None or len(items) < 2 or self._monotonic() >= deadline:
            return set()
        try:
            with metrics.HANDLER_SECONDS.labels(self.department.value).time():
                results = handle_many(items)
            if len(results) != len(items):
                raise TypeError(f"handle_many returned {len(results)} results for {len(items)} items")
        except Exception as exc:  # noqa: BLE001 - one by one, with retries, decides each item
            log.warning("inbox %s: a batch of %d items failed (%s: %s); handling them one by one",
                        self.department.value, len(items), type(exc).__name__, error_text(exc, 300))
            return set()
        for item, result in zip(items, results, strict=True):
            attempts = self._tries.pop(item.item_id, 0) + 1
            self._emit(self._result_outcome(item, result, attempts))
        return {id(item) for item in items}

    def _handle_one(self, record, item: WorkItem, handler: Handler, deadline: float) -> None:
        """The handler on one item, retried with backoff; parked and FAILED after
        ``retry.attempts``, :class:`_OutOfTime` if the budget ends first."""
        attempts = self._tries.get(item.item_id, 0)

        def give_up(state) -> bool:
            return (attempts + state.attempt_number >= self.retry.attempts
                    or self._monotonic() >= deadline)

        try:
            for attempt in Retrying(stop=give_up, reraise=True,
                                    wait=wait_exponential_jitter(multiplier=self.retry.initial_s,
                                                              max=self.retry.max_s,
                                                              jitter=self.retry.initial_s)):
                with attempt:
                    self._tries[item.item_id] = attempts + attempt.retry_state.attempt_number
                    with metrics.HANDLER_SECONDS.labels(self.department.value).time():
                        result = handler(item)
        except Exception as exc:  # noqa: BLE001 - the handler's failure is reported, not raised
            tries = self._tries[item.item_id]
            if tries < self.retry.attempts:  # out of time, not out of attempts: put back
                raise _OutOfTime() from exc
            self._park(record, exc)
            self._emit(Outcome.for_item(item, OutcomeStatus.FAILED, self._clock(),
                                        reason=described(exc), attempts=tries))
            self.stats.failed += 1
            del self._tries[item.item_id]
            return
        self._emit(self._result_outcome(item, result, self._tries.pop(item.item_id)))

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
        self._reported[outcome.status.value] += 1  # counted in the metrics once committed
        topic = self.names.outcomes_of(self.department)  # this department's own: one writer per topic
        self._pending.append(self._kafka_producer().send(
            topic, key=outcome.case_id.encode(), value=self._encode_outcome(outcome, topic)))

    def _park(self, record, exc: Exception) -> None:
        log.warning("parking %s[%d]@%d: %s", record.topic, record.partition, record.offset, error_text(exc))
        letter = DeadLetter.of(stage=f"inbox:{self.department.value}", error=exc,
                               topic=record.topic, partition=record.partition,
                               offset=record.offset, parked_at=self._clock())
        topic = self.names.dead_letters_of(self.department)  # its own: one writer per topic
        self._pending.append(self._kafka_producer().send(
            topic, key=letter.dead_letter_id.encode(), value=self._encode_letter(letter, topic)))
        self.stats.parked += 1
        self._reported[PARKED] += 1

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
                max_poll_records=self.max_records, max_poll_interval_ms=self.max_poll_interval_ms,
            )
        return self._consumer

    def _kafka_producer(self) -> KafkaProducer:
        if self._producer is None:
            self._producer = self._clients.producer(
                client_id=f"oncehub-inbox-{self.department.value.lower()}")
        return self._producer

    def _close_quietly(self) -> None:
        """Close both clients even while Kafka is down; the batch's unsent work is dropped (it
        was not committed, so it is redelivered, DELIVERED again included)."""
        self._pending, self._tries = [], {}
        self._reported.clear()
        try:
            self.close(wait=False)
        except Exception as exc:  # noqa: BLE001 - closing after a failure must not fail again
            log.warning("inbox %s: closing its clients failed (%s)", self.department.value,
                        type(exc).__name__)

    def close(self, wait: bool = True) -> None:
        """Close both clients; ``wait=False`` (after a failure) sends nothing more and gives the
        group a moment to hear that the consumer leaves. Flushing then is pointless — the batch is
        redelivered anyway — and, with the broker down, took the flush's and the close's timeouts
        (15 s; seen in the single-broker kill drill) before the inbox even began its backoff, so
        it came back that much later than the broker."""
        producer, consumer = self._producer, self._consumer
        self._producer = self._consumer = None
        try:
            if producer is not None:
                try:
                    if wait:
                        producer.flush(timeout=self.settings.publish_timeout_s)
                finally:
                    producer.close(timeout=5 if wait else 0)
        finally:
            if consumer is not None:
                consumer.close(autocommit=False, timeout_ms=None if wait else 2_000)
