"""The stack a fault drill runs on: its own Kafka nodes and registry (own state directory and
ports, the shared download cache), started with ``hub dev up``'s code, and the faults a cluster
sees — a node or the registry killed with SIGKILL and started again — applied to them."""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

from hub.config import HubSettings
from hub.devstack import procs, stack


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(count: int, start: int) -> int:
    """A base port with ``count`` consecutive free loopback ports from it (a stack of its own:
    each node takes two, the registry one)."""
    for base in range(start, start + 4000, 10):
        if all(_free(p) for p in range(base, base + count)):
            return base
    raise RuntimeError("no free run of loopback ports")


def _say(message: str) -> None:
    print(f"  [stack] {message}", flush=True)


class DrillStack:
    """``nodes`` Kafka nodes (1 or 3) and a registry under ``state_dir``."""

    def __init__(self, nodes: int, state_dir: Path, start_port: int):
        self.nodes = nodes
        base = free_ports(2 * nodes + 1, start_port)  # client + controller port per node, registry
        self.settings = HubSettings(
            bootstrap_servers=f"127.0.0.1:{base}",
            schema_registry_url=f"http://127.0.0.1:{base + 2 * nodes}/apis/ccompat/v7",
            state_dir=state_dir, cache_dir=HubSettings().cache_dir, principal="operator",
            topic_replication=3 if nodes == 3 else 1,
        )
        self.registry_port = base + 2 * nodes

    @property
    def bootstrap_servers(self) -> str:
        base = int(self.settings.bootstrap_servers.rsplit(":", 1)[1])
        return ",".join(f"127.0.0.1:{base + 2 * i}" for i in range(self.nodes))

    def up(self) -> None:
        stack.up(self.settings, brokers=self.nodes, say=_say, timeout=240)

    def down(self) -> None:
        stack.down(self.settings, say=_say)

    def _server(self, name: str):
        (server,) = [s for s in stack.servers(self.settings, brokers=self.nodes) if s.name == name]
        return server

    def kafka_node(self, node_id: int) -> str:
        return "kafka" if self.nodes == 1 else f"kafka-{node_id}"

    def kill(self, name: str) -> None:
        """SIGKILL one server (``kafka``, ``kafka-2``, ``registry``): no shutdown at all."""
        server = self._server(name)
        pid = procs.live_pid(server.pid_file, server.marker)
        if pid is None:
            raise RuntimeError(f"{name} is not running")
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while procs.is_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)

    def restart(self) -> float:
        """Start whatever is not answering; seconds until everything answers again."""
        started = time.monotonic()
        self.up()
        return time.monotonic() - started
