"""The hub's side of people's keys: read them from Kafka, open events with them.

A :class:`KeyFeed` keeps a :class:`~hub.security.person_keys.KeyRing` filled from the key topics
(the hub's compacted ``<prefix>.subject-keys`` and every department's intake) and opens the
protected fields of the events the process decodes (``reveal``, the deserializer's hook). Its
consumer joins no group: every process reads every key. A key it does not hold yet is read for
at once: a publisher writes a person's key, and waits for it to be durable, before the event
that uses it, so reading the key topics to their current end finds it — or it is not there to
find (erased, or never published). A key already held is used for at most ``refresh_s`` (5 s)
after the last read of the topics: then they are read again, tombstones included, so an erased
key stops opening fields within seconds in every running process.

The router's feed also copies what it reads on the intakes to the hub's topic (``copy_intakes``):
the intakes keep a key one day, the hub's topic as long as the person's fields are kept. Several
routers copy the same records: the topic is compacted by key id, so the copies are one.

An erased key is a tombstone on the hub's topic, while the intake may still hold the key for up
to a day: the feed remembers every tombstone it reads, never takes such a key again, and copies
only at the end of a read, leaving out keys whose tombstone came later in the same read — so an
erasure is not undone by the intake's copy, whichever of the two it reads first.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from kafka import KafkaConsumer, KafkaProducer

from hub.errors import HubError
from hub.kafka.clients import Clients
from hub.kafka.failures import unavailable_as_hub_error
from hub.kafka.log_reader import assign_all, assign_from_start, drain
from hub.kafka.topic_names import TopicNames
from hub.security.master_key import master_key
from hub.security.person_keys import KeyRecord, KeyRing
from hub.security.shredding import Undecryptable, reveal_record
from hub.wire.serde import record_deserializer

log = logging.getLogger(__name__)

FOLLOW_POLL_MS = 500  # a long poll: the broker answers as soon as a key is written
FOLLOW_FIRST_DELAY_S, FOLLOW_MAX_DELAY_S = 1.0, 30.0
FOLLOW_START_WAIT_S = 5.0


class FieldsUnopened(HubError):
    """An event names a person's key that the key topics do not hold (erased, or never published)."""


