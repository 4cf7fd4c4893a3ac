"""``up``, ``down`` and ``status`` for the servers of the development stack: one Kafka node (or
three, :mod:`hub.devstack.cluster`) and the registry.

Each server is addressed by the hub's own settings (``bootstrap_servers``,
``schema_registry_url``): whatever answers there counts, whether or not ``hub dev`` started it.
Only servers that do not answer, on a loopback address, are started; only servers ``hub dev``
started (recorded in pid files) are stopped.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from hub.config import HubSettings
from hub.errors import DevStackError
from hub.devstack import apicurio, cluster, fetch, java, kafka, procs
from hub.devstack.security import DevSecurity
from hub.devstack.health import (
    Health,
    is_loopback,
    kafka_health,
    port_open,
    registry_address,
    registry_health,
)

START_TIMEOUT_S = 120.0  # without an answer or a new log line
HARD_LIMIT_FACTOR = 10  # however busy its log, a server gets at most this × the timeout
PROGRESS_EVERY_S = 30.0
Say = Callable[[str], None]


@dataclass(frozen=True)
class Launch:
    cmd: list[str]
    env: dict[str, str]
    cwd: Path


@dataclass(frozen=True)
class Server:
    """One server of the stack: how to probe it, find its process, and launch it."""

    name: str
    address: str  # as the hub's settings give it
    host: str
    port: int
    marker: str
    pid_file: Path
    log_file: Path
    stop_timeout: float
    probe: Callable[[], Health]
    prepare: Callable[[Say], Launch]  # select a JDK, fetch, write configuration
    ready: Callable[[Say], None] | None = None  # once it answers: users, ACLs (idempotent)

    def health(self) -> Health:
        return self.probe()


def _probe_kafka(settings: HubSettings, security: DevSecurity | None,
                 node: kafka.Node | None = None):
    # The Kafka client library loads only when a broker is probed (`hub --help` stays quick).
    from hub.kafka.clients import Clients

    # A broker we started is probed as its own super user: the principals' SCRAM users are only
    # made once it answers.
    if security is not None and security.kafka_files.admin_properties.exists():
        settings = security.admin_settings()
    if node is not None:  # a node of a cluster: ask that node, and that it is registered
        settings = settings.model_copy(update={"bootstrap_servers": node.address})
    with Clients(settings) as clients:
        return kafka_health(clients, node_id=node.node_id if node else None)


def _kafka_servers(settings: HubSettings, quorum: tuple[kafka.Node, ...],
                   security: DevSecurity | None) -> list[Server]:
    """One Server per Kafka node; the first one's ``ready`` sets up principals and ACLs once
    every node answers."""
    state, cache = Path(settings.state_dir), Path(settings.cache_dir)
    count = len(quorum)
    node_files = cluster.files(state, count)
    shared = node_files[0]  # the broker's own user and the markers live in <state>/kafka

    def prepare_node(node: kafka.Node, kfiles: kafka.KafkaFiles) -> Callable[[Say], Launch]:
        def prepare(say: Say) -> Launch:
            jdk = java.kafka_jdk()
            libs = fetch.ensure_kafka(cache, say) / "libs"
            # Every node of a cluster is formatted with the same id; one node takes a fresh one.
            shared_id = (_cluster_id(jdk.java, libs, kfiles)
                         if count > 1 and not kafka.is_formatted(kfiles.data_dir) else None)
            cmd = kafka.prepare(jdk.java, libs, kfiles, node.host, node.port,
                                security.broker() if security else None,
                                quorum=quorum if count > 1 else (), cluster_id=shared_id)
            cluster.remember(kfiles.root, count)
            return Launch(cmd, dict(os.environ), kfiles.node_dir)
        return prepare

    def kafka_ready(say: Say) -> None:
        if security is not None and shared.admin_properties.exists():
            security.ready(say)

    return [
        Server(
            name="kafka" if count == 1 else f"kafka-{node.node_id}",
            address=settings.bootstrap_servers if count == 1 else node.address,
            host=node.host,
            port=node.port,
            marker=kafka.MARKER,
            pid_file=state / "run" / ("kafka.pid" if count == 1 else f"kafka-{node.node_id}.pid"),
            log_file=kfiles.log_file,
            stop_timeout=30.0,  # a controlled shutdown flushes and closes every log segment
            probe=(lambda node=node: _probe_kafka(settings, security, node if count > 1 else None)),
            prepare=prepare_node(node, kfiles),
            ready=kafka_ready if node.node_id == 1 else None,
        )
        for node, kfiles in zip(quorum, node_files)
    ]


def _cluster_id(java_bin: Path, libs: Path, kfiles: kafka.KafkaFiles) -> str:
    """The cluster id every node is formatted with: kept in ``kafka/cluster.id`` so a node
    formatted later (its data deleted) joins the same cluster."""
    path = kfiles.root / "cluster.id"
    if not path.exists():
        kfiles.root.mkdir(parents=True, exist_ok=True)
        kfiles.log4j_properties.write_text(kafka.render_log4j())
        path.write_text(kafka.new_cluster_id(java_bin, libs, kfiles) + "\n")
    return path.read_text().strip()


def servers(settings: HubSettings, brokers: int | None = None) -> list[Server]:
    """The Kafka node(s) and the registry, as configured by ``settings``; ``brokers`` nodes
    (default: as the state directory was formatted, else one)."""
    state, cache = Path(settings.state_dir), Path(settings.cache_dir)
    logs_dir = state / "logs"
    quorum = cluster.nodes(settings, cluster.node_count(state, brokers))
    # Probes, principals' credentials files and ACLs see every node of a cluster.
    settings = cluster.cluster_settings(settings, quorum)
    rfiles = apicurio.RegistryFiles(state / "registry", logs_dir)
    rhost, rport = registry_address(settings.schema_registry_url)
    security = (DevSecurity(settings, kafka.KafkaFiles(state / "kafka", logs_dir))
                if settings.kafka_security == "sasl_ssl" else None)

    def prepare_registry(say: Say) -> Launch:
        jdk = java.registry_jdk()
        dist = fetch.ensure_registry(cache, say)
        apicurio.prepare(rfiles, security.registry_accounts() if security else None)
        return Launch(
            apicurio.command(jdk.java, dist),
            apicurio.environment(rhost, rport, rfiles, secured=security is not None),
            rfiles.root,
        )

    return [
        *_kafka_servers(settings, quorum, security),
        Server(
            name="registry",
            address=settings.schema_registry_url,
            host=rhost,
            port=rport,
            marker=apicurio.MARKER,
            pid_file=state / "run" / "registry.pid",
            log_file=rfiles.log_file,
            stop_timeout=20.0,
            probe=lambda: registry_health(settings.schema_registry_url),
            prepare=prepare_registry,
        ),
    ]


@contextlib.contextmanager
def _locked(state_dir: Path) -> Iterator[None]:
    """Serialise `up`/`down` across processes (e.g. `make test` next to a developer's shell)."""
    lock_file = Path(state_dir) / "run" / "devstack.lock"
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _failure(server: Server, why: str) -> str:
    return (
        f"{server.name} {why}.\n--- last lines of {server.log_file} ---\n"
        f"{procs.tail(server.log_file)}\n--- end of {server.log_file} ---"
    )


def up(settings: HubSettings, *, timeout: float = START_TIMEOUT_S, say: Say = print,
       brokers: int | None = None) -> bool:
    """Start whichever server does not answer; return when all answer. ``brokers``: how many
    Kafka nodes (1 or 3; default as the state directory was formatted, else 1).

    Returns False if all already answered (nothing was done). Raises DevStackError, with the
    tail of the server's log, when a server cannot be started or does not become healthy.
    """
    errors: list[str] = []
    with _locked(settings.state_dir):
        pending: dict[str, tuple[Server, int]] = {}
        to_start: list[Server] = []
        ready: list[Server] = []
        for server in servers(settings, brokers=brokers):
            health = server.health()
            if health:
                say(f"{server.name}: already answering at {server.address} ({health.detail})")
                ready.append(server)
                continue
            pid = procs.live_pid(server.pid_file, server.marker)
            started_for = procs.read_address(server.pid_file)
            if pid is not None and started_for not in (None, server.address):
                errors.append(
                    f"{server.name}: pid {pid} was started by `hub dev up` for {started_for}, "
                    f"but the settings now say {server.address}; run `hub dev down` first."
                )
            elif pid is not None:  # started earlier and still coming up: just wait for it
                say(f"{server.name}: pid {pid} is running but not answering yet; waiting")
                pending[server.name] = (server, pid)
            elif not is_loopback(server.host):
                errors.append(
                    f"{server.name} at {server.address} does not answer ({health.detail}), and "
                    f"`hub dev` only starts servers on loopback addresses."
                )
            elif port_open(server.host, server.port):
                errors.append(
                    f"{server.name}: port {server.host}:{server.port} is taken by a process that "
                    f"does not answer as {server.name} ({health.detail}); free the port or change "
                    f"the hub's settings."
                )
            else:
                to_start.append(server)
        if not pending and not to_start and not errors:
            problems = _make_ready(ready, say)
            if problems:
                raise DevStackError("\n\n".join(problems))
            _tell_settings(settings, brokers, say)
            say("Dev stack already up: nothing to do.")
            return False

        # Fetch and configure everything before starting anything, so a slow first download
        # does not eat into the start-up timeout.
        launches: list[tuple[Server, Launch]] = []
        for server in to_start:
            try:
                launches.append((server, server.prepare(say)))
            except subprocess.CalledProcessError as exc:  # e.g. Kafka's storage format
                errors.append(_failure(server, f"could not be prepared: {exc}"))
            except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
                errors.append(f"{server.name}: {exc}")
        for server, launch in launches:
            procs.rotate(server.log_file)
            pid = procs.spawn(
                launch.cmd,
                log_file=server.log_file,
                cwd=launch.cwd,
                env=launch.env,
                pid_file=server.pid_file,
                address=server.address,
                banner=f"hub dev up: starting {server.name} for {server.address}",
            )
            say(f"{server.name}: started pid {pid}, logging to {server.log_file}")
            pending[server.name] = (server, pid)
        waited = list(pending.values())
        errors.extend(_wait_healthy(pending, timeout, say))
        if not errors:
            errors.extend(_make_ready([*ready, *(server for server, _ in waited)], say))
    if errors:
        raise DevStackError("\n\n".join(errors))
    _tell_settings(settings, brokers, say)
    return True


def _tell_settings(settings: HubSettings, brokers: int | None, say: Say) -> None:
    """Write ``dev-stack.env``; say what the hub's other commands need when this process's
    settings differ (a cluster: every node's address, replication 3)."""
    quorum = cluster.nodes(settings, cluster.node_count(settings.state_dir, brokers))
    path, lacking = cluster.write_env(settings, quorum)
    if lacking:
        say(f"kafka: {len(quorum)} nodes; hub commands need {' '.join(lacking)} — all the "
            f"settings are in {path}: set -a; . {path}; set +a")


def _make_ready(servers_up: list[Server], say: Say) -> list[str]:
    """Run each answering server's ``ready`` step (principals, ACLs); errors as messages."""
    errors = []
    for server in servers_up:
        if server.ready is None:
            continue
        try:
            server.ready(say)
        except Exception as exc:  # noqa: BLE001 - reported with the server's name, stack left up
            errors.append(f"{server.name}: answering, but setting up its principals failed: {exc}")
    return errors


def _log_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _wait_healthy(pending: dict[str, tuple[Server, int]], timeout: float, say: Say,
                  clock: Callable[[], float] = time.monotonic,
                  sleep: Callable[[float], None] = time.sleep) -> list[str]:
    """Poll until each pending server answers, exits, or stalls (then stop it).

    ``timeout`` is how long a server may go without answering *and* without writing to its
    log: a broker recovering thousands of partitions after an unclean stop logs as it goes and
    may take longer than any fixed limit, yet it is not stuck. A hard limit of
    ``HARD_LIMIT_FACTOR × timeout`` still ends a server that logs forever without answering.
    """
    errors: list[str] = []
    start = clock()
    sizes = {name: _log_size(server.log_file) for name, (server, _) in pending.items()}
    active = dict.fromkeys(pending, start)  # when each last wrote to its log
    told = start
    while pending:
        for name, (server, pid) in list(pending.items()):
            if not procs.is_alive(pid):
                procs.remove_pid(server.pid_file)
                errors.append(_failure(server, f"exited during start-up (pid {pid})"))
                del pending[name]
                continue
            health = server.health()
            if health:
                say(f"{server.name}: healthy at {server.address} after {clock() - start:.1f}s ({health.detail})")
                del pending[name]
                continue
            size = _log_size(server.log_file)
            if size != sizes[name]:
                sizes[name], active[name] = size, clock()
        now = clock()
        for name, (server, pid) in list(pending.items()):
            quiet, waited = now - active[name], now - start
            if quiet > timeout or waited > timeout * HARD_LIMIT_FACTOR:
                procs.terminate(pid, timeout=server.stop_timeout, marker=server.marker)
                procs.remove_pid(server.pid_file)
                why = (f"did not answer within {waited:.0f}s, its log quiet for the last {quiet:.0f}s"
                       if quiet > timeout else f"did not answer within {waited:.0f}s, the hard limit "
                       f"({HARD_LIMIT_FACTOR}× --timeout)")
                errors.append(_failure(server, f"{why} (pid {pid}, now stopped; "
                                               f"`hub dev up --timeout N` waits longer)"))
                del pending[name]
        if pending and now - told >= PROGRESS_EVERY_S:
            told = now
            for server, _ in pending.values():
                last = procs.tail(server.log_file, lines=1).strip()
                say(f"{server.name}: still starting after {now - start:.0f}s; its log says: {last[:160]}")
        if pending:
            sleep(0.5)
    return errors


def down(settings: HubSettings, *, say: Say = print) -> None:
    """Stop the servers `hub dev up` started: SIGTERM, then SIGKILL after their timeout."""
    with _locked(settings.state_dir):
        *nodes, registry = servers(settings)
        _stop([registry], say)  # clients (the registry) before the brokers
        # All nodes at once: stopped one by one, the last two of a quorum of three would each
        # wait for a controller that is already gone, and be killed after their timeout.
        _stop(nodes, say)


def _stop(group: list[Server], say: Say) -> None:
    """SIGTERM every running server of ``group`` together, wait for each (SIGKILL after its
    timeout)."""
    running: list[tuple[Server, int]] = []
    for server in group:
        pid = procs.live_pid(server.pid_file, server.marker)
        if pid is not None:
            say(f"{server.name}: stopping pid {pid}...")
            running.append((server, pid))
        elif server.health():
            say(f"{server.name}: answering at {server.address} but not started by "
                "`hub dev` (no pid file); left running")
        else:
            say(f"{server.name}: not running")

    def stop(entry: tuple[Server, int]) -> str:
        (server, pid), t0 = entry, time.monotonic()
        outcome = procs.terminate(pid, timeout=server.stop_timeout, marker=server.marker)
        procs.remove_pid(server.pid_file)
        return f"{server.name}: {outcome} after {time.monotonic() - t0:.1f}s"

    if running:
        with ThreadPoolExecutor(max_workers=len(running)) as pool:
            for outcome in pool.map(stop, running):
                say(outcome)


@dataclass(frozen=True)
class ServerStatus:
    name: str
    address: str
    health: Health
    pid: int | None


def status(settings: HubSettings) -> list[ServerStatus]:
    """Health of each server at its configured address, and our pid for it if any."""
    return [
        ServerStatus(s.name, s.address, s.health(), procs.live_pid(s.pid_file, s.marker))
        for s in servers(settings)
    ]


def restart(settings: HubSettings, name: str, *, say: Say = print) -> None:
    """Stop one server `hub dev up` started (if it runs) and bring the stack up again: e.g. the
    registry, which reads its accounts only when it starts."""
    with _locked(settings.state_dir):
        for server in servers(settings):
            pid = procs.live_pid(server.pid_file, server.marker)
            if server.name == name and pid is not None:
                say(f"{server.name}: restarting pid {pid}...")
                procs.terminate(pid, timeout=server.stop_timeout, marker=server.marker)
                procs.remove_pid(server.pid_file)
    up(settings, say=say)
