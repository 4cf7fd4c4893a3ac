"""Apache Kafka in KRaft combined mode (one node, broker + controller), from cached jars.

The command line is what ``kafka-server-start.sh`` would run (``kafka-run-class.sh``'s JVM flags,
a 512 MB heap), with the whole ``libs/`` directory on the classpath and ``kafka.Kafka`` as main
class. The storage directory is formatted once, before the first start.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from hub.devstack.fetch import render_template
from hub.security.credentials import write_private

MARKER = "kafka.Kafka"  # main class: identifies our broker in a process list
HEAP = "512m"

# From kafka-run-class.sh (KAFKA_JVM_PERFORMANCE_OPTS) for Kafka 3.9.
PERFORMANCE_OPTS = (
    "-server",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-Djava.awt.headless=true",
)

_CLUSTER_ID_RE = re.compile(r"^[A-Za-z0-9_-]{22}$")


@dataclass(frozen=True)
class KafkaFiles:
    """Where one broker's configuration, data and logs live under the state directory."""

    root: Path  # <state_dir>/kafka
    logs_dir: Path  # <state_dir>/logs

    @property
    def server_properties(self) -> Path:
        return self.root / "server.properties"

    @property
    def log4j_properties(self) -> Path:
        return self.root / "log4j.properties"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.logs_dir / "kafka.log"

    @property
    def security_marker(self) -> Path:
        """Says how the data directory was formatted: ``sasl_ssl`` or ``plaintext``."""
        return self.root / "security"

    @property
    def admin_properties(self) -> Path:
        """The broker's own SCRAM user (a super user), in client-properties form: what
        ``hub dev`` uses to create the principals and their ACLs."""
        return self.root / "broker-admin.properties"


@dataclass(frozen=True)
class BrokerSecurity:
    """What a secured broker needs: its own users and passwords, its TLS files, super users."""

    broker_user: str
    broker_password: str
    controller_user: str
    controller_password: str
    keystore: Path
    truststore: Path
    super_users: tuple[str, ...]


def render_server_properties(host: str, port: int, data_dir: Path,
                             security: BrokerSecurity | None = None) -> str:
    """server.properties for a loopback broker on ``port``, its controller on ``port + 1``.

    ``host`` is what clients were told (e.g. ``localhost``); the sockets bind to 127.0.0.1
    for ``localhost`` so the broker never listens beyond loopback whatever the resolver says.
    With ``security`` the only client listener is SASL_SSL (SCRAM-SHA-512) and ACLs apply.
    """
    bind = "127.0.0.1" if host.lower() == "localhost" else host
    listener = "SASL_SSL" if security else "PLAINTEXT"
    controller = "SASL_PLAINTEXT" if security else "PLAINTEXT"
    text = render_template(
        "kafka-server.properties",
        host=bind,
        port=port,
        controller_port=port + 1,
        advertised_host=host,
        log_dirs=data_dir,
        client_listener=listener,
        protocol_map=f"CONTROLLER:{controller},{listener}:{listener}",
    )
    if security is None:
        return text
    return text + render_template(
        "kafka-security.properties",
        broker_user=security.broker_user, broker_password=security.broker_password,
        controller_user=security.controller_user, controller_password=security.controller_password,
        keystore=security.keystore, truststore=security.truststore,
        super_users=";".join(f"User:{u}" for u in security.super_users),
    )


def render_log4j() -> str:
    return render_template("kafka-log4j.properties")


def java_command(
    java: Path,
    libs_dir: Path,
    main: str,
    *args: str,
    logs_dir: Path,
    log4j: Path,
    jvm: tuple[str, ...] = (),
) -> list[str]:
    """``java`` with Kafka's classpath, logging and performance flags, running ``main``."""
    return [
        str(java),
        f"-Xmx{HEAP}",
        f"-Xms{HEAP}",
        *PERFORMANCE_OPTS,
        *jvm,
        f"-Dkafka.logs.dir={logs_dir}",
        f"-Dlog4j.configuration=file:{log4j}",
        "-cp",
        f"{libs_dir}/*",  # the JVM expands "dir/*" itself: no shell involved
        main,
        *args,
    ]


