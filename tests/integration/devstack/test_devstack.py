"""`hub dev` on the real processes.

The shared stack (the configured addresses) is only brought up and probed, never stopped, so
other tests and shells keep working. Restarts are exercised on a private registry: its own port
and state directory, next to the shared broker — which also shows that `up` starts only the
server that does not answer.
"""

from __future__ import annotations

import json
import shutil
import socket

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from typer.testing import CliRunner

from hub.config import HubSettings
from hub.devstack import procs, stack
from hub.cli.dev import dev_app
from hub.kafka.clients import Clients

pytestmark = pytest.mark.integration


def _quiet(_message: str) -> None:
    pass


@pytest.fixture(scope="module")
def shared() -> HubSettings:
    settings = HubSettings()
    stack.up(settings, say=_quiet)
    return settings


def test_status_reports_both_healthy_after_up(shared):
    result = CliRunner().invoke(dev_app, ["status"])
    assert result.exit_code == 0, result.output
    assert shared.bootstrap_servers in result.output
    assert shared.schema_registry_url in result.output
    assert result.output.count("healthy") == 2 and "NOT HEALTHY" not in result.output


def test_up_is_idempotent(shared):
    pids = {s.name: procs.read_pid(s.pid_file) for s in stack.servers(shared)}
    said: list[str] = []
    assert stack.up(shared, say=said.append) is False
    assert said[-1] == "Dev stack already up: nothing to do."
    assert {s.name: procs.read_pid(s.pid_file) for s in stack.servers(shared)} == pids


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def private_registry(shared, tmp_path):
    """Settings whose registry is a private process (own port, own state) by the shared broker."""
    settings = HubSettings(
        bootstrap_servers=shared.bootstrap_servers,
        schema_registry_url=f"http://127.0.0.1:{_free_port()}/apis/ccompat/v7",
        kafka_security=shared.kafka_security,
        state_dir=tmp_path / "state",
        cache_dir=shared.cache_dir,
    )
    # The shared broker's principals and CA, so the private registry knows the same accounts.
    for kept in ("credentials", "tls"):
        if (shared.state_dir / kept).is_dir():
            shutil.copytree(shared.state_dir / kept, settings.state_dir / kept)
    yield settings
    stack.down(settings, say=_quiet)  # stops only what this state dir started: the registry
    assert stack.servers(shared)[0].health(), "the shared broker must still be running"


def test_registry_data_survives_a_restart(private_registry):
    settings = private_registry
    said: list[str] = []
    assert stack.up(settings, say=said.append) is True
    assert any(m.startswith("kafka: already answering") for m in said)  # only the missing one
    assert any(m.startswith("registry: started pid") for m in said)

    schema = Schema(
        json.dumps(
            {
                "type": "record",
                "name": "Durable",
                "namespace": "devstack.test",
                "fields": [{"name": "a", "type": "string"}],
            }
        ),
        "AVRO",
    )
    client = Clients(settings).registry  # the operator: only it may register
    schema_id = client.register_schema("durable-value", schema)

    stack.down(settings, say=_quiet)
    registry_server = stack.servers(settings)[1]
    assert not registry_server.health()
    assert procs.read_pid(registry_server.pid_file) is None

    stack.up(settings, say=_quiet)
    fresh = SchemaRegistryClient({"url": settings.schema_registry_url, "timeout": 10})
    assert json.loads(fresh.get_schema(schema_id).schema_str)["name"] == "Durable"
    latest = fresh.get_latest_version("durable-value")
    assert (latest.schema_id, latest.version) == (schema_id, 1)
