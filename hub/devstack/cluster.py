"""How many KRaft nodes the dev stack runs, where they listen, and what hub commands need for it.

``hub dev up`` runs one node by default; ``hub dev up --brokers 3`` runs three, each a combined
broker + controller (three voters: the quorum survives one node down, like the data with
replication 3 and ``min.insync.replicas`` 2). Node N listens for clients at the settings' first
bootstrap port + 2·(N-1) and for its quorum at the port after it: 9092/9093, 9094/9095,
9096/9097 by default. A bootstrap list naming every node is taken as it is instead.

The node count is fixed when the storage is formatted (the quorum's voters are part of it) and
remembered in ``<state_dir>/kafka/nodes``; later ``hub dev`` commands without ``--brokers`` use
it, and asking for another count is refused with the way out. ``<state_dir>/dev-stack.env``
holds the ``HUB_*`` settings that other hub commands need for the stack (every node's address,
the replication of the hub's topics).
"""

from __future__ import annotations

from pathlib import Path

from hub.config import HubSettings
from hub.errors import DevStackError
from hub.devstack.health import first_bootstrap
from hub.devstack.kafka import KafkaFiles, Node, is_formatted, replication

ALLOWED = (1, 3)  # one node, or a quorum that survives one node down


def nodes_marker(kafka_root: Path) -> Path:
    return kafka_root / "nodes"


def env_file(state_dir: Path) -> Path:
    return Path(state_dir) / "dev-stack.env"


def formatted_nodes(kafka_root: Path) -> int | None:
    """How many nodes the storage under ``kafka_root`` was formatted for; None if never (a
    single-node directory from before the marker existed counts as one)."""
    try:
        return int(nodes_marker(kafka_root).read_text().strip())
    except (FileNotFoundError, ValueError):
        pass
    if is_formatted(kafka_root / "data"):
        return 1
    if any(is_formatted(d / "data") for d in kafka_root.glob("node-*")):
        return len(list(kafka_root.glob("node-*")))
    return None


def remember(kafka_root: Path, count: int) -> None:
    kafka_root.mkdir(parents=True, exist_ok=True)
    nodes_marker(kafka_root).write_text(f"{count}\n")


def node_count(state_dir: Path, brokers: int | None) -> int:
    """The number of nodes to run: ``brokers`` if given (and it matches how the storage was
    formatted), else the remembered count, else one."""
    kafka_root = Path(state_dir) / "kafka"
    formatted = formatted_nodes(kafka_root)
    if brokers is None:
        return formatted or 1
    if brokers not in ALLOWED:
        raise DevStackError(f"--brokers {brokers}: the dev stack runs 1 or 3 KRaft nodes.")
    if formatted not in (None, brokers):
        raise DevStackError(
            f"the Kafka data in {kafka_root} was formatted for {formatted} node(s), but "
            f"`--brokers {brokers}` asks for {brokers}: a KRaft quorum's voters are fixed when its "
            f"storage is formatted. Run `hub dev up` without --brokers (or with --brokers "
            f"{formatted}) for this state directory; or use another HUB_STATE_DIR for a "
            f"{brokers}-node stack; or `hub dev down` and delete {kafka_root} (its topics are lost).")
    return brokers


def nodes(settings: HubSettings, count: int) -> tuple[Node, ...]:
    """The nodes' addresses: the bootstrap list if it names ``count`` servers, else derived
    from its first address (node N at port + 2·(N-1), each controller at port + 1). One node is
    the first address, whatever follows it (e.g. a cluster that is not ours, probed only)."""
    listed = [s.strip() for s in settings.bootstrap_servers.split(",") if s.strip()]
    if count == 1:  # as before clusters: whatever answers at the settings' (first) address
        return (Node(1, *first_bootstrap(listed[0])),)
    if len(listed) == count:
        found = tuple(Node(i, *first_bootstrap(a)) for i, a in enumerate(listed, start=1))
    elif len(listed) == 1:
        host, port = first_bootstrap(listed[0])
        found = tuple(Node(i, host, port + 2 * (i - 1)) for i in range(1, count + 1))
    else:
        raise DevStackError(
            f"HUB_BOOTSTRAP_SERVERS names {len(listed)} servers but the dev stack has {count} "
            f"node(s): give one address (the others follow it, two ports apart) or all {count}.")
    ports = [p for n in found for p in (n.port, n.controller_port)]
    if len(set(ports)) != len(ports):
        raise DevStackError(
            f"the nodes' ports collide ({', '.join(n.address for n in found)}; each node also "
            f"takes the port after its own for the controller): space them two ports apart.")
    return found


def files(state_dir: Path, count: int) -> list[KafkaFiles]:
    root, logs = Path(state_dir) / "kafka", Path(state_dir) / "logs"
    return [KafkaFiles(root, logs, node_id=i, nodes=count) for i in range(1, count + 1)]


def cluster_settings(settings: HubSettings, quorum: tuple[Node, ...]) -> HubSettings:
    """The settings as the stack's own clients (probes, principals, ACLs) and the credentials
    files should see the cluster: one node as configured, several all listed."""
    if len(quorum) == 1:
        return settings
    return settings.model_copy(
        update={"bootstrap_servers": ",".join(n.address for n in quorum)})


def wanted_env(settings: HubSettings, quorum: tuple[Node, ...]) -> dict[str, str]:
    """The ``HUB_*`` settings every hub command needs to use this stack as it is meant to be."""
    factor, _ = replication(len(quorum))
    return {
        "HUB_STATE_DIR": str(Path(settings.state_dir).resolve()),
        "HUB_BOOTSTRAP_SERVERS": cluster_settings(settings, quorum).bootstrap_servers,
        "HUB_SCHEMA_REGISTRY_URL": settings.schema_registry_url,
        "HUB_TOPIC_REPLICATION": str(factor),
    }


def write_env(settings: HubSettings, quorum: tuple[Node, ...]) -> tuple[Path, list[str]]:
    """Write ``dev-stack.env``; return its path and the settings the current process lacks
    (empty when the environment already matches: nothing to tell)."""
    wanted = wanted_env(settings, quorum)
    path = env_file(settings.state_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"# Written by `hub dev up` ({len(quorum)} Kafka node(s)): the settings hub commands need\n"
        "# for this stack. Load into a shell with: set -a; . <this file>; set +a\n"
        + "".join(f"{k}={v}\n" for k, v in wanted.items()))
    current = {
        "HUB_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "HUB_TOPIC_REPLICATION": str(settings.topic_replication),
    }
    lacking = [f"{k}={wanted[k]}" for k, v in current.items() if v != wanted[k]]
    return path, lacking
