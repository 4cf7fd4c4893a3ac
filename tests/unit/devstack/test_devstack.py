"""The dev stack's pure parts: JDK selection, rendered configuration, pid files and processes,
address parsing, and the decisions `up`/`status` take (with fake servers, no network)."""

from __future__ import annotations

import dataclasses
import os
import socket
import stat
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.config import HubSettings
from hub.cli import dev as cli
from hub.devstack import KAFKA_VERSION, apicurio, fetch, java, kafka, procs, stack
from hub.devstack.health import Health, first_bootstrap, is_loopback, registry_address

# --- JDK selection ------------------------------------------------------------------------------


def fake_jdk(root: Path, name: str, version: str, release: bool = True) -> Path:
    """A directory that looks like a JDK home: bin/java (a script printing the version)."""
    home = root / name
    (home / "bin").mkdir(parents=True)
    java_bin = home / "bin" / "java"
    java_bin.write_text(f"#!/bin/sh\necho 'openjdk version \"{version}\" 2025-01-01' >&2\n")
    java_bin.chmod(java_bin.stat().st_mode | stat.S_IEXEC)
    if release:
        (home / "release").write_text(f'IMPLEMENTOR="Test"\nJAVA_VERSION="{version}"\n')
    return home


@pytest.mark.parametrize(
    "version, major",
    [("17.0.15", 17), ("21", 21), ("25.0.3", 25), ("1.8.0_392", 8), ("11.0.2+9", 11), ("x", None)],
)
def test_parse_major(version, major):
    assert java.parse_major(version) == major


def test_jdk_at_reads_release_file_or_asks_the_binary(tmp_path):
    with_release = fake_jdk(tmp_path, "a", "17.0.15")
    without_release = fake_jdk(tmp_path, "b", "21.0.4", release=False)
    assert java.jdk_at(with_release).major == 17
    assert java.jdk_at(without_release).major == 21
    assert java.jdk_at(tmp_path / "missing") is None


def test_discover_collapses_symlinked_aliases(tmp_path):
    home = fake_jdk(tmp_path, "java-17-openjdk-amd64", "17.0.15")
    (tmp_path / "java-1.17.0-openjdk-amd64").symlink_to(home)
    jdks = java.discover_jdks(sorted(tmp_path.iterdir()))
    assert [j.major for j in jdks] == [17]


def test_kafka_prefers_17_and_registry_takes_newest_at_least_21(tmp_path):
    homes = [
        fake_jdk(tmp_path, "j11", "11.0.2"),
        fake_jdk(tmp_path, "j17", "17.0.15"),
        fake_jdk(tmp_path, "j21", "21.0.4"),
        fake_jdk(tmp_path, "j25", "25.0.3"),
    ]
    assert java.kafka_jdk(environ={}, homes=homes).major == 17
    assert java.registry_jdk(environ={}, homes=homes).major == 25
    assert java.kafka_jdk(environ={}, homes=[homes[0], homes[3]]).major == 25  # no 17: newest


def test_registry_without_java_21_fails_naming_the_requirement(tmp_path):
    homes = [fake_jdk(tmp_path, "j17", "17.0.15")]
    with pytest.raises(java.JavaNotFound) as err:
        java.registry_jdk(environ={}, homes=homes)
    message = str(err.value)
    assert "Java >= 21" in message and "Java 17" in message and java.REGISTRY_JAVA_ENV in message


def test_registry_java_home_override(tmp_path):
    j21 = fake_jdk(tmp_path, "j21", "21.0.4")
    j17 = fake_jdk(tmp_path, "j17", "17.0.15")
    env = {java.REGISTRY_JAVA_ENV: str(j21)}
    assert java.registry_jdk(environ=env, homes=[]).home == j21.resolve()
    with pytest.raises(java.JavaNotFound, match="needs Java >= 21.*is Java 17"):
        java.registry_jdk(environ={java.REGISTRY_JAVA_ENV: str(j17)}, homes=[])
    with pytest.raises(java.JavaNotFound, match="not a JDK home"):
        java.registry_jdk(environ={java.REGISTRY_JAVA_ENV: str(tmp_path / "nope")}, homes=[])


# --- rendered configuration ---------------------------------------------------------------------


def props(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))
    return {k.strip(): v.strip() for k, v in pairs}


