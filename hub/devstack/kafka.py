"""Apache Kafka 4.x in KRaft combined mode (each node broker + controller), from cached jars.

The command line is what ``kafka-server-start.sh`` would run (``kafka-run-class.sh``'s JVM flags,
a 512 MB heap, log4j2), with the whole ``libs/`` directory on the classpath and ``kafka.Kafka``
as main class. Each node's storage directory is formatted once, before its first start; the
nodes of a cluster share one cluster id (see :mod:`hub.devstack.cluster`).
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
# Three nodes on one machine: one at 384 MB was measured at about 340 MB RSS.
CLUSTER_HEAP = "384m"

# From kafka-run-class.sh (KAFKA_JVM_PERFORMANCE_OPTS); unchanged from 3.9 to 4.x.
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
class Node:
    """One KRaft node (broker + controller) on loopback: clients at ``port``, the controller
    quorum at ``port + 1``."""

    node_id: int
    host: str  # as clients are told (e.g. localhost)
    port: int

    @property
    def bind(self) -> str:
        # Sockets bind to 127.0.0.1 for ``localhost`` so a node never listens beyond loopback,
        # whatever the resolver says.
        return "127.0.0.1" if self.host.lower() == "localhost" else self.host

    @property
    def controller_port(self) -> int:
        return self.port + 1

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class KafkaFiles:
    """Where one node's configuration, data and logs live under the state directory.

    One node keeps the original layout (``kafka/server.properties``, ``kafka/data``); the nodes
    of a cluster each have ``kafka/node-N/``. What all nodes share stays in ``kafka/``: how the
    storage was formatted, the broker's own user, the controller's secret, the log4j2 file."""

    root: Path  # <state_dir>/kafka
    logs_dir: Path  # <state_dir>/logs
    node_id: int = 1
    nodes: int = 1

    @property
    def node_dir(self) -> Path:
        return self.root if self.nodes == 1 else self.root / f"node-{self.node_id}"

    @property
    def server_properties(self) -> Path:
        return self.node_dir / "server.properties"

    @property
    def log4j_properties(self) -> Path:
        return self.root / "log4j2.properties"

    @property
    def data_dir(self) -> Path:
        return self.node_dir / "data"

    @property
    def log_file(self) -> Path:
        return self.logs_dir / ("kafka.log" if self.nodes == 1 else f"kafka-{self.node_id}.log")

    @property
    def heap(self) -> str:
        return HEAP if self.nodes == 1 else CLUSTER_HEAP

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


def replication(nodes: int) -> tuple[int, int]:
    """Replication factor and min.insync.replicas for a cluster of ``nodes``: (1, 1) for one;
    (3, 2) from three on, so one node may be down and every acknowledged write is on two."""
    return (1, 1) if nodes < 3 else (3, 2)


def render_server_properties(host: str, port: int, data_dir: Path,
                             security: BrokerSecurity | None = None, *,
                             node_id: int = 1, quorum: tuple[Node, ...] = ()) -> str:
    """server.properties for the loopback node ``node_id`` on ``port``, its controller on
    ``port + 1``, in a controller quorum of ``quorum`` (default: this node alone).

    ``host`` is what clients were told (e.g. ``localhost``); the sockets bind to 127.0.0.1
    for ``localhost`` so the broker never listens beyond loopback whatever the resolver says.
    With ``security`` the only client listener is SASL_SSL (SCRAM-SHA-512) and ACLs apply.
    """
    node = Node(node_id, host, port)
    quorum = quorum or (node,)
    listener = "SASL_SSL" if security else "PLAINTEXT"
    controller = "SASL_PLAINTEXT" if security else "PLAINTEXT"
    factor, min_isr = replication(len(quorum))
    text = render_template(
        "kafka-server.properties",
        node_id=node_id,
        nodes=len(quorum),
        quorum_voters=",".join(f"{n.node_id}@{n.bind}:{n.controller_port}" for n in quorum),
        host=node.bind,
        port=port,
        controller_port=node.controller_port,
        advertised_host=host,
        log_dirs=data_dir,
        client_listener=listener,
        protocol_map=f"CONTROLLER:{controller},{listener}:{listener}",
        replication=factor,
        min_isr=min_isr,
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
    return render_template("kafka-log4j2.properties")


def java_command(
    java: Path,
    libs_dir: Path,
    main: str,
    *args: str,
    logs_dir: Path,
    log4j: Path,
    jvm: tuple[str, ...] = (),
    heap: str = HEAP,
) -> list[str]:
    """``java`` with Kafka's classpath, logging and performance flags, running ``main``."""
    return [
        str(java),
        f"-Xmx{heap}",
        f"-Xms{heap}",
        *PERFORMANCE_OPTS,
        *jvm,
        f"-Dkafka.logs.dir={logs_dir}",
        # Kafka 4.x logs through log4j2 (3.9's -Dlog4j.configuration is ignored by it).
        f"-Dlog4j2.configurationFile={log4j}",
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
        jvm=((f"-Xlog:gc*:file={files.logs_dir / (files.log_file.stem + '-gc.log')}"
              ":time,tags:filecount=5,filesize=20M"),),
        heap=files.heap,
    )


