"""`hub schemas check | register` against the real registry: compatible changes pass,
breaking ones are refused with the field named, and the registry enforces the same level."""

from __future__ import annotations

import json

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError
from typer.testing import CliRunner

from hub.cli.app import app
from hub.kafka.admin import ensure_topics, hub_topics
from hub.kafka.clients import Clients
from hub.kafka.topic_names import TopicNames
from hub.domain.catalogue import CATALOGUE
from hub.wire.schemas import event_schema

MARRIAGE = CATALOGUE["marriage_registered"]


def _env(settings) -> dict:
    return {"HUB_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
            "HUB_SCHEMA_REGISTRY_URL": settings.schema_registry_url,
            "HUB_TOPIC_PREFIX": settings.topic_prefix}


def _candidate(tmp_path, change) -> str:
    schema = event_schema(MARRIAGE)
    change(schema["fields"][1]["type"]["fields"])  # the payload record's fields
    path = tmp_path / "candidate.avsc"
    path.write_text(json.dumps(schema, ensure_ascii=False), encoding="utf-8")
    return str(path)


def _run(settings, *args):
    return CliRunner().invoke(app, ["schemas", *args], env=_env(settings))


def _add_optional(fields):
    fields.append({"name": "witness_name", "type": ["null", "string"], "default": None})


def _remove_office(fields):
    fields[:] = [f for f in fields if f["name"] != "registration_office"]


def _retype_certificate(fields):
    next(f for f in fields if f["name"] == "certificate_number")["type"] = "long"


def test_register_covers_every_subject_the_hub_writes(make_settings):
    """The production path (`hub topics ensure`, `hub schemas register`) leaves nothing for the
    router to miss: its items, decisions, outcomes and dead letters have their subjects too."""
    fresh = make_settings()
    with Clients(fresh) as clients:
        ensure_topics(clients, hub_topics(fresh.topic_prefix))  # (so the test's clean-up finds them)
        result = _run(fresh, "register")
        assert result.exit_code == 0, result.output
        names = TopicNames(fresh.topic_prefix)
        missing = []
        for topic in [*names.all_events(), *names.internal()]:
            try:
                clients.registry.get_latest_version(f"{topic}-value")
            except SchemaRegistryError:
                missing.append(topic)
    assert missing == []


def test_check_reports_every_subject_ok(settings):
    result = _run(settings, "check")
    assert result.exit_code == 0, result.output
    assert result.output.count("OK") == len(CATALOGUE)


def test_adding_an_optional_field_passes_and_registers_version_2(settings, tmp_path):
    path = _candidate(tmp_path, _add_optional)
    check = _run(settings, "check", "--file", path, "--event-type", "marriage_registered")
    assert check.exit_code == 0, check.output
    register = _run(settings, "register", "--file", path, "--event-type", "marriage_registered")
    assert register.exit_code == 0, register.output
    client = SchemaRegistryClient({"url": settings.schema_registry_url, "timeout": 10})
    assert client.get_versions(f"{MARRIAGE.topic(settings.topic_prefix)}-value") == [1, 2]


@pytest.mark.parametrize("change,field", [
    (_remove_office, "payload.registration_office"),
    (_retype_certificate, "payload.certificate_number"),
], ids=["remove-field-without-default", "change-type"])
def test_breaking_changes_are_refused_naming_the_field(settings, tmp_path, change, field):
    path = _candidate(tmp_path, change)
    for command in ("check", "register"):
        result = _run(settings, command, "--file", path, "--event-type", "marriage_registered")
        assert result.exit_code == 1, result.output
        assert field in result.output
    client = SchemaRegistryClient({"url": settings.schema_registry_url, "timeout": 10})
    assert client.get_versions(f"{MARRIAGE.topic(settings.topic_prefix)}-value") == [1]


def test_registry_itself_refuses_an_incompatible_version(settings, tmp_path):
    """A client that bypasses `hub schemas` still meets FULL_TRANSITIVE at the registry."""
    subject = f"{MARRIAGE.topic(settings.topic_prefix)}-value"
    client = SchemaRegistryClient({"url": settings.schema_registry_url, "timeout": 10})
    assert client.get_compatibility(subject) == "FULL_TRANSITIVE"
    broken = json.loads(open(_candidate(tmp_path, _remove_office), encoding="utf-8").read())
    with pytest.raises(SchemaRegistryError):
        client.register_schema(subject, Schema(json.dumps(broken), "AVRO"))
    assert client.get_versions(subject) == [1]
