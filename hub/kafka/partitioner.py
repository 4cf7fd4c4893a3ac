"""Which partition a keyed record lands on: Kafka's default partitioner, computed by the hub.

The auditor must know a record's partition before sending it (it chains the record to that
partition's previous hash), and the in-memory broker must place records where a cluster would.
"""

from __future__ import annotations

from kafka.partitioner.default import murmur2


def partition_for(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner (murmur2, positive) gives ``key``."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions
