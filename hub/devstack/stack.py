"""``up``, ``down`` and ``status`` for the two servers of the development stack.

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
from dataclasses import dataclass
from pathlib import Path

from hub.config import HubSettings
from hub.errors import DevStackError
from hub.devstack import apicurio, fetch, java, kafka, procs
from hub.devstack.security import DevSecurity
from hub.devstack.health import (
    Health,
    first_bootstrap,
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


def _probe_kafka(settings: HubSettings, security: DevSecurity | None):
    # The Kafka client library loads only when a broker is probed (`hub --help` stays quick).
    from hub.kafka.clients import Clients

    # A broker we started is probed as its own super user: the principals' SCRAM users are only
    # made once it answers.
    if security is not None and security.kafka_files.admin_properties.exists():
        settings = security.admin_settings()
    with Clients(settings) as clients:
        return kafka_health(clients)


def servers(settings: HubSettings) -> list[Server]:
    """Kafka and the registry, as configured by ``settings``."""
    state, cache = Path(settings.state_dir), Path(settings.cache_dir)
    run_dir, logs_dir = state / "run", state / "logs"
    kfiles = kafka.KafkaFiles(state / "kafka", logs_dir)
    rfiles = apicurio.RegistryFiles(state / "registry", logs_dir)
    khost, kport = first_bootstrap(settings.bootstrap_servers)
    rhost, rport = registry_address(settings.schema_registry_url)
    security = DevSecurity(settings, kfiles) if settings.kafka_security == "sasl_ssl" else None

    def prepare_kafka(say: Say) -> Launch:
        jdk = java.kafka_jdk()
        libs = fetch.ensure_kafka(cache, say) / "libs"
        cmd = kafka.prepare(jdk.java, libs, kfiles, khost, kport,
                            security.broker() if security else None)
        return Launch(cmd, dict(os.environ), kfiles.root)

    def prepare_registry(say: Say) -> Launch:
        jdk = java.registry_jdk()
        dist = fetch.ensure_registry(cache, say)
        apicurio.prepare(rfiles, security.registry_accounts() if security else None)
        return Launch(
            apicurio.command(jdk.java, dist),
            apicurio.environment(rhost, rport, rfiles, secured=security is not None),
            rfiles.root,
        )

    def kafka_ready(say: Say) -> None:
        if security is not None and kfiles.admin_properties.exists():
            security.ready(say)

    return [
        Server(
            name="kafka",
            address=settings.bootstrap_servers,
            host=khost,
            port=kport,
            marker=kafka.MARKER,
            pid_file=run_dir / "kafka.pid",
            log_file=kfiles.log_file,
            stop_timeout=30.0,  # a controlled shutdown flushes and closes every log segment
            probe=lambda: _probe_kafka(settings, security),
            prepare=prepare_kafka,
            ready=kafka_ready,
        ),
        Server(
            name="registry",
            address=settings.schema_registry_url,
            host=rhost,
            port=rport,
            marker=apicurio.MARKER,
            pid_file=run_dir / "registry.pid",
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


def up(settings: HubSettings, *, timeout: float = START_TIMEOUT_S, say: Say = print) -> bool:
    """Start whichever server does not answer; return when both answer.

    Returns False if both already answered (nothing was done). Raises DevStackError, with the
    tail of the server's log, when a server cannot be started or does not become healthy.
    """
    errors: list[str] = []
    with _locked(settings.state_dir):
        pending: dict[str, tuple[Server, int]] = {}
        to_start: list[Server] = []
        ready: list[Server] = []
        for server in servers(settings):
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
    return True


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
        for server in reversed(servers(settings)):  # clients (registry) before the broker
            pid = procs.live_pid(server.pid_file, server.marker)
            if pid is None:
                if server.health():
                    say(
                        f"{server.name}: answering at {server.address} but not started by "
                        "`hub dev` (no pid file); left running"
                    )
                else:
                    say(f"{server.name}: not running")
                continue
            say(f"{server.name}: stopping pid {pid}...")
            t0 = time.monotonic()
            outcome = procs.terminate(pid, timeout=server.stop_timeout, marker=server.marker)
            procs.remove_pid(server.pid_file)
            say(f"{server.name}: {outcome} after {time.monotonic() - t0:.1f}s")


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
