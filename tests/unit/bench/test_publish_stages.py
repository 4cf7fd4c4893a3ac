"""The publish benchmark's in-process pass captures what the SDK sends live: the events protected
(people's fields sealed), so the raw modes replay bytes of the same shapes, and not the key
records the SDK writes before them."""

from __future__ import annotations

import random


import bench.workload
from bench.publish.inputs import make_jobs
from bench.publish.stages import measure_stages
from hub.config import HubSettings
from hub.kafka.topic_names import TopicNames
from hub.memory.kafka import InMemoryClients


def test_the_captured_events_are_protected_and_keys_left_out(tmp_path, monkeypatch):
    settings = HubSettings(topic_prefix="stages", state_dir=tmp_path)
    registry = InMemoryClients.provisioned(settings).registry
    monkeypatch.setattr(bench.workload.CapturingClients, "registry", property(lambda self: registry))
    rng = random.Random(3)
    _, warm, records = measure_stages(settings, make_jobs(3, rng), make_jobs(12, rng))
    events = set(TopicNames("stages").all_events())
    assert len(warm) == 3 and len(records) == 12
    assert all(r.topic in events for r in warm + records)
    # Avro carries no field names: a role's name in the bytes is a protected block's ``role``.
    roles = (b"spouse_a", b"legal_representative", b"mother", b"deceased", b"person")
    assert all(any(role in r.value for role in roles) for r in warm + records)  # every one sealed
