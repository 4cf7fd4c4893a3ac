"""Kafka and the schema registry in memory: :class:`InMemoryClients`, a
:class:`~hub.kafka.clients.Clients` whose producers, consumers, admin client and registry need
no server.

It lets the hub's real Kafka adapters — the SQLite projections, the audit intake, the replay
sink to the inboxes — run in unit and contract tests the way they run on a cluster: records are
encoded in the registry's wire format, appended to partitions and read back by offset. It offers
what the hub uses of kafka-python (``send``/``flush``/``close``; ``assign``, ``seek``, ``poll``,
beginning and end offsets, offsets for times; listing and creating topics) and nothing more: no
consumer groups, no transactions, no retention. A keyed record goes to the partition Kafka's
default partitioner (murmur2 of the key) chooses, so a key lands where it would on a cluster.

``broker.refuse()`` makes every client fail as it fails when the cluster cannot be reached, with
kafka-python's own errors, so the hub's translation of them is exercised too;
``broker.restore()`` brings the cluster back. ``broker.fail_next("commit", CommitFailedError())``
makes just the next call of one consumer operation (``poll`` or ``commit``) fail with that error.
A consumer given a ``group_id`` starts where its group last committed (``commit``/``committed``);
there is no group membership, so no rebalance.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from confluent_kafka.schema_registry._sync.mock_schema_registry_client import MockSchemaRegistryClient
from kafka.errors import (
    IllegalStateError,
    KafkaConnectionError,
    KafkaError,
    KafkaTimeoutError,
    TopicAlreadyExistsError,
)
from kafka.producer.future import RecordMetadata
from kafka.structs import OffsetAndTimestamp, TopicPartition

from hub.config import HubSettings
from hub.kafka.clients import Clients
from hub.kafka.partitioner import partition_for

_MAX_POLL_RECORDS = 500  # kafka-python's default ``max_poll_records``


@dataclass(frozen=True)
class Record:
    """A record on a partition: the attributes of kafka-python's ``ConsumerRecord`` the hub reads."""

    topic: str
    partition: int
    offset: int
    timestamp: int  # milliseconds since the epoch
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]


class InMemoryBroker:
    """Topics of partitions of records, shared by every client of one :class:`InMemoryClients`."""

    def __init__(self, partitions: int = 3):
        self.partitions = partitions
        self._topics: dict[str, list[list[Record]]] = {}
        self._lock = threading.Lock()
        self._refusal: KafkaError | None = None
        self._sent = 0  # for spreading keyless records over partitions
        self._faults: dict[str, list[BaseException]] = {}  # operation -> errors for its next calls
        self.committed: dict[tuple[str, TopicPartition], int] = {}  # (group, partition) -> offset

    def fail_next(self, operation: str, error: BaseException, times: int = 1) -> None:
        """Make the next ``times`` calls of a consumer's ``operation`` ("poll", "commit") raise,
        or fail a producer's next ``times`` sends ("send")."""
        self._faults.setdefault(operation, []).extend([error] * times)

    def fault(self, operation: str) -> None:
        """Raise the refusal, or the next error injected for ``operation``."""
        self.check()
        with self._lock:
            errors = self._faults.get(operation)
            error = errors.pop(0) if errors else None
        if error is not None:
            raise error

    def refuse(self, cause: KafkaError | None = None) -> None:
        """Make every client call fail (by default as an unreachable cluster does)."""
        self._refusal = cause or KafkaConnectionError("the in-memory broker is unreachable")

    def restore(self) -> None:
        self._refusal = None

    def check(self) -> None:
        """Raise the refusal, if the broker was told to refuse."""
        if self._refusal is not None:
            raise self._refusal

    def create_topic(self, name: str, partitions: int | None = None) -> bool:
        """Create ``name``; False if it exists already."""
        self.check()
        with self._lock:
            if name in self._topics:
                return False
            self._topics[name] = [[] for _ in range(partitions or self.partitions)]
            return True

    def delete_topic(self, name: str) -> None:
        self.check()
        with self._lock:
            self._topics.pop(name, None)

    def topics(self) -> list[str]:
        self.check()
        with self._lock:
            return sorted(self._topics)

    def partition_count(self, topic: str) -> int | None:
        """How many partitions ``topic`` has (None: no such topic)."""
        self.check()
        with self._lock:
            partitions = self._topics.get(topic)
            return None if partitions is None else len(partitions)

    def append(self, topic: str, key: bytes | None, value: bytes | None,
               headers: Iterable[tuple[str, bytes]] = (), partition: int | None = None,
               timestamp_ms: int | None = None) -> Record:
        """Write one record; a topic that does not exist is an error, as with topic auto-creation
        off (a real producer times out waiting for its metadata)."""
        self.check()
        with self._lock:
            partitions = self._topics.get(topic)
            if partitions is None:
                raise KafkaTimeoutError(f"topic {topic!r} not present in metadata")
            if partition is None:
                partition = (partition_for(key, len(partitions)) if key is not None
                             else self._sent % len(partitions))
            self._sent += 1
            log = partitions[partition]
            stamp = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
            record = Record(topic, partition, len(log), stamp, key, value, list(headers))
            log.append(record)
            return record

    def read(self, tp: TopicPartition, offset: int, limit: int) -> list[Record]:
        self.check()
        with self._lock:
            return self._log(tp)[offset:offset + limit]

    def end(self, tp: TopicPartition) -> int:
        """The offset the next record of ``tp`` gets (its high-water mark)."""
        self.check()
        with self._lock:
            return len(self._log(tp))

    def records(self, topic: str) -> list[Record]:
        """Every record of ``topic``, partition by partition, each in offset order."""
        with self._lock:
            return [r for log in self._topics.get(topic, []) for r in log]

    def _log(self, tp: TopicPartition) -> list[Record]:
        partitions = self._topics.get(tp.topic)
        return partitions[tp.partition] if partitions else []


