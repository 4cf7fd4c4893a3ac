"""The ``cluster`` marker: tests that start a three-node stack of their own (about a minute or
more on a laptop, ~1.5 GB of RAM) run only when asked, with ``HUB_TEST_CLUSTER=1``."""

from __future__ import annotations

import os

import pytest

ASKED = os.environ.get("HUB_TEST_CLUSTER") == "1"


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "cluster: starts a three-node dev stack of its own; runs only with HUB_TEST_CLUSTER=1")


def pytest_collection_modifyitems(config, items):
    if ASKED:
        return
    skip = pytest.mark.skip(reason="a three-node stack of its own: set HUB_TEST_CLUSTER=1 to run")
    for item in items:
        if item.get_closest_marker("cluster") is not None:
            item.add_marker(skip)
