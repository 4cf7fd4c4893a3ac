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


def render_server_properties(host: str, port: int, data_dir: Path) -> str:
    """server.properties for a loopback broker on ``port``, its controller on ``port + 1``.

    ``host`` is what clients were told (e.g. ``localhost``); the sockets bind to 127.0.0.1
    for ``localhost`` so the broker never listens beyond loopback whatever the resolver says.
    """
    bind = "127.0.0.1" if host.lower() == "localhost" else host
    return render_template(
        "kafka-server.properties",
        host=bind,
        port=port,
        controller_port=port + 1,
        advertised_host=host,
        log_dirs=data_dir,
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


def format_storage(java: Path, libs_dir: Path, files: KafkaFiles) -> str:
    """Format the data directory with a fresh cluster id (once); returns the id used."""
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
        logs_dir=files.logs_dir,
        log4j=files.log4j_properties,
    )
    with files.log_file.open("ab") as log:
        subprocess.run(fmt_cmd, stdout=log, stderr=subprocess.STDOUT, timeout=120, check=True)
    return ids[-1]


def prepare(java: Path, libs_dir: Path, files: KafkaFiles, host: str, port: int) -> list[str]:
    """Write the configuration, format storage if it never was, return the broker command."""
    files.root.mkdir(parents=True, exist_ok=True)
    files.logs_dir.mkdir(parents=True, exist_ok=True)
    files.data_dir.mkdir(parents=True, exist_ok=True)
    files.server_properties.write_text(render_server_properties(host, port, files.data_dir))
    files.log4j_properties.write_text(render_log4j())
    if not is_formatted(files.data_dir):
        format_storage(java, libs_dir, files)
    return broker_command(java, libs_dir, files)
