"""The fault matrix (issue 12): slow (a drill is about three minutes), so it runs only when asked:
``make test-faults`` (``HUB_TEST_FAULTS=1``). It starts stacks of its own — three Kafka nodes and
a registry; one node and a registry — on free loopback ports, never the shared dev stack."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.faults.drill_stack import DrillStack
from tests.faults.proxy import DelayProxy
from tests.faults.report import markdown_table
from tests.integration.helpers import run_only_when_asked

RESULTS: list[dict] = []
RESULTS_DIR = Path(__file__).resolve().parents[2] / ".state" / "faults"


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "faults: a fault drill on stacks of its own; runs only with HUB_TEST_FAULTS=1")


def pytest_collection_modifyitems(config, items):
    run_only_when_asked(items, "faults", "HUB_TEST_FAULTS",
                        "a fault drill on stacks of its own (`make test-faults` runs it)")


@pytest.fixture(scope="session")
def drill_stacks(tmp_path_factory):
    """Started on first use, stopped when the session ends: ``{nodes: (stack, proxy)}``."""
    started: dict[int, tuple[DrillStack, DelayProxy]] = {}

    def get(nodes: int) -> tuple[DrillStack, DelayProxy]:
        if nodes not in started:
            stack = DrillStack(nodes, tmp_path_factory.mktemp(f"stack{nodes}") / "state",
                               start_port=41092 if nodes == 3 else 42092)
            stack.up()
            proxy = DelayProxy("127.0.0.1", stack.registry_port).__enter__()
            started[nodes] = (stack, proxy)
        return started[nodes]

    yield get
    for stack, proxy in started.values():
        proxy.__exit__(None, None, None)
        stack.down()


@pytest.fixture(scope="session")
def record_figures():
    yield RESULTS.append
    if RESULTS:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        path = RESULTS_DIR / f"matrix-{time.strftime('%Y%m%dT%H%M%S')}.json"
        path.write_text(json.dumps(RESULTS, indent=2, ensure_ascii=False))
        print(f"\nfault matrix figures written to {path}")


def pytest_terminal_summary(terminalreporter):
    if RESULTS:
        terminalreporter.write_sep("=", "fault matrix")
        terminalreporter.write_line(markdown_table(RESULTS))