class _Sent:
    """What ``send`` returns: ``get()`` gives the record's metadata or raises why it failed."""

    def __init__(self, record: Record | None = None, error: KafkaError | None = None):
        self.record, self.error = record, error

    def get(self, timeout: float | None = None) -> RecordMetadata:
        if self.error is not None:
            raise self.error
        r = self.record
        return RecordMetadata(r.topic, r.partition, TopicPartition(r.topic, r.partition), r.offset,
                              r.timestamp, None, len(r.key or b""), len(r.value or b""), -1)

    def succeeded(self) -> bool:
        return self.error is None

    def failed(self) -> bool:
        return self.error is not None


class InMemoryProducer:
    """A producer whose every record is acknowledged at once, or fails on ``get()`` while the
    broker refuses (as a real one fails once its delivery timeout passes)."""

    def __init__(self, broker: InMemoryBroker):
        self._broker = broker
        self.closed = False

    def send(self, topic: str, value: bytes | None = None, key: bytes | None = None,
             headers: Iterable[tuple[str, bytes]] | None = None, partition: int | None = None,
             timestamp_ms: int | None = None) -> _Sent:
        if self.closed:
            raise IllegalStateError("cannot send after the producer is closed")
        try:
            self._broker.fault("send")  # an error injected with fail_next("send", …)
            return _Sent(self._broker.append(topic, key, value, headers or (), partition, timestamp_ms))
        except KafkaError as exc:
            return _Sent(error=exc)

    def flush(self, timeout: float | None = None) -> None:
        """Nothing waits: every record was written when it was sent."""

    def close(self, timeout: float | None = None) -> None:
        self.closed = True


