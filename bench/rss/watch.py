"""How far the router got, read from Kafka: its group's committed offsets on the event topics,
the topics' end offsets, the dead letters, and one event's routing decision."""

from __future__ import annotations

import time

from kafka import TopicPartition
from kafka.errors import KafkaError

from hub.kafka.clients import Clients
from hub.kafka.log_reader import partitions_of
from hub.kafka.topic_names import TopicNames


class RouterWatch:
    """Long-lived clients, cheap to ask every second."""

    def __init__(self, clients: Clients):
        prefix = clients.settings.topic_prefix
        self.names = TopicNames(prefix)
        self.group = f"{prefix}-router"  # the faust app id
        self._consumer = clients.consumer()
        self._admin = clients.admin(client_id="oncehub-bench-rss")
        self._events = partitions_of(self._consumer, self.names.all_events())
        self._dlq = partitions_of(self._consumer, [self.names.dead_letters])
        self._routing = partitions_of(self._consumer, [self.names.routing_log])

    def committed(self) -> int | None:
        """Event records the router has committed, summed; None while the coordinator can't say."""
        try:
            offsets = self._admin.list_group_offsets(self.group).get(self.group, {})
        except KafkaError:
            return None
        return sum(meta.offset for tp, meta in offsets.items()
                   if ".events." in tp.topic and meta.offset > 0)

    def committed_by_partition(self) -> dict[TopicPartition, int]:
        try:
            offsets = self._admin.list_group_offsets(self.group).get(self.group, {})
        except KafkaError:
            return {}
        return {tp: meta.offset for tp, meta in offsets.items() if ".events." in tp.topic}

    def event_ends(self) -> dict[TopicPartition, int]:
        return self._consumer.end_offsets(self._events)

    def dead_letters(self) -> int:
        return sum(self._consumer.end_offsets(self._dlq).values())

    def routing_ends(self) -> dict[TopicPartition, int]:
        return self._consumer.end_offsets(self._routing)

    def decisions(self) -> int:
        return sum(self.routing_ends().values())

    def unrouted(self) -> dict[str, int]:
        """``topic[partition]`` → records past the committed offset (empty: all routed)."""
        committed = self.committed_by_partition()
        return {f"{tp.topic}[{tp.partition}]": end - committed.get(tp, 0)
                for tp, end in self.event_ends().items() if end > committed.get(tp, 0)}

    def wait_for_decision(self, event_id: str, since: dict[TopicPartition, int], timeout_s: float
                          ) -> int | None:
        """The timestamp (ms) of the routing decision that names ``event_id``, read from the
        routing topic past ``since``; None if none comes within ``timeout_s``."""
        needle = event_id.encode()
        with_consumer = self._consumer
        with_consumer.assign(list(since))
        for tp, offset in since.items():
            with_consumer.seek(tp, offset)
        deadline = time.monotonic() + timeout_s
        try:
            while time.monotonic() < deadline:
                for records in with_consumer.poll(timeout_ms=200).values():
                    for rec in records:
                        if rec.value is not None and needle in rec.value:
                            return rec.timestamp
            return None
        finally:
            with_consumer.unsubscribe()

    def close(self) -> None:
        self._consumer.close(autocommit=False)
        self._admin.close()
