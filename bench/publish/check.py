"""After the run: does the broker hold what each mode claims to have sent?"""

from __future__ import annotations

from collections import Counter

from bench.workload import WireRecord
from hub.kafka.admin import end_offsets
from hub.kafka.clients import Clients
from hub.kafka.log_reader import read_from_start
from hub.kafka.topic_names import TopicNames


def read_shapes(clients: Clients, topics: list[str]) -> Counter:
    """The :meth:`WireRecord.shape` of every message on ``topics`` (read back from Kafka)."""
    return Counter(WireRecord(m.topic, m.key, m.value, tuple(m.headers)).shape()
                   for m in read_from_start(clients, topics))


def verify(clients: Clients, sdk_prefix: str, raw_prefix: str, warm: list[WireRecord],
           measured: list[WireRecord], rounds: int, sdk_passes: int, raw_passes: int) -> list[str]:
    """Check the broker holds what each mode claims to have sent; returns problems found.

    The SDK topics are read back and compared, message shape by shape, with the captured
    records the raw mode replayed; the raw topics are counted. ``*_passes`` is how many modes
    wrote to each topic set (each with its own warm-up).
    """
    problems = []
    expected = Counter(r.shape() for r in warm)
    for shape, n in Counter(r.shape() for r in measured).items():
        expected[shape] += n * rounds
    expected = Counter({shape: n * sdk_passes for shape, n in expected.items()})
    got = read_shapes(clients, TopicNames(sdk_prefix).all_events())
    if got != expected:
        diff = sum(((got - expected) + (expected - got)).values())
        problems.append(f"SDK topics differ from the replayed bytes in {diff} message shape(s)")
    raw_count = sum(end_offsets(clients, TopicNames(raw_prefix).all_events()).values())
    # Every raw mode but the pipelined one had a warm-up.
    want = len(warm) * min(raw_passes, 2) + len(measured) * rounds * raw_passes
    if raw_count != want:
        problems.append(f"raw topics hold {raw_count} messages, expected {want}")
    return problems