class InMemoryConsumer:
    """A consumer of assigned partitions (no group): ``assign``, ``seek``, ``poll`` by offset."""

    def __init__(self, broker: InMemoryBroker, *topics: str, auto_offset_reset: str = "latest",
                 group_id: str | None = None, **config):
        broker.check()
        self._broker = broker
        self._group = group_id
        self._reset = auto_offset_reset
        self._positions: dict[TopicPartition, int] = {}
        self._assigned: list[TopicPartition] = []
        self.closed = False
        if topics:
            self.assign([TopicPartition(t, p) for t in topics
                         for p in sorted(self.partitions_for_topic(t) or ())])

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        count = self._broker.partition_count(topic)
        return None if count is None else set(range(count))

    def topics(self) -> set[str]:
        return set(self._broker.topics())

    def assign(self, partitions: Iterable[TopicPartition]) -> None:
        self._assigned = list(dict.fromkeys(partitions))
        self._positions = {tp: o for tp, o in self._positions.items() if tp in self._assigned}

    def assignment(self) -> set[TopicPartition]:
        return set(self._assigned)

    def position(self, tp: TopicPartition) -> int:
        if tp not in self._positions:  # the group's committed offset, else ``auto_offset_reset``
            committed = self.committed(tp)
            self._positions[tp] = (committed if committed is not None
                                   else 0 if self._reset == "earliest" else self._broker.end(tp))
        return self._positions[tp]

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self._positions[tp] = offset

    def seek_to_beginning(self, *partitions: TopicPartition) -> None:
        for tp in partitions or self._assigned:
            self._positions[tp] = 0

    def seek_to_end(self, *partitions: TopicPartition) -> None:
        for tp in partitions or self._assigned:
            self._positions[tp] = self._broker.end(tp)

    def beginning_offsets(self, partitions: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
        self._broker.check()
        return {tp: 0 for tp in partitions}

    def end_offsets(self, partitions: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: self._broker.end(tp) for tp in partitions}

    def offsets_for_times(self, timestamps: dict[TopicPartition, int]
                          ) -> dict[TopicPartition, OffsetAndTimestamp | None]:
        """The first record at or after each time (None where there is none)."""
        found = {}
        for tp, at in timestamps.items():
            first = next((r for r in self._broker.read(tp, 0, self._broker.end(tp))
                          if r.timestamp >= at), None)
            found[tp] = OffsetAndTimestamp(first.offset, first.timestamp, -1) if first else None
        return found

    def poll(self, timeout_ms: int = 0, max_records: int | None = None,
             update_offsets: bool = True) -> dict[TopicPartition, list[Record]]:
        """Records from each assigned partition's position, partitions in name order."""
        self._broker.fault("poll")
        budget = max_records or _MAX_POLL_RECORDS
        polled: dict[TopicPartition, list[Record]] = {}
        for tp in sorted(self._assigned):
            if budget <= 0:
                break
            records = self._broker.read(tp, self.position(tp), budget)
            if records:
                polled[tp] = records
                budget -= len(records)
                if update_offsets:
                    self._positions[tp] += len(records)
        if not polled:  # a real poll waits up to its timeout for records: do not spin a caller
            time.sleep(min(timeout_ms, 10) / 1000)
        return polled

    def commit(self, offsets: dict | None = None) -> None:
        """Record the group's offsets (``offsets``: partition -> OffsetAndMetadata; default: the
        current positions)."""
        self._broker.fault("commit")
        if self._group is None:
            raise IllegalStateError("commit needs a group_id")
        chosen = ({tp: meta.offset for tp, meta in offsets.items()} if offsets is not None
                  else dict(self._positions))
        for tp, offset in chosen.items():
            self._broker.committed[(self._group, tp)] = offset

    def committed(self, tp: TopicPartition) -> int | None:
        return None if self._group is None else self._broker.committed.get((self._group, tp))

    def close(self, autocommit: bool = True, timeout_ms: int | None = None) -> None:
        self.closed = True


class InMemoryAdmin:
    """Topic administration on the in-memory broker."""

    def __init__(self, broker: InMemoryBroker):
        broker.check()
        self._broker = broker

    def list_topics(self) -> list[str]:
        return self._broker.topics()

    def create_topics(self, new_topics: Iterable, **config) -> None:
        for topic in new_topics:
            if not self._broker.create_topic(topic.name, topic.num_partitions):
                raise TopicAlreadyExistsError(f"topic {topic.name!r} already exists")

    def delete_topics(self, topics: Iterable[str], **config) -> None:
        for name in topics:
            self._broker.delete_topic(name)

    def close(self) -> None:
        """Nothing to release."""


class InMemoryRegistry(MockSchemaRegistryClient):
    """confluent-kafka's in-memory registry, plus the compatibility-level calls the hub makes
    (recorded, not enforced: ``hub.schema_registry`` checks evolution itself before registering)."""

    def __init__(self) -> None:
        super().__init__({"url": "mock://in-memory"})
        self.levels: dict[str | None, str | None] = {}

    def set_compatibility(self, subject_name: str | None = None, level: str | None = None) -> str | None:
        self.levels[subject_name] = level
        return level

    def get_compatibility(self, subject_name: str | None = None) -> str | None:
        return self.levels.get(subject_name, self.levels.get(None, "BACKWARD"))


class InMemoryClients(Clients):
    """:class:`~hub.kafka.clients.Clients` on an :class:`InMemoryBroker` and an
    :class:`InMemoryRegistry`: hand it to any component that takes ``clients``.

    ``provisioned()`` builds one with every topic of its prefix created and every schema
    registered, as ``provision_catalogue`` does on a real cluster."""

    def __init__(self, settings: HubSettings | None = None, broker: InMemoryBroker | None = None):
        super().__init__(settings or HubSettings(topic_prefix="memory"))
        self.broker = broker or InMemoryBroker(self.settings.topic_partitions)
        self._registry = InMemoryRegistry()

    @classmethod
    def provisioned(cls, settings: HubSettings | None = None) -> "InMemoryClients":
        from hub.schema_registry.provisioning import provision_catalogue

        clients = cls(settings)
        provision_catalogue(clients)
        return clients

    def producer(self, *, client_id: str = "oncehub-publisher", linger_ms: int | None = None
                 ) -> InMemoryProducer:
        return self._track(InMemoryProducer(self.broker))

    def consumer(self, *topics: str, **config) -> InMemoryConsumer:
        return self._track(InMemoryConsumer(self.broker, *topics, **config))

    def admin(self, client_id: str = "oncehub-admin", **config) -> InMemoryAdmin:
        return self._track(InMemoryAdmin(self.broker))
