"""Every class of bad input gets its documented error and leaves the topics untouched."""

from __future__ import annotations

import json
import random

import pytest
from typer.testing import CliRunner

from hub.cli.app import app
from hub.domain.catalogue import CATALOGUE
from hub.errors import InvalidEvent, NotOwner, UnknownEventType
from producers.demo_data import generate
from producers.publisher import Publisher
from tests.integration.producers.test_publish_roundtrip import ingest  # noqa: F401  (fixture)

MARRIAGE = CATALOGUE["marriage_registered"]
BIRTH = CATALOGUE["birth_certified"]


def _marriage(**changes) -> dict:
    body = generate(MARRIAGE.event_type, random.Random(3))
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        node = body
        for part in parents:
            node = node[part]
        if value is _DELETE:
            del node[leaf]
        else:
            node[leaf] = value
    return body


_DELETE = object()


def _bad_check_character(body):
    number = body["payload"]["spouse_a"]["id_number"]
    wrong = "0" if number[-1] != "0" else "1"
    body["payload"]["spouse_a"]["id_number"] = number[:17] + wrong
    return body


# (case name, body factory, expected field, expected rule)
RULE_CASES = [
    ("bad check character", lambda: _bad_check_character(_marriage()),
     "payload.spouse_a.id_number", "check_character"),
    ("impossible date", lambda: _marriage(payload__registered_on="2018-02-30"),
     "payload.registered_on", "date_from_datetime_parsing"),
    ("impossible date in identity number",
     lambda: _marriage(payload__spouse_b__id_number="33010919990230004X"),
     "payload.spouse_b.id_number", "birth_date"),
    ("future date", lambda: _marriage(payload__registered_on="2999-01-01"),
     "payload.registered_on", "not_future"),
    ("missing field", lambda: _marriage(payload__registration_office=_DELETE),
     "payload.registration_office", "missing"),
    ("wrong type", lambda: _marriage(payload__spouse_a="张三"),
     "payload.spouse_a", "model_type"),
]


@pytest.mark.parametrize("name,make_body,field,rule", RULE_CASES, ids=[c[0] for c in RULE_CASES])
def test_http_rule_errors_are_422_and_write_nothing(ingest, offsets, name, make_body, field, rule):  # noqa: F811
    client, tokens = ingest
    before = offsets()
    response = client.post("/v1/events/marriage_registered", json=make_body(),
                           headers={"Authorization": f"Bearer {tokens[MARRIAGE.owner]}"})
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert {"field": field, "rule": rule} in [{"field": e["field"], "rule": e["rule"]} for e in errors]
    assert all(e["message"] for e in errors)
    assert offsets() == before


def _post_raw(client, tokens, path, content, department=MARRIAGE.owner):
    return client.post(path, content=content, headers={
        "Authorization": f"Bearer {tokens[department]}", "Content-Type": "application/json"})


def test_http_request_errors_write_nothing(settings, ingest, offsets):  # noqa: F811
    client, tokens = ingest
    before = offsets()
    body = json.dumps(_marriage())
    assert _post_raw(client, tokens, "/v1/events/divorce_registered", body).status_code == 404
    wrong = _post_raw(client, tokens, "/v1/events/birth_certified", body)  # civil affairs ≠ health
    assert wrong.status_code == 403 and "HEALTH" in wrong.json()["errors"][0]["message"]
    huge = json.dumps({**_marriage(), "padding": "x" * (settings.max_body_bytes + 1)})
    assert _post_raw(client, tokens, "/v1/events/marriage_registered", huge).status_code == 413
    malformed = _post_raw(client, tokens, "/v1/events/marriage_registered", body[:-5])
    assert malformed.status_code == 422 and malformed.json()["errors"][0]["rule"] == "json_invalid"
    no_token = client.post("/v1/events/marriage_registered", content=body)
    assert no_token.status_code == 401
    assert offsets() == before


def test_sdk_refuses_bad_input_and_writes_nothing(settings, offsets):
    before = offsets()
    with Publisher(MARRIAGE.owner, settings) as publisher:
        with pytest.raises(InvalidEvent) as invalid:
            publisher.publish_raw("marriage_registered", _bad_check_character(_marriage()))
        with pytest.raises(UnknownEventType):
            publisher.publish_raw("divorce_registered", _marriage())
        with pytest.raises(NotOwner):
            publisher.publish_raw("birth_certified", generate(BIRTH.event_type, random.Random(1)))
    assert invalid.value.errors[0].field == "payload.spouse_a.id_number"
    assert "expected" in invalid.value.errors[0].message
    assert offsets() == before


def test_cli_publish_prints_field_errors_and_exits_non_zero(settings, offsets, tmp_path):
    env = {"HUB_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
           "HUB_SCHEMA_REGISTRY_URL": settings.schema_registry_url,
           "HUB_TOPIC_PREFIX": settings.topic_prefix}
    before = offsets()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(_bad_check_character(_marriage())), encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(app, ["publish", "marriage_registered", "--department", "civil-affairs",
                                 "--file", str(bad)], env=env)
    assert result.exit_code == 2
    assert "payload.spouse_a.id_number" in result.output and "check_character" in result.output
    result = runner.invoke(app, ["publish", "marriage_registered", "--department", "CIVIL_AFFAIRS",
                                 "--file", "-"], input="{not json", env=env)
    assert result.exit_code == 2 and "json_invalid" in result.output
    assert offsets() == before
    good = runner.invoke(app, ["publish", "marriage_registered", "--department", "CIVIL_AFFAIRS",
                               "--file", "-"], input=json.dumps(_marriage()), env=env)
    assert good.exit_code == 0, good.output
    assert json.loads(good.output)["topic"] == MARRIAGE.topic(settings.topic_prefix)
