"""The layout's rules, checked on the source (ARCHITECTURE.md states them for people).

Read with :mod:`ast`, nothing imported: the pure core imports no I/O library, no module takes a
private name from another, imports form no cycle, every Kafka and registry client is built in
``hub/kafka/clients.py``, the hub's root holds only its settings, its errors and its packages.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("hub", "producers", "consumers", "adapters", "schemas", "bench")
IO_LIBRARIES = {"kafka", "confluent_kafka", "faust", "aiokafka", "httpx", "httpx2", "fastapi",
                "starlette", "uvicorn", "sqlite3", "sqlalchemy", "psycopg", "socket", "requests",
                "testcontainers", "typer", "rich"}
CLIENT_CLASSES = {"KafkaConsumer", "KafkaProducer", "KafkaAdminClient", "SchemaRegistryClient"}
MAX_LINES = 450


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, tuple[Path, ast.Module]]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[module_name(path)] = (path, ast.parse(path.read_text(encoding="utf-8")))
    return found


def imports(tree: ast.Module, name: str, path: Path) -> list[tuple[str, list[str]]]:
    """``(module imported, names taken from it)`` for every import statement of a module."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            out.append((base, [alias.name for alias in node.names]))
    return out


def project_target(imported: str, taken: list[str]) -> list[str]:
    """The project modules an import statement depends on (a submodule when it names one)."""
    known = modules()
    targets = [f"{imported}.{n}" for n in taken if f"{imported}.{n}" in known]
    if imported in known and len(targets) < len(taken):
        targets.append(imported)
    return targets


def test_the_domain_core_imports_no_io_library():
    offenders = [f"{name} imports {imported}"
                 for name, (path, tree) in modules().items() if name.startswith("hub.domain")
                 for imported, _ in imports(tree, name, path)
                 if imported.split(".")[0] in IO_LIBRARIES]
    assert offenders == []


def test_no_module_takes_a_private_name_from_another():
    offenders = [f"{name}: from {imported} import {taken}"
                 for name, (path, tree) in modules().items()
                 for imported, names in imports(tree, name, path) if imported in modules()
                 for taken in names if taken.startswith("_") and not taken.startswith("__")]
    assert offenders == []


def test_imports_form_no_cycle():
    graph = {name: {t for imported, taken in imports(tree, name, path)
                    for t in project_target(imported, taken) if t != name}
             for name, (path, tree) in modules().items()}
    cycles, state = [], {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                cycles.append(" -> ".join([*trail[trail.index(nxt):], nxt]))
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = "done"

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    assert cycles == []


def test_kafka_and_registry_clients_are_built_only_in_hub_kafka_clients():
    offenders = [f"{name}:{node.lineno} builds {node.func.id}"
                 for name, (_path, tree) in modules().items()
                 if name != "hub.kafka.clients" and not name.startswith("bench")
                 for node in ast.walk(tree)
                 if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                 and node.func.id in CLIENT_CLASSES]
    assert offenders == []


def test_the_hub_root_holds_only_settings_errors_and_packages():
    loose = sorted(p.name for p in (ROOT / "hub").glob("*.py"))
    assert loose == ["__init__.py", "config.py", "errors.py"]


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_is_longer_than_the_limit(package):
    long = [f"{module_name(p)}: {n} lines" for p in (ROOT / package).rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES]
    assert long == []


def test_only_the_entry_points_of_the_hub_use_the_sdks():
    """The hub's core never depends on the SDKs built on it (producers, consumers, adapters):
    only the composition roots — the ``hub`` command and the demo — wire them in."""
    sdks = ("producers", "consumers", "adapters")
    offenders = [f"{name} imports {imported}"
                 for name, (path, tree) in modules().items()
                 if name.startswith("hub.") and not name.startswith(("hub.cli", "hub.demo"))
                 for imported, _ in imports(tree, name, path) if imported.split(".")[0] in sdks]
    assert offenders == []


# The layers of ARCHITECTURE.md, top (entry points) to bottom (the pure core). A module may
# import from its own layer and the layers below it, never from a layer above.
LAYERS = (
    ("hub.cli", "hub.demo"),
    ("producers", "consumers", "adapters"),
    ("hub.worker", "hub.projections", "hub.audit", "hub.replay", "hub.api", "hub.memory"),
    ("hub.schema_registry", "hub.devstack"),
    ("hub.wire", "hub.rules", "hub.kafka", "hub.security", "hub.observability"),
    ("hub.domain", "hub.config", "hub.errors", "schemas"),
)


def layer_of(module: str) -> int | None:
    return next((depth for depth, prefixes in enumerate(LAYERS)
                 if any(module == p or module.startswith(p + ".") for p in prefixes)), None)


def test_imports_point_down_the_layers():
    upward = [f"{name} -> {target}"
              for name, (path, tree) in modules().items() if (mine := layer_of(name)) is not None
              for imported, taken in imports(tree, name, path)
              for target in project_target(imported, taken)
              if (theirs := layer_of(target)) is not None and theirs < mine]
    assert upward == []
