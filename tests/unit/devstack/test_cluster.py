"""`hub dev up --brokers 3` without servers: the nodes' addresses and configuration, the node
count remembered by the state directory (and a mismatch refused with the way out), the settings
hub commands are told to use, and the hub's topics created to match."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from hub.config import HubSettings
from hub.devstack import cluster, kafka, stack
from hub.devstack.health import Health
from hub.errors import DevStackError
from hub.kafka.admin import topic_configs


def props(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))
    return {k.strip(): v.strip() for k, v in pairs}


def three(port: int = 29092, host: str = "127.0.0.1") -> tuple[kafka.Node, ...]:
    return tuple(kafka.Node(i, host, port + 2 * (i - 1)) for i in (1, 2, 3))


def test_a_node_of_three_knows_every_voter_and_replicates_three_ways(tmp_path):
    p = props(kafka.render_server_properties("localhost", 29094, tmp_path / "data",
                                             node_id=2, quorum=three(host="localhost")))
    assert p["node.id"] == "2"
    assert p["controller.quorum.voters"] == "1@127.0.0.1:29093,2@127.0.0.1:29095,3@127.0.0.1:29097"
    assert p["listeners"] == "PLAINTEXT://127.0.0.1:29094,CONTROLLER://127.0.0.1:29095"
    assert p["advertised.listeners"] == "PLAINTEXT://localhost:29094"
    assert (p["default.replication.factor"], p["min.insync.replicas"]) == ("3", "2")
    assert (p["offsets.topic.replication.factor"], p["transaction.state.log.replication.factor"],
            p["transaction.state.log.min.isr"]) == ("3", "3", "2")
    assert p["unclean.leader.election.enable"] == "false"


def test_one_node_keeps_replication_one(tmp_path):
    p = props(kafka.render_server_properties("127.0.0.1", 9092, tmp_path / "data"))
    assert (p["node.id"], p["controller.quorum.voters"]) == ("1", "1@127.0.0.1:9093")
    assert (p["default.replication.factor"], p["min.insync.replicas"]) == ("1", "1")
    assert p["unclean.leader.election.enable"] == "false"


def test_single_node_files_keep_their_old_places_cluster_nodes_get_their_own(tmp_path):
    one = kafka.KafkaFiles(tmp_path / "kafka", tmp_path / "logs")
    assert (one.data_dir, one.server_properties, one.log_file, one.heap) == (
        tmp_path / "kafka" / "data", tmp_path / "kafka" / "server.properties",
        tmp_path / "logs" / "kafka.log", kafka.HEAP)
    second = cluster.files(tmp_path, 3)[1]
    assert (second.data_dir, second.log_file, second.heap) == (
        tmp_path / "kafka" / "node-2" / "data", tmp_path / "logs" / "kafka-2.log", kafka.CLUSTER_HEAP)
    # What the nodes share stays where a single node had it.
    assert second.admin_properties == one.admin_properties
    assert second.security_marker == one.security_marker


def test_nodes_follow_the_first_address_or_the_full_list(tmp_path):
    settings = HubSettings(bootstrap_servers="127.0.0.1:29092")
    assert [n.address for n in cluster.nodes(settings, 3)] == [
        "127.0.0.1:29092", "127.0.0.1:29094", "127.0.0.1:29096"]
    listed = HubSettings(bootstrap_servers="localhost:19092, localhost:19192,localhost:19292")
    assert [n.port for n in cluster.nodes(listed, 3)] == [19092, 19192, 19292]
    # One node: the first address, as before (a list may name a cluster `hub dev` only probes).
    assert [n.address for n in cluster.nodes(listed, 1)] == ["localhost:19092"]
    elsewhere = listed.model_copy(update={"state_dir": tmp_path})
    assert [s.address for s in stack.servers(elsewhere)][:1] == [listed.bootstrap_servers]
    with pytest.raises(DevStackError, match="names 2 servers"):
        cluster.nodes(HubSettings(bootstrap_servers="a:1,a:3"), 3)
    with pytest.raises(DevStackError, match="collide"):
        cluster.nodes(HubSettings(bootstrap_servers="127.0.0.1:9092,127.0.0.1:9093,127.0.0.1:9096"), 3)


def _formatted(data_dir: Path) -> None:
    data_dir.mkdir(parents=True)
    (data_dir / "meta.properties").write_text("cluster.id=x\n")


def test_the_node_count_is_remembered_and_a_mismatch_names_the_fix(tmp_path):
    assert cluster.node_count(tmp_path, None) == 1  # nothing formatted: one node
    assert cluster.node_count(tmp_path, 3) == 3
    cluster.remember(tmp_path / "kafka", 3)
    assert cluster.node_count(tmp_path, None) == 3  # `hub dev up|status|down` without --brokers
    with pytest.raises(DevStackError) as err:
        cluster.node_count(tmp_path, 1)
    message = str(err.value)
    assert "formatted for 3 node(s)" in message and "--brokers 1" in message
    assert "without --brokers" in message and "HUB_STATE_DIR" in message
    with pytest.raises(DevStackError, match="1 or 3"):
        cluster.node_count(tmp_path, 2)


def test_a_single_node_directory_from_before_the_marker_counts_as_one(tmp_path):
    _formatted(tmp_path / "kafka" / "data")
    assert cluster.node_count(tmp_path, None) == 1
    with pytest.raises(DevStackError, match="formatted for 1 node"):
        cluster.node_count(tmp_path, 3)


def test_servers_of_a_three_node_stack(tmp_path):
    settings = HubSettings(state_dir=tmp_path, bootstrap_servers="127.0.0.1:29092",
                           schema_registry_url="http://127.0.0.1:28080/apis/ccompat/v7")
    found = stack.servers(settings, brokers=3)
    assert [s.name for s in found] == ["kafka-1", "kafka-2", "kafka-3", "registry"]
    assert [s.address for s in found[:3]] == ["127.0.0.1:29092", "127.0.0.1:29094", "127.0.0.1:29096"]
    assert [s.pid_file.name for s in found] == ["kafka-1.pid", "kafka-2.pid", "kafka-3.pid",
                                                "registry.pid"]
    assert [s.ready is not None for s in found[:3]] == [True, False, False]  # ACLs once
    assert [s.name for s in stack.servers(settings)] == ["kafka", "registry"]  # the default


def test_the_settings_hub_commands_need_are_written_and_told(tmp_path):
    settings = HubSettings(state_dir=tmp_path, bootstrap_servers="127.0.0.1:29092")
    path, lacking = cluster.write_env(settings, cluster.nodes(settings, 3))
    text = path.read_text()
    assert "HUB_BOOTSTRAP_SERVERS=127.0.0.1:29092,127.0.0.1:29094,127.0.0.1:29096\n" in text
    assert "HUB_TOPIC_REPLICATION=3\n" in text and f"HUB_STATE_DIR={tmp_path.resolve()}\n" in text
    assert lacking == ["HUB_BOOTSTRAP_SERVERS=127.0.0.1:29092,127.0.0.1:29094,127.0.0.1:29096",
                       "HUB_TOPIC_REPLICATION=3"]
    _, lacking = cluster.write_env(settings, cluster.nodes(settings, 1))
    assert lacking == []  # the single-node default needs nothing


def test_hub_topics_with_three_replicas_need_two_in_sync():
    assert topic_configs(1) == {"retention.ms": "-1"}
    assert topic_configs(3) == {"retention.ms": "-1", "min.insync.replicas": "2"}


def test_down_stops_the_nodes_together(tmp_path, monkeypatch):
    """Stopped one by one, the last nodes of a quorum would wait for a controller that is gone."""
    nodes = [stack.Server(name=f"kafka-{i}", address=f"127.0.0.1:{i}", host="127.0.0.1", port=i,
                          marker="m", pid_file=tmp_path / f"{i}.pid", log_file=tmp_path / f"{i}.log",
                          stop_timeout=1.0, probe=lambda: Health(False, "x"), prepare=None)
             for i in (1, 2, 3)]
    together = threading.Barrier(3, timeout=5)  # broken unless all three are stopping at once
    monkeypatch.setattr(stack.procs, "live_pid", lambda pid_file, marker: 100 + int(pid_file.stem))
    monkeypatch.setattr(stack.procs, "terminate", lambda pid, **kw: together.wait() * 0 or "stopped")
    said: list[str] = []
    stack._stop(nodes, said.append)
    assert sorted(m.split(":")[0] for m in said if "stopped after" in m) == [
        "kafka-1", "kafka-2", "kafka-3"]
