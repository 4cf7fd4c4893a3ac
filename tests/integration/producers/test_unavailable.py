"""Kafka or the registry unreachable: publish fails clearly, in bounded time, writing nothing."""

from __future__ import annotations

import random
import time

import pytest

from hub.api.local_server import free_port
from hub.devstack import procs, stack
from hub.errors import PublishUnavailable
from hub.domain.catalogue import CATALOGUE
from producers.demo_data import generate
from producers.publisher import Publisher
from tests.integration.producers.test_publish_roundtrip import ingest  # noqa: F401  (fixture)

MARRIAGE = CATALOGUE["marriage_registered"]
TIMEOUT_S = 3.0
# Bound on how long a failing publish may take: the configured timeout plus the client's own
# final wait and process scheduling on a loaded 2-core machine.
BOUND_S = TIMEOUT_S * 3 + 5


def _submission():
    return generate(MARRIAGE.event_type, random.Random(11))


def _publish_and_time(settings) -> tuple[PublishUnavailable, float]:
    started = time.monotonic()
    with Publisher(MARRIAGE.owner, settings) as publisher:
        with pytest.raises(PublishUnavailable) as failure:
            publisher.publish_raw("marriage_registered", _submission())
    return failure.value, time.monotonic() - started


def test_unreachable_broker_fails_in_bounded_time(settings):
    dead = settings.model_copy(update={"bootstrap_servers": f"127.0.0.1:{free_port()}",
                                       "publish_timeout_s": TIMEOUT_S})
    error, elapsed = _publish_and_time(dead)
    assert "not written" in str(error) and dead.bootstrap_servers in str(error)
    assert elapsed < BOUND_S


def test_unreachable_registry_fails_in_bounded_time(settings, offsets):
    before = offsets()
    dead = settings.model_copy(update={"schema_registry_url": f"http://127.0.0.1:{free_port()}",
                                       "publish_timeout_s": TIMEOUT_S})
    error, elapsed = _publish_and_time(dead)
    assert "schema registry" in str(error)
    assert elapsed < BOUND_S
    assert offsets() == before


@pytest.fixture
def local_kafka(settings):
    """The local dev broker's server handle; restarted after the test whatever happens."""
    server = stack.servers(settings)[0]
    if procs.live_pid(server.pid_file, server.marker) is None:
        pytest.skip("the broker is not a local `hub dev` process (testcontainers or external)")
    yield server
    stack.up(settings, say=lambda _msg: None)


def test_stopped_broker_sdk_and_http_fail_clearly_and_nothing_is_written(
    settings, offsets, ingest, local_kafka  # noqa: F811
):
    client, tokens = ingest
    before = offsets()
    quick = settings.model_copy(update={"publish_timeout_s": TIMEOUT_S})
    pid = procs.live_pid(local_kafka.pid_file, local_kafka.marker)
    procs.terminate(pid, timeout=local_kafka.stop_timeout, marker=local_kafka.marker)

    error, elapsed = _publish_and_time(quick)
    assert "did not accept the event" in str(error) and elapsed < BOUND_S
    response = client.post("/v1/events/marriage_registered", json=_submission(),
                           headers={"Authorization": f"Bearer {tokens[MARRIAGE.owner]}"})
    assert response.status_code == 503, response.text
    assert int(response.headers["Retry-After"]) > 0

    stack.up(settings, say=lambda _msg: None)
    assert offsets() == before
