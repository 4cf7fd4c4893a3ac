"""Kafka record headers the hub sets, in one place."""

from __future__ import annotations

# A work item written by `hub replay` (not by the router): the replay's id and when it ran.
# Agencies apply it like any other item (same deterministic id, applied once); the auditor
# records it as a replayed delivery.
REPLAY_ID = "oncehub-replay-id"
REPLAYED_AT = "oncehub-replayed-at"


def header(headers, name: str) -> str | None:
    """The value of header ``name`` in a kafka-python ``[(name, bytes)]`` list, or None."""
    for key, value in headers or ():
        if key == name:
            return value.decode() if isinstance(value, bytes) else value
    return None
