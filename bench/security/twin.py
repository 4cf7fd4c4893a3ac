"""The plaintext twin: a second broker and registry, unsecured, next to the secured dev stack.

It is started by the dev stack's own code (``hub.devstack.stack.up``) with plaintext settings,
a state directory of its own and free loopback ports, so its broker runs the same Kafka build, heap
and JVM flags as the secured one. Its addresses are recorded in ``twin.json`` in that state
directory: a later run finds a twin left up (``--keep``) and reuses it. ``stop`` stops only the
processes that state directory records, and then removes the directory.
"""

from __future__ import annotations

import json
import shutil
import socket
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hub.config import HubSettings
from hub.devstack import procs, stack
from hub.devstack.health import first_bootstrap

DEFAULT_STATE_DIR = Path(tempfile.gettempdir()) / "oncehub-bench-plaintext-twin"
ADDRESS_FILE = "twin.json"
Say = Callable[[str], None]


def twin_settings(state_dir: Path, kafka_port: int, registry_port: int,
                  base: HubSettings | None = None) -> HubSettings:
    """Plaintext settings on loopback ``kafka_port`` (its controller on the next port) and
    ``registry_port``; everything else (cache of jars, timeouts, partitions) as ``base``."""
    base = base or HubSettings()
    return base.model_copy(update={
        "kafka_security": "plaintext",
        "state_dir": Path(state_dir),
        "bootstrap_servers": f"127.0.0.1:{kafka_port}",
        "schema_registry_url": f"http://127.0.0.1:{registry_port}/apis/ccompat/v7",
        "credentials_file": None,
    })


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(avoid: set[int] = frozenset(), attempts: int = 200) -> tuple[int, int]:
    """A free loopback port for the broker whose next port (its controller) is free too, and
    one for the registry. Another process may still take them before the twin binds them."""
    found: list[int] = []
    for _ in range(attempts):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        taken = avoid | {p for q in found for p in (q, q + 1)}
        if {port, port + 1} & taken:
            continue
        if not found and not _bindable(port + 1):
            continue
        found.append(port)
        if len(found) == 2:
            return found[0], found[1]
    raise RuntimeError("no two free loopback ports found for the plaintext twin")


def recorded_ports(state_dir: Path) -> tuple[int, int] | None:
    """The (kafka, registry) ports a previous run recorded, or None."""
    try:
        data = json.loads((Path(state_dir) / ADDRESS_FILE).read_text())
        return int(data["kafka_port"]), int(data["registry_port"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _running(settings: HubSettings) -> bool:
    """Does the state directory record a live process of ours (broker or registry)?"""
    return any(procs.live_pid(s.pid_file, s.marker) is not None for s in stack.servers(settings))


@dataclass
class Twin:
    settings: HubSettings
    reused: bool  # it answered already: this run started nothing
    startup_s: float

    @property
    def state_dir(self) -> Path:
        return Path(self.settings.state_dir)


def check_separate(twin_state_dir: Path, secured: HubSettings) -> None:
    """Refuse a twin that would share the dev stack's state directory."""
    if Path(twin_state_dir).resolve() == Path(secured.state_dir).resolve():
        raise ValueError(f"the twin's state directory {twin_state_dir} is the dev stack's own")


def bring_up(state_dir: Path, secured: HubSettings, say: Say) -> Twin:
    """Reuse the twin recorded in ``state_dir`` if its processes run; otherwise start a fresh
    one (the directory wiped first: a KRaft log remembers its controller's port)."""
    check_separate(state_dir, secured)
    state_dir = Path(state_dir)
    ports = recorded_ports(state_dir)
    if ports is None or not _running(twin_settings(state_dir, *ports, base=secured)):
        shutil.rmtree(state_dir, ignore_errors=True)
        avoid = {first_bootstrap(secured.bootstrap_servers)[1]}
        avoid |= {first_bootstrap(secured.bootstrap_servers)[1] + 1}
        ports = free_ports(avoid)
        state_dir.mkdir(parents=True, exist_ok=True)
        (state_dir / ADDRESS_FILE).write_text(
            json.dumps({"kafka_port": ports[0], "registry_port": ports[1]}) + "\n")
    settings = twin_settings(state_dir, *ports, base=secured)
    started = time.perf_counter()
    did_start = stack.up(settings, say=say)
    return Twin(settings, reused=not did_start, startup_s=time.perf_counter() - started)


def stop(twin: Twin, say: Say) -> None:
    """Stop what the twin's state directory started, then remove the directory."""
    stack.down(twin.settings, say=say)
    if not _running(twin.settings):
        shutil.rmtree(twin.state_dir, ignore_errors=True)
