"""Texts for logs and errors carry nothing personal: identity-shaped tokens masked, and errors
described from their structure rather than from the data that caused them."""

from __future__ import annotations

import io
from datetime import date

import fastavro
import pytest
from pydantic import BaseModel, ValidationError, field_validator

from hub.domain.catalogue import spec_for
from hub.domain.dead_letters import DeadLetter
from hub.domain.identifiers import mask_id
from hub.domain.redaction import described, error_text, redact
from hub.domain.sealing import validate_submission
from hub.errors import InvalidEvent
from tests.factories import submission

ID_NUMBER = "330106199001011234"
CREDIT_CODE = "91330106MA2B3C4D5E"
NAME = "测试人甲乙"  # a synthetic name: the kind of value no pattern can recognise


@pytest.mark.parametrize("token", [
    ID_NUMBER, "33010619900101123X", CREDIT_CODE, "J330106-2024-000123", "N123456789",
    "000123456789", "DC2024-00001234", "13800000000",
])
def test_identity_shaped_tokens_are_masked_to_the_first_six_and_last_four(token):
    text = redact(f"parking oncehub.events[0]@7: subject {token} refused")
    assert token not in text
    assert mask_id(token) in text


@pytest.mark.parametrize("text", [
    "oncehub.inbox.tax-value not found", "2026-12-03T03:21:06+00:00", "offset 123456",
    "case-6f1c2a0e-9b1d-4c3e-8f00-123456789abc", "SASL_SSL SCRAM-SHA-512", "HTTP 503",
    "2026-12-03", "J330106 is a region",
])
def test_ordinary_operational_text_is_left_alone(text):
    assert redact(text) == text


def test_a_token_inside_a_longer_word_is_not_cut_apart():
    assert redact(f"x{ID_NUMBER}y") == f"x{ID_NUMBER}y"


def test_long_texts_are_cut_to_the_limit():
    assert redact("a" * 50, limit=10) == "a" * 10 + "…"


class _Person(BaseModel):
    name: str
    born: date

    @field_validator("name")
    @classmethod
    def _short(cls, value: str) -> str:
        if len(value) > 3:
            raise ValueError("at most 3 characters")
        return value


def test_a_validation_error_names_field_and_rule_but_never_the_input():
    with pytest.raises(ValidationError) as caught:
        _Person.model_validate({"name": NAME, "born": ID_NUMBER})
    assert NAME in str(caught.value) and ID_NUMBER in str(caught.value)  # pydantic's own text leaks
    text = error_text(caught.value)
    assert NAME not in text and ID_NUMBER not in text and "330106" not in text
    assert "name: Value error, at most 3 characters [value_error]" in text
    assert "born:" in text and "2 validation error(s) for _Person" in text


def test_an_avro_validation_error_names_the_field_not_the_datum():
    schema = fastavro.parse_schema({"type": "record", "name": "R",
                                    "fields": [{"name": "id_number", "type": "long"}]})
    with pytest.raises(fastavro.validation.ValidationError) as caught:
        fastavro.validation.validate({"id_number": ID_NUMBER}, schema)
    text = error_text(caught.value)
    assert ID_NUMBER not in text and "R.id_number" in text


def test_an_avro_write_error_is_kept_as_it_names_no_value():
    schema = fastavro.parse_schema({"type": "record", "name": "R",
                                    "fields": [{"name": "born", "type": "int"}]})
    with pytest.raises(TypeError) as caught:
        fastavro.schemaless_writer(io.BytesIO(), schema, {"born": NAME})
    assert error_text(caught.value) == "an integer is required on field born"


def test_described_gives_the_type_and_masks_the_text():
    assert described(KeyError(ID_NUMBER)) == "KeyError: '330106********1234'"


def test_a_dead_letter_reason_never_quotes_the_payload():
    with pytest.raises(ValidationError) as caught:
        _Person.model_validate({"name": NAME, "born": "1990-01-01"})
    letter = DeadLetter.of(stage="router", error=caught.value, topic="t", partition=0, offset=1,
                           parked_at=date(2026, 1, 1))
    assert NAME not in letter.reason and "name:" in letter.reason


def test_an_invalid_submission_reports_rules_without_the_values_it_was_given():
    raw = submission("marriage_registered", seed=3)
    raw["payload"]["spouse_a"]["name"] = ""
    raw["payload"]["certificate_number"] = "J33-" + NAME
    with pytest.raises(InvalidEvent) as caught:
        validate_submission(spec_for("marriage_registered"), raw, now=_now())
    assert NAME not in str(caught.value)
    assert "payload.certificate_number" in str(caught.value)


def _now():
    from datetime import datetime, timezone
    return datetime(2026, 12, 3, tzinfo=timezone.utc)


def test_a_citizens_link_is_never_kept_in_a_log_line():
    line = '127.0.0.1:5 - "GET /citizen/gAAAAABrEwI5ip10iuFd0gXH_a8bM-iisg87NYB= HTTP/1.1" 200 OK'
    assert redact(line) == '127.0.0.1:5 - "GET /citizen/<link> HTTP/1.1" 200 OK'
    assert redact("GET /citizen/gAAAAABrEwI5ip10iuFd0gXH/pdf") == "GET /citizen/<link>/pdf"
