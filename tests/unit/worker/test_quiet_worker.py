"""The router's faust worker logs at the level asked for: nothing below it is even built."""

import logging

import faust
import pytest

from hub.worker.app import quiet_worker


@pytest.fixture
def root_level():
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    root.setLevel(level)
    root.handlers[:] = handlers


def test_the_worker_leaves_debug_records_unbuilt(root_level, tmp_path):
    app = faust.App("quiet-worker-test", broker="kafka://127.0.0.1:1", web_enabled=False, datadir=str(tmp_path))
    worker = quiet_worker(app, "warning")
    worker.on_setup_root_logger(logging.getLogger(), logging.WARNING)
    worker._setup_logging()

    # faust's spinner would have set the root to DEBUG, so every aiokafka debug call built a record
    assert not logging.getLogger("aiokafka.producer").isEnabledFor(logging.DEBUG)
    assert logging.getLogger().getEffectiveLevel() == logging.WARNING