def is_formatted(data_dir: Path) -> bool:
    """StorageTool writes meta.properties into each log dir it formats."""
    return (data_dir / "meta.properties").is_file()


def new_cluster_id(java: Path, libs_dir: Path, files: KafkaFiles) -> str:
    """A fresh cluster id from ``StorageTool random-uuid``."""
    # Tools log through the same log4j2 file (to stdout), so keep only the id-shaped line.
    uuid_cmd = java_command(
        java,
        libs_dir,
        "kafka.tools.StorageTool",
        "random-uuid",
        logs_dir=files.logs_dir,
        log4j=files.log4j_properties,
        heap="128m",  # a tool, not a broker
    )
    out = subprocess.run(uuid_cmd, capture_output=True, text=True, timeout=120, check=True).stdout
    ids = [line.strip() for line in out.splitlines() if _CLUSTER_ID_RE.match(line.strip())]
    if not ids:
        raise RuntimeError(f"StorageTool random-uuid printed no cluster id: {out!r}")
    return ids[-1]


def format_storage(java: Path, libs_dir: Path, files: KafkaFiles,
                   scram_users: dict[str, str] | None = None, cluster_id: str | None = None) -> str:
    """Format the node's data directory (once) with ``cluster_id`` (default: a fresh one);
    returns the id used. Every node of a cluster is formatted with the same id.

    ``scram_users`` (name → password) exist from the first start (KIP-900): the broker's own
    user must, since the broker authenticates to itself with it."""
    cluster_id = cluster_id or new_cluster_id(java, libs_dir, files)
    fmt_cmd = java_command(
        java,
        libs_dir,
        "kafka.tools.StorageTool",
        "format",
        "-t",
        cluster_id,
        "-c",
        str(files.server_properties),
        "--ignore-formatted",
        *(arg for name, password in (scram_users or {}).items()
          for arg in ("--add-scram", f"SCRAM-SHA-512=[name={name},password={password}]")),
        logs_dir=files.logs_dir,
        log4j=files.log4j_properties,
        heap="256m",
    )
    # The tool's output is kept out of the log: with --add-scram it may print salted keys.
    done = subprocess.run(fmt_cmd, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        errors = [line for line in (done.stdout + done.stderr).splitlines()
                  if "password" not in line.lower() and "scram" not in line.lower()]
        raise RuntimeError("Kafka's storage format failed: " + " | ".join(errors[-5:]))
    with files.log_file.open("a") as log:
        log.write(f"hub dev up: formatted {files.data_dir} (cluster {cluster_id})\n")
    return cluster_id


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
            security: BrokerSecurity | None = None, *, quorum: tuple[Node, ...] = (),
            cluster_id: str | None = None) -> list[str]:
    """Write the node's configuration, format its storage if it never was (with ``cluster_id``,
    default a fresh one), return the broker command."""
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
                  render_server_properties(host, port, files.data_dir, security,
                                           node_id=files.node_id, quorum=quorum))
    files.log4j_properties.write_text(render_log4j())
    if current is None:
        users = {security.broker_user: security.broker_password} if security else {}
        format_storage(java, libs_dir, files, users, cluster_id)
        files.security_marker.write_text(wanted + "\n")
    return broker_command(java, libs_dir, files)
