"""The security benchmark's inputs: the SDK's bytes for seeded submissions, the topics and schemas
each cluster needs, and how many records each topic should hold at the end."""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from bench.workload import WireRecord
from hub.kafka.admin import ensure_topics
from hub.kafka.clients import Clients
from hub.schema_registry.provisioning import provision_catalogue


def backlog_topic(prefix: str) -> str:
    """The topic the ``read`` mode reads: written once per cluster before the rounds."""
    return f"{prefix}.backlog"


def warmup_topic(prefix: str) -> str:
    """Where the twin's JVM warm-up writes (so the event topics hold only the modes' records)."""
    return f"{prefix}.warmup"


def prepare_cluster(clients: Clients) -> None:
    """The clients' prefix provisioned as the hub provisions it (the SDK mode serialises with
    that cluster's registry, and writes a person's key to its key intake before the event), and
    the backlog and warm-up topics."""
    prefix = clients.settings.topic_prefix
    provision_catalogue(clients)
    ensure_topics(clients, [backlog_topic(prefix), warmup_topic(prefix)])


def cycled(records: Sequence[WireRecord], count: int, topic: str | None = None) -> list[WireRecord]:
    """``count`` records taken round-robin from ``records`` (to ``topic`` if given)."""
    out = list(itertools.islice(itertools.cycle(records), count))
    if topic is not None:
        out = [WireRecord(topic, r.key, r.value, r.headers) for r in out]
    return out


def record_bytes(record: WireRecord) -> int:
    """Key, value and header bytes of one record (what the client hands the broker, unbatched)."""
    return len(record.key) + len(record.value) + sum(len(k) + len(v) for k, v in record.headers)


def sizes(records: Sequence[WireRecord]) -> dict[str, float]:
    return {"value_bytes_mean": statistics.mean(len(r.value) for r in records),
            "record_bytes_mean": statistics.mean(record_bytes(r) for r in records)}


@dataclass(frozen=True)
class Counts:
    """How many records each mode writes to the event topics of one cluster."""

    events: int
    pipelined: int
    warmup: int
    connections: int
    rounds: int
    sdk: bool

    def per_round(self) -> int:
        return self.events * (2 if self.sdk else 1) + self.pipelined + self.connections

    def warm(self) -> int:
        """sync and sdk warm-ups, one pipelined pass, and the warm-up connections' first sends."""
        return self.warmup * (2 if self.sdk else 1) + self.pipelined + WARM_CONNECTIONS

    def expected_event_records(self) -> int:
        return self.warm() + self.rounds * self.per_round()


WARM_CONNECTIONS = 3  # new producers per cluster before the rounds (connection mode's warm-up)