class KeyFeed:
    """People's keys for one process of the hub (it must hold the master key's private half)."""

    def __init__(self, clients: Clients, copy_intakes: bool = False, refresh_s: float = 5.0,
                 monotonic: Callable[[], float] = time.monotonic):
        self._clients = clients
        self._names = TopicNames(clients.settings.topic_prefix)
        self._ring = KeyRing(master_key(clients.settings).private_key)
        self._decode = record_deserializer(clients.registry, "SubjectKey", KeyRecord.from_avro)
        self._copy = copy_intakes
        self._consumer: KafkaConsumer | None = None
        self._producer: KafkaProducer | None = None
        self._lock = threading.Lock()  # one reader of the topics at a time; lookups are lock-free
        self._erased: set[str] = set()  # key ids tombstoned: never taken (or copied) again
        self._foreign: set[str] = set()  # key ids wrapped to another master key (a misconfiguration)
        # A key held in memory is used at most this long after its tombstone was written.
        self._refresh_s, self._now = refresh_s, monotonic
        self._read_at: float | None = None
        self._follower: threading.Thread | None = None
        self._closed = threading.Event()
        self._following = threading.Event()  # the follower's start positions are fixed

    @property
    def topics(self) -> list[str]:
        return [self._names.subject_keys, *self._names.all_key_intakes()]

    def private_key(self, key_id: str) -> bytes | None:
        """The private key of ``key_id``, reading the key topics to their end if it is not held
        yet; None if they do not have it."""
        stale = self._read_at is None or self._now() - self._read_at >= self._refresh_s
        key = None if stale else self._ring.private_key(key_id)
        if key is None:
            self.catch_up()
            key = self._ring.private_key(key_id)
        return key

    def reveal(self, record: dict[str, Any]) -> dict[str, Any]:
        """A decoded event record with its people's fields opened (the deserializer's hook);
        :class:`FieldsUnopened` if a person's key is gone (the router parks such an event)."""
        revealed, erased = self.open(record)
        if erased:
            raise FieldsUnopened(f"the fields of {', '.join(erased)} cannot be opened: their key is "
                                 "not on the key topics (erased, or never published)")
        return revealed

    def open(self, record: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """A decoded event record with the fields of every person whose key is there opened, and
        the roles of those whose key is gone (erased): what views show as erased. A key wrapped
        to another master key is a misconfiguration, never read as an erasure."""
        revealed, unopened = reveal_record(record, self.private_key)
        if unopened:
            blocks = record["envelope"]["protected"]
            if any(b["key_id"] in self._foreign for b in blocks if b["role"] in unopened):
                raise FieldsUnopened(
                    f"the fields of {', '.join(unopened)} cannot be opened: their key was wrapped to "
                    "another master key than this hub's (give the publisher this hub's "
                    "HUB_MASTER_PUBLIC_KEY_FILE: `hub keys init` names it)")
        return revealed, unopened

    def keys_of(self, subject_id: str) -> frozenset[str]:
        """The key ids of a person, the key topics read to their current end (what an erasure
        tombstones)."""
        self.catch_up()
        return self._ring.keys_of(subject_id)

    def erase(self, key_ids: frozenset[str]) -> None:
        """Tombstone ``key_ids`` on the hub's key topic; returns once the broker has them all.
        Only the operator may write there: every process reading the topics drops the keys
        within ``refresh_s``, and compaction removes them within a day."""
        timeout = self._clients.settings.publish_timeout_s
        with unavailable_as_hub_error("the keys' tombstones could not be written"):
            producer = self._hub_producer()
            sent = [producer.send(self._names.subject_keys, key=key_id.encode(), value=None)
                    for key_id in sorted(key_ids)]
            for future in sent:
                future.get(timeout=timeout)
        with self._lock:
            for key_id in key_ids:
                self._ring.remove(key_id)
                self._erased.add(key_id)

    def follow(self) -> "KeyFeed":
        """Read the key topics continuously on a thread of its own, from their current end, so a
        new person's key is usually held before the event that names it is decoded (a reading
        on demand cost 18 ms p50, 33 ms p90 per new person on the dev stack: the router's share
        of end-to-end latency). Lookups still read on demand when a key is missing, and every
        ``refresh_s`` as before: following only makes keys arrive sooner."""
        if self._follower is None:
            self._follower = threading.Thread(target=self._follow, name="key-feed-follower", daemon=True)
            self._follower.start()
            # Its start is fixed at the topics' ends *now* (not at its first fetch, which may come
            # after the next keys are written): every key is read by the first reading on demand
            # or by the follower. Not waited for long: with Kafka down, lookups read on demand.
            self._following.wait(FOLLOW_START_WAIT_S)
        return self

    def _follow(self) -> None:
        consumer, delay = None, FOLLOW_FIRST_DELAY_S
        while not self._closed.is_set():
            try:
                if consumer is None:
                    consumer = self._clients.consumer(client_id="oncehub-key-follower")
                    partitions = assign_all(consumer, self.topics, "following people's keys")
                    for partition, end in consumer.end_offsets(partitions).items():
                        consumer.seek(partition, end)
                    self._following.set()
                batches = consumer.poll(timeout_ms=FOLLOW_POLL_MS)
                records = [rec for recs in batches.values() for rec in recs]
                if records:
                    with self._lock:
                        self._take_all(records)
                delay = FOLLOW_FIRST_DELAY_S
            except Exception as exc:  # noqa: BLE001 - following is an optimisation: lookups still read
                if self._closed.is_set():
                    break
                log.warning("following the key topics failed (%s); lookups read them on demand; "
                            "retrying in %.0fs", type(exc).__name__, delay)
                if consumer is not None:
                    self._close_quietly(consumer)
                    consumer = None
                self._closed.wait(delay)
                delay = min(delay * 2, FOLLOW_MAX_DELAY_S)
        if consumer is not None:
            self._close_quietly(consumer)

    @staticmethod
    def _close_quietly(consumer: KafkaConsumer) -> None:
        try:
            consumer.close(autocommit=False)
        except Exception as exc:  # noqa: BLE001 - it is being thrown away
            log.debug("closing the key follower's consumer: %s", exc)

    def catch_up(self) -> int:
        """Read the key topics to their current end; the number of records read."""
        with self._lock:
            if self._consumer is None:
                self._consumer = self._clients.consumer(client_id="oncehub-key-feed")
                assign_from_start(self._consumer, self.topics, "reading people's keys")
            self._read_at = self._now()
            return self._take_all(drain(self._consumer, poll_ms=200))

    def _take_all(self, records) -> int:
        """Take ``records`` into the ring (the caller holds the lock), then copy the intakes'
        new keys to the hub's topic, leaving out any tombstoned in the same read."""
        count, to_copy = 0, {}
        for rec in records:
            if self._take(rec) and self._copy and rec.topic != self._names.subject_keys:
                to_copy[rec.key] = rec.value
            count += 1
        self._copy_to_hub({k: v for k, v in to_copy.items() if k.decode() not in self._erased})
        return count

    def _take(self, rec) -> bool:
        """Take one key record into the ring; whether it was a key taken."""
        key_id = rec.key.decode() if rec.key is not None else ""
        if rec.value is None:
            self._ring.remove(key_id)
            self._erased.add(key_id)
            return False
        if key_id in self._erased:
            return False  # an intake's copy of an erased key
        if self._ring.private_key(key_id) is not None:
            # Held already (read by the other reader, or the hub's copy of an intake's key): a key
            # id names one key for good, so it is not unwrapped again, nor copied again.
            return False
        try:
            self._ring.add(self._decode(rec.value, rec.topic))
        except Undecryptable:
            # Wrapped to another master key, or altered: it opens nothing here. No content logged.
            self._foreign.add(key_id)
            log.warning("a key record on %s[%d]@%d does not open with this hub's master key; skipped",
                        rec.topic, rec.partition, rec.offset)
            return False
        return True

    def _copy_to_hub(self, records: dict[bytes, bytes]) -> None:
        if not records:
            return
        producer = self._hub_producer()
        for key, value in records.items():
            producer.send(self._names.subject_keys, key=key, value=value)
        producer.flush(timeout=self._clients.settings.publish_timeout_s)

    def _hub_producer(self) -> KafkaProducer:
        """The one producer this feed writes the hub's key topic with (copies, tombstones)."""
        if self._producer is None:
            self._producer = self._clients.producer(client_id="oncehub-key-writer")
        return self._producer

    def close(self) -> None:
        self._closed.set()
        if self._follower is not None:
            self._follower.join(timeout=FOLLOW_POLL_MS / 1000 + 5)
        with self._lock:
            for client in (self._consumer, self._producer):
                if client is not None:
                    client.close()
            self._consumer = self._producer = None
