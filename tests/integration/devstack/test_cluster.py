"""`hub dev up --brokers 3` on real processes: three KRaft nodes of its own (own state directory,
own free ports, the shared download cache), never the shared stack.

Slow (three JVMs and a registry start, then stop): marked ``cluster``, run with
``HUB_TEST_CLUSTER=1 .venv/bin/pytest tests/integration/devstack/test_cluster.py``.
"""

from __future__ import annotations

import uuid

import pytest
from kafka.admin import ConfigResource, ConfigResourceType
from typer.testing import CliRunner

from hub.cli.dev import dev_app
from hub.config import HubSettings
from hub.devstack import procs, stack
from hub.errors import DevStackError
from hub.kafka.admin import ensure_topics, hub_topics
from hub.kafka.clients import Clients
from tests.faults.drill_stack import free_ports

pytestmark = [pytest.mark.integration, pytest.mark.cluster]


def _quiet(_message: str) -> None:
    pass


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    base = free_ports(7, start=31092)  # three nodes (client + controller ports), then the registry
    settings = HubSettings(
        bootstrap_servers=f"127.0.0.1:{base}",
        schema_registry_url=f"http://127.0.0.1:{base + 6}/apis/ccompat/v7",
        state_dir=tmp_path_factory.mktemp("cluster") / "state",
        cache_dir=HubSettings().cache_dir,  # the jars already fetched
        topic_prefix=f"t{uuid.uuid4().hex[:8]}",
    )
    try:
        stack.up(settings, brokers=3, say=_quiet, timeout=240)
        yield settings
    finally:
        stack.down(settings, say=_quiet)


def _env(settings: HubSettings) -> dict[str, str]:
    return {"HUB_STATE_DIR": str(settings.state_dir),
            "HUB_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
            "HUB_SCHEMA_REGISTRY_URL": settings.schema_registry_url}


def _cluster_settings(settings: HubSettings) -> HubSettings:
    """What `hub dev up --brokers 3` tells hub commands to use (its dev-stack.env)."""
    lines = (settings.state_dir / "dev-stack.env").read_text().splitlines()
    env = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
    return settings.model_copy(update={
        "bootstrap_servers": env["HUB_BOOTSTRAP_SERVERS"],
        "topic_replication": int(env["HUB_TOPIC_REPLICATION"])})


def test_status_shows_every_node_healthy(cluster):
    result = CliRunner().invoke(dev_app, ["status"], env=_env(cluster))
    assert result.exit_code == 0, result.output
    rows = result.output.splitlines()
    assert [r.split()[0] for r in rows] == ["kafka-1", "kafka-2", "kafka-3", "registry"]
    base = int(cluster.bootstrap_servers.rsplit(":", 1)[1])
    for i, row in enumerate(rows[:3]):
        assert f"127.0.0.1:{base + 2 * i} " in row and " healthy " in row and "pid " in row
        assert f"node {i + 1} of cluster" in row and "3 broker(s) [1, 2, 3]" in row


def test_hub_topics_get_three_replicas_and_two_in_sync(cluster):
    settings = _cluster_settings(cluster)
    assert settings.topic_replication == 3 and settings.bootstrap_servers.count(",") == 2
    clients = Clients(settings)
    topic = hub_topics(settings.topic_prefix)[0]
    assert ensure_topics(clients, [topic]) == [topic]
    with clients.administering() as admin:
        (described,) = admin.describe_topics([topic])
        configs = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    assert {len(p["replica_nodes"]) for p in described["partitions"]} == {3}
    assert {len(p["isr_nodes"]) for p in described["partitions"]} == {3}
    assert configs["topic"][topic]["min.insync.replicas"]["value"] == "2"


def test_the_node_count_is_remembered_and_another_refused(cluster):
    assert [s.name for s in stack.servers(cluster)][:3] == ["kafka-1", "kafka-2", "kafka-3"]
    with pytest.raises(DevStackError, match="formatted for 3 node"):
        stack.up(cluster, brokers=1, say=_quiet)


def test_a_stopped_node_is_reported_and_up_restarts_only_it(cluster):
    third = stack.servers(cluster)[2]
    pid = procs.live_pid(third.pid_file, third.marker)
    procs.terminate(pid, timeout=third.stop_timeout, marker=third.marker)
    result = CliRunner().invoke(dev_app, ["status"], env=_env(cluster))
    assert result.exit_code == 1
    assert [r.split()[0] for r in result.output.splitlines() if "NOT HEALTHY" in r] == ["kafka-3"]
    said: list[str] = []
    assert stack.up(cluster, say=said.append, timeout=240) is True
    assert [m.split(":")[0] for m in said if "started pid" in m] == ["kafka-3"]
    assert all(s.health() for s in stack.servers(cluster))
