"""The console's chain check on in-memory Kafka: its verdict, and the last intact head in /metrics."""

from prometheus_client import REGISTRY

from hub.api.console.operations import ConsoleOperations
from hub.config import HubSettings
from hub.kafka.topic_names import TopicNames
from hub.memory.kafka import InMemoryClients
from tests.unit.audit.test_verify_fast_path import _chain


def test_an_intact_chain_sets_the_verified_head_and_a_broken_one_clears_intact(tmp_path):
    clients = InMemoryClients.provisioned(HubSettings(topic_prefix="ops", state_dir=tmp_path, topic_partitions=1))
    audit = TopicNames("ops").audit
    for value in _chain(3):
        clients.broker.append(audit, None, value, partition=0)
    verdict, anchors = ConsoleOperations(clients).verify()
    assert verdict.ok and verdict.count == 3 and anchors == {}
    assert REGISTRY.get_sample_value("oncehub_audit_chain_intact") == 1
    assert REGISTRY.get_sample_value("oncehub_audit_chain_verified_offset", {"partition": "0"}) == 2
    assert REGISTRY.get_sample_value("oncehub_audit_chain_verified_timestamp_seconds") > 0
    clients.broker.append(audit, None, b"not a record", partition=0)
    verdict, _ = ConsoleOperations(clients).verify()
    assert not verdict.ok and REGISTRY.get_sample_value("oncehub_audit_chain_intact") == 0
    assert REGISTRY.get_sample_value("oncehub_audit_chain_verified_offset", {"partition": "0"}) == 2
