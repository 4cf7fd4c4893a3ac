"""Every log record of a hub process is masked, whichever library logs it and however."""

from __future__ import annotations

import io
import logging

import pytest

from hub.cli import redacted_logging

ID_NUMBER = "330106199001011234"


@pytest.fixture
def captured():
    previous = logging.getLogRecordFactory()
    redacted_logging._installed = False
    redacted_logging.install()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    logger = logging.getLogger("test.redacted")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield logger, stream
    finally:
        logger.removeHandler(handler)
        logging.setLogRecordFactory(previous)
        redacted_logging._installed = False


def test_a_message_and_its_arguments_are_masked(captured):
    logger, stream = captured
    logger.info("subject %s refused: %s", ID_NUMBER, KeyError(ID_NUMBER))
    logger.info(f"inline {ID_NUMBER}")
    out = stream.getvalue()
    assert ID_NUMBER not in out and out.count("330106********1234") == 3


def test_arguments_read_directly_are_masked_as_uvicorns_access_formatter_does(captured):
    logger, _ = captured
    record = logger.makeRecord(logger.name, logging.INFO, __file__, 1, '%s - "%s %s"',
                               ("127.0.0.1:5000", "GET", f"/v1/subjects/{ID_NUMBER}/timeline"), None)
    assert record.args[2] == "/v1/subjects/330106********1234/timeline"


def test_a_traceback_is_masked(captured):
    logger, stream = captured
    try:
        raise ValueError(f"bad subject {ID_NUMBER}")
    except ValueError:
        logger.exception("failed")
    out = stream.getvalue()
    assert "Traceback" in out and "ValueError: bad subject 330106********1234" in out
    assert ID_NUMBER not in out


def test_installing_twice_keeps_one_factory(captured):
    redacted_logging.install()
    assert logging.getLogRecordFactory() is redacted_logging.RedactedRecord
