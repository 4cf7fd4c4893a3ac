"""Kafka's default partitioner, computed by the hub (the auditor and the in-memory broker use it)."""

from __future__ import annotations

import pytest

from hub.kafka.partitioner import partition_for


@pytest.mark.parametrize("key, java_murmur2", [
    (b"21", -973932308), (b"foobar", -790332482), (b"a-little-bit-long-string", -985981536),
])
def test_partitioning_matches_the_java_clients_default_partitioner(key, java_murmur2):
    """Vectors from Kafka's own UtilsTest: records keyed by a case land where Java puts them."""
    for partitions in (1, 3, 12):
        assert partition_for(key, partitions) == (java_murmur2 & 0x7FFFFFFF) % partitions
