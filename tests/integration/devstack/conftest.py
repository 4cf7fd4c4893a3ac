"""The ``cluster`` marker: tests that start a three-node stack of their own (about a minute or
more on a laptop, ~1.5 GB of RAM) run only when asked, with ``HUB_TEST_CLUSTER=1``."""

from __future__ import annotations

from tests.integration.helpers import run_only_when_asked


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "cluster: starts a three-node dev stack of its own; runs only with HUB_TEST_CLUSTER=1")


def pytest_collection_modifyitems(config, items):
    run_only_when_asked(items, "cluster", "HUB_TEST_CLUSTER", "a three-node stack of its own")