def broker_command(java: Path, libs_dir: Path, files: KafkaFiles) -> list[str]:
    return java_command(
        java,
        libs_dir,
        MARKER,
        str(files.server_properties),
        logs_dir=files.logs_dir,
        log4j=files.log4j_properties,
        # kafka-server-start.sh's "-loggc": a rotated GC log beside the broker log.
        jvm=(
            f"-Xlog:gc*:file={files.logs_dir / 'kafka-gc.log'}:time,tags:filecount=5,filesize=20M",
        ),
    )


def is_formatted(data_dir: Path) -> bool:
    """StorageTool writes meta.properties into each log dir it formats."""
    return (data_dir / "meta.properties").is_file()


def format_storage(java: Path, libs_dir: Path, files: KafkaFiles,
                   scram_users: dict[str, str] | None = None) -> str:
    """Format the data directory with a fresh cluster id (once); returns the id used.

    ``scram_users`` (name → password) exist from the first start (KIP-900): the broker's own
    user must, since the broker authenticates to itself with it."""
    # Tools log through the same log4j file (to stdout), so keep only the id-shaped line.
    uuid_cmd = java_command(
        java,
        libs_dir,
        "kafka.tools.StorageTool",
        "random-uuid",
        logs_dir=files.logs_dir,
        log4j=files.log4j_properties,
    )
    out = subprocess.run(uuid_cmd, capture_output=True, text=True, timeout=120, check=True).stdout
    ids = [line.strip() for line in out.splitlines() if _CLUSTER_ID_RE.match(line.strip())]
    if not ids:
        raise RuntimeError(f"StorageTool random-uuid printed no cluster id: {out!r}")
    fmt_cmd = java_command(
        java,
        libs_dir,
        "kafka.tools.StorageTool",
        "format",
        "-t",
        ids[-1],
        "-c",
        str(files.server_properties),
        "--ignore-formatted",
        *(arg for name, password in (scram_users or {}).items()
          for arg in ("--add-scram", f"SCRAM-SHA-512=[name={name},password={password}]")),
        logs_dir=files.logs_dir,
        log4j=files.log4j_properties,
    )
    # The tool's output is kept out of the log: with --add-scram it may print salted keys.
    done = subprocess.run(fmt_cmd, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        errors = [line for line in (done.stdout + done.stderr).splitlines()
                  if "password" not in line.lower() and "scram" not in line.lower()]
        raise RuntimeError("Kafka's storage format failed: " + " | ".join(errors[-5:]))
    with files.log_file.open("a") as log:
        log.write(f"hub dev up: formatted {files.data_dir} (cluster {ids[-1]})\n")
    return ids[-1]


def formatted_as(files: KafkaFiles) -> str | None:
    """How the data directory was formatted; None if it never was (before the marker existed,
    every dev broker was plaintext)."""
    if not is_formatted(files.data_dir):
        return None
    try:
        return files.security_marker.read_text().strip()
    except FileNotFoundError:
        return "plaintext"


def prepare(java: Path, libs_dir: Path, files: KafkaFiles, host: str, port: int,
            security: BrokerSecurity | None = None) -> list[str]:
    """Write the configuration, format storage if it never was, return the broker command."""
    files.root.mkdir(parents=True, exist_ok=True)
    files.logs_dir.mkdir(parents=True, exist_ok=True)
    files.data_dir.mkdir(parents=True, exist_ok=True)
    wanted = "sasl_ssl" if security else "plaintext"
    current = formatted_as(files)
    if current not in (None, wanted):
        raise RuntimeError(
            f"the broker's data in {files.data_dir} was formatted {current}, but HUB_KAFKA_SECURITY "
            f"asks for {wanted}: a broker cannot change that in place. Use another HUB_STATE_DIR, "
            f"or `hub dev down` and delete {files.root} (its topics are lost).")
    write_private(files.server_properties,
                  render_server_properties(host, port, files.data_dir, security))
    files.log4j_properties.write_text(render_log4j())
    if current is None:
        users = {security.broker_user: security.broker_password} if security else {}
        format_storage(java, libs_dir, files, users)
        files.security_marker.write_text(wanted + "\n")
    return broker_command(java, libs_dir, files)