def test_server_properties_single_node_kraft_on_loopback(tmp_path):
    p = props(kafka.render_server_properties("127.0.0.1", 9092, tmp_path / "data"))
    assert p["process.roles"] == "broker,controller"
    assert p["controller.quorum.voters"] == "1@127.0.0.1:9093"
    assert p["listeners"] == "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"
    assert p["advertised.listeners"] == "PLAINTEXT://127.0.0.1:9092"
    assert p["log.dirs"] == str(tmp_path / "data")
    assert p["auto.create.topics.enable"] == "false"
    assert p["offsets.topic.replication.factor"] == "1"
    assert p["transaction.state.log.replication.factor"] == "1"
    assert p["transaction.state.log.min.isr"] == "1"
    assert p["group.initial.rebalance.delay.ms"] == "0"


def test_server_properties_localhost_binds_ipv4_loopback(tmp_path):
    p = props(kafka.render_server_properties("localhost", 19092, tmp_path))
    assert p["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert p["advertised.listeners"] == "PLAINTEXT://localhost:19092"


def test_log4j2_renders_to_stdout_and_keeps_scala_object_logger_name():
    p = props(kafka.render_log4j())
    assert p["appender.stdout.type"] == "Console"
    assert p["rootLogger.appenderRef.stdout.ref"] == p["appender.stdout.name"]
    assert p["logger.channel.name"] == "kafka.network.RequestChannel$"
    assert p["logger.channel.level"] == "WARN"


def test_pom_names_the_broker_and_a_logging_binding():
    root = ET.fromstring(
        fetch.render_template("kafka-pom.xml", kafka_version=KAFKA_VERSION, scala_version="2.13")
    )
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    deps = {
        (d.findtext("m:artifactId", namespaces=ns), d.findtext("m:version", namespaces=ns))
        for d in root.iterfind("m:dependencies/m:dependency", ns)
    }
    assert deps == {
        ("kafka_2.13", KAFKA_VERSION),
        ("log4j-slf4j-impl", "2.25.5"),  # Kafka 4.x: log4j2, through slf4j 1.7
    }


def test_broker_command_uses_kafka_run_class_flags(tmp_path):
    files = kafka.KafkaFiles(tmp_path / "kafka", tmp_path / "logs")
    cmd = kafka.broker_command(Path("/jdk/bin/java"), tmp_path / "libs", files)
    assert cmd[0] == "/jdk/bin/java"
    assert {"-Xmx512m", "-Xms512m", "-XX:+UseG1GC", "-Djava.awt.headless=true"} <= set(cmd)
    assert f"-Dlog4j2.configurationFile={files.log4j_properties}" in cmd
    assert cmd[cmd.index("-cp") + 1] == f"{tmp_path / 'libs'}/*"
    assert cmd[-2:] == ["kafka.Kafka", str(files.server_properties)]


def test_registry_environment_is_durable_and_loopback(tmp_path):
    files = apicurio.RegistryFiles(tmp_path / "registry", tmp_path / "logs")
    env = apicurio.environment("localhost", 18080, files, base={"PATH": "/bin"})
    assert env["PATH"] == "/bin"
    assert env["APICURIO_STORAGE_KIND"] == "sql"
    assert (
        env["APICURIO_DATASOURCE_URL"]
        == f"jdbc:h2:file:{tmp_path / 'registry' / 'h2' / 'registry'}"
    )
    assert env["QUARKUS_HTTP_HOST"] == env["QUARKUS_MANAGEMENT_HOST"] == "127.0.0.1"
    assert env["QUARKUS_HTTP_PORT"] == "18080"
    cmd = apicurio.command(Path("/jdk/bin/java"), tmp_path / "dist")
    assert "-Xmx512m" in cmd and cmd[-2:] == ["-jar", str(tmp_path / "dist" / "quarkus-run.jar")]


# --- addresses ----------------------------------------------------------------------------------


def test_addresses():
    assert first_bootstrap("127.0.0.1:9092,other:9092") == ("127.0.0.1", 9092)
    assert first_bootstrap("PLAINTEXT://[::1]:19092") == ("::1", 19092)
    with pytest.raises(ValueError):
        first_bootstrap("kafka")
    assert registry_address("http://127.0.0.1:8080/apis/ccompat/v7") == ("127.0.0.1", 8080)
    assert registry_address("https://sr.example") == ("sr.example", 443)
    assert is_loopback("localhost") and is_loopback("127.0.0.1") and is_loopback("::1")
    assert not is_loopback("kafka") and not is_loopback("10.0.0.1")


# --- pid files and processes --------------------------------------------------------------------


def test_pid_file_round_trip(tmp_path):
    pid_file = tmp_path / "run" / "x.pid"
    assert procs.read_pid(pid_file) is None
    procs.write_pid(pid_file, 4242, "127.0.0.1:9092")
    assert procs.read_pid(pid_file) == 4242
    assert procs.read_address(pid_file) == "127.0.0.1:9092"
    pid_file.write_text("4242\n")  # the older one-line format
    assert procs.read_pid(pid_file) == 4242 and procs.read_address(pid_file) is None
    pid_file.write_text("garbage\n")
    assert procs.read_pid(pid_file) is None
    procs.remove_pid(pid_file)
    procs.remove_pid(pid_file)  # idempotent
    assert not pid_file.exists()


def test_is_alive_checks_the_marker_against_the_command_line():
    assert procs.is_alive(os.getpid())
    if Path("/proc/self").exists():
        assert procs.is_alive(os.getpid(), marker=Path(sys.executable).name[:6])
        assert not procs.is_alive(os.getpid(), marker="kafka.Kafka-not-this-process")


def test_stale_pid_file_is_dropped(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    pid_file = tmp_path / "gone.pid"
    procs.write_pid(pid_file, proc.pid)
    assert procs.live_pid(pid_file, marker="python") is None
    assert not pid_file.exists()


def _spawn(tmp_path: Path, script: str) -> int:
    return procs.spawn(
        [sys.executable, "-c", script],
        log_file=tmp_path / "logs" / "t.log",
        cwd=tmp_path,
        env=dict(os.environ),
        pid_file=tmp_path / "t.pid",
        address="test",
        banner="unit test",
    )


def _wait_for_line(log: Path, line: str) -> None:
    for _ in range(200):
        if line in procs.tail(log).splitlines():
            return
        time.sleep(0.05)
    raise AssertionError(f"{line!r} never appeared in {log}:\n{procs.tail(log)}")


def test_spawn_detaches_logs_and_terminate_stops(tmp_path):
    # The greeting is assembled at run time so that the banner (which echoes the command line)
    # cannot satisfy the check.
    pid = _spawn(tmp_path, "import time; print('hello', 'child', flush=True); time.sleep(60)")
    assert procs.read_pid(tmp_path / "t.pid") == pid
    assert os.getsid(pid) == pid  # its own session: survives the parent's terminal and exit
    _wait_for_line(tmp_path / "logs" / "t.log", "hello child")
    assert "unit test" in procs.tail(tmp_path / "logs" / "t.log")
    assert procs.terminate(pid, timeout=10) == "stopped"
    assert not procs.is_alive(pid)
    assert procs.terminate(pid, timeout=1) == "gone"


def test_terminate_escalates_to_sigkill(tmp_path):
    script = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('re' + 'ady', flush=True); time.sleep(60)"
    )
    pid = _spawn(tmp_path, script)
    _wait_for_line(tmp_path / "logs" / "t.log", "ready")  # the handler is installed
    assert procs.terminate(pid, timeout=0.5) == "killed"
    assert not procs.is_alive(pid)


def test_tail_and_rotate(tmp_path):
    log = tmp_path / "x.log"
    assert "no log" in procs.tail(log)
    log.write_text("".join(f"line {i}\n" for i in range(100)))
    assert procs.tail(log, lines=2) == "line 98\nline 99"
    procs.rotate(log, max_bytes=10)
    assert not log.exists() and (tmp_path / "x.log.1").exists()


# --- up / status decisions, with fake servers ---------------------------------------------------


def fake_server(
    tmp_path: Path, name: str, *, healthy: bool, host: str = "127.0.0.1", port: int = 1
):
    def never(_say):
        raise AssertionError(f"{name} must not be started")

    return stack.Server(
        name=name,
        address=f"{host}:{port}",
        host=host,
        port=port,
        marker="fake-marker",
        pid_file=tmp_path / "run" / f"{name}.pid",
        log_file=tmp_path / "logs" / f"{name}.log",
        stop_timeout=1.0,
        probe=lambda: Health(healthy, "fake"),
        prepare=never,
    )


@pytest.fixture
def fake_settings(tmp_path):
    return HubSettings(state_dir=tmp_path, cache_dir=tmp_path / "cache")


def test_up_does_nothing_when_both_answer(monkeypatch, tmp_path, fake_settings):
    monkeypatch.setattr(
        stack,
        "servers",
        lambda s, brokers=None: [
            fake_server(tmp_path, "kafka", healthy=True),
            fake_server(tmp_path, "registry", healthy=True),
        ],
    )
    said: list[str] = []
    assert stack.up(fake_settings, say=said.append) is False
    assert said[-1] == "Dev stack already up: nothing to do."


def test_up_refuses_remote_addresses_and_taken_ports(monkeypatch, tmp_path, fake_settings):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        monkeypatch.setattr(
            stack,
            "servers",
            lambda s, brokers=None: [
                fake_server(tmp_path, "kafka", healthy=False, host="kafka.example"),
                fake_server(tmp_path, "registry", healthy=False, port=taken),
            ],
        )
        with pytest.raises(stack.DevStackError) as err:
            stack.up(fake_settings, say=lambda _m: None)
    assert "only starts servers on loopback" in str(err.value)
    assert f"port 127.0.0.1:{taken} is taken" in str(err.value)


def test_status_command_exit_code(monkeypatch):
    rows = [
        stack.ServerStatus("kafka", "127.0.0.1:9092", Health(True, "ok"), 12),
        stack.ServerStatus("registry", "http://r", Health(False, "refused"), None),
    ]
    monkeypatch.setattr(stack, "status", lambda settings: rows)
    result = CliRunner().invoke(cli.dev_app, ["status"])
    assert result.exit_code == 1
    assert "127.0.0.1:9092" in result.output and "NOT HEALTHY" in result.output
    monkeypatch.setattr(stack, "status", lambda settings: rows[:1])
    assert CliRunner().invoke(cli.dev_app, ["status"]).exit_code == 0


# --- waiting for a starting server: quiet time, not total time ---------------------------------


class FakeTime:
    def __init__(self):
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _starting(tmp_path, monkeypatch, answers_at: float | None, logs_until: float, ticks: FakeTime):
    """A server that writes a log line every tick until ``logs_until`` and answers at ``answers_at``."""
    server = fake_server(tmp_path, "kafka", healthy=False)
    server.log_file.parent.mkdir(parents=True, exist_ok=True)

    def probe():
        if ticks.now < logs_until:
            with server.log_file.open("a") as log:
                log.write(f"[{ticks.now}] INFO Completed load of log partition-{int(ticks.now)}\n")
        return Health(answers_at is not None and ticks.now >= answers_at, "fake")

    server = dataclasses.replace(server, probe=probe)
    stopped: list[int] = []
    monkeypatch.setattr(stack.procs, "is_alive", lambda pid: pid not in stopped)
    monkeypatch.setattr(stack.procs, "terminate", lambda pid, **kw: stopped.append(pid) or "stopped")
    return {"kafka": (server, 4242)}, stopped


def test_a_server_still_writing_its_log_is_waited_for_past_the_timeout(tmp_path, monkeypatch):
    ticks, said = FakeTime(), []
    pending, stopped = _starting(tmp_path, monkeypatch, answers_at=300, logs_until=300, ticks=ticks)
    errors = stack._wait_healthy(pending, 120, said.append, clock=ticks.clock, sleep=ticks.sleep)
    assert errors == [] and stopped == []
    assert said[-1].startswith("kafka: healthy at 127.0.0.1:1 after 300.0s")
    assert any(m.startswith("kafka: still starting after 30s; its log says: [") for m in said)


def test_a_server_with_a_quiet_log_is_stopped_after_the_timeout(tmp_path, monkeypatch):
    ticks = FakeTime()
    pending, stopped = _starting(tmp_path, monkeypatch, answers_at=None, logs_until=50, ticks=ticks)
    (error,) = stack._wait_healthy(pending, 120, lambda _m: None, clock=ticks.clock, sleep=ticks.sleep)
    assert stopped == [4242] and 170 <= ticks.now <= 172
    assert "its log quiet for the last 120s" in error and "hub dev up --timeout N" in error
    assert "Completed load of log" in error  # the tail of its log comes with it


def test_a_server_logging_forever_meets_the_hard_limit(tmp_path, monkeypatch):
    ticks = FakeTime()
    pending, stopped = _starting(tmp_path, monkeypatch, answers_at=None, logs_until=10**9, ticks=ticks)
    (error,) = stack._wait_healthy(pending, 10, lambda _m: None, clock=ticks.clock, sleep=ticks.sleep)
    assert stopped == [4242] and "the hard limit (10× --timeout)" in error
    assert 100 <= ticks.now <= 101.5
