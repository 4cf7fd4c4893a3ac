"""Consumer lag of the hub's consumer groups: how far each group's committed offsets are behind
the ends of the partitions it reads (per group and partition; `hub status`, the console and
the metrics show it).

A group counts as the hub's if its name starts with the topic prefix (the router's faust app,
the agencies' ``<prefix>.agency.<department>``, the auditor's, the projections'). The operator
reads it: listing every group's offsets needs the cluster's describe rights.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from hub.kafka.admin import end_offsets, hub_topics
from hub.kafka.clients import Clients
from hub.kafka.failures import unavailable_as_hub_error
from hub.kafka.log_reader import partitions_of
from hub.kafka.topic_names import TopicNames


@dataclass(frozen=True)
class PartitionLag:
    group: str
    topic: str
    partition: int
    committed: int
    end: int

    @property
    def lag(self) -> int:
        return max(0, self.end - self.committed)


def lags_of(committed: Mapping[str, Mapping[tuple[str, int], int]],
            ends: Mapping[tuple[str, int], int]) -> list[PartitionLag]:
    """Per group and partition, sorted: the committed offset against the partition's end (a
    partition whose end is unknown — deleted since — is left out)."""
    return sorted((PartitionLag(group, topic, partition, offset, ends[(topic, partition)])
                   for group, offsets in committed.items()
                   for (topic, partition), offset in offsets.items() if (topic, partition) in ends),
                  key=lambda p: (p.group, p.topic, p.partition))


def lag_per_group(lags: Iterable[PartitionLag]) -> dict[str, int]:
    """Records behind per consumer group, over its partitions (``hub status``, the console)."""
    totals: dict[str, int] = {}
    for row in lags:
        totals[row.group] = totals.get(row.group, 0) + row.lag
    return totals


def consumer_lag(clients: Clients) -> list[PartitionLag]:
    """The lag of every consumer group of this prefix, read from the broker now."""
    prefix = clients.settings.topic_prefix
    with clients.administering(client_id="oncehub-lag") as admin:
        groups = sorted(g["group_id"] for g in admin.list_groups() if g["group_id"].startswith(prefix))
        found = admin.list_group_offsets({g: None for g in groups}) if groups else {}
    # The hub's own topics only (not faust's internal ones): the gateway may describe those.
    ours = set(hub_topics(prefix))
    committed = {group: {(tp.topic, tp.partition): meta.offset for tp, meta in found.get(group, {}).items()
                         if meta is not None and meta.offset >= 0 and tp.topic in ours}
                 for group in groups}
    topics = sorted({topic for offsets in committed.values() for topic, _ in offsets})
    return lags_of(committed, end_offsets(clients, topics) if topics else {})



def depths(clients: Clients, topics: list[str]) -> dict[str, int]:
    """Records held per topic now (end minus start offsets, summed over partitions): how many
    dead letters are parked, say. :class:`~hub.errors.TopicMissing` names a topic not created."""
    with clients.reading() as consumer:
        parts = partitions_of(consumer, topics, "counting records")
        first, end = consumer.beginning_offsets(parts), consumer.end_offsets(parts)
    held = dict.fromkeys(topics, 0)
    for tp in parts:
        held[tp.topic] += end[tp] - first[tp]
    return held


def broker_figures(clients: Clients) -> tuple[list[PartitionLag], dict[str, int]]:
    """Consumer lag and dead letters parked per topic (``hub serve``'s ``/metrics``, the
    console, ``hub status``); :class:`~hub.errors.Unavailable` when the broker cannot answer."""
    with unavailable_as_hub_error("consumer lag and dead letters cannot be read"):
        return (consumer_lag(clients),
                depths(clients, TopicNames(clients.settings.topic_prefix).all_dead_letters()))
