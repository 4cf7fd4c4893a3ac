"""WireReader: the Confluent framing read by hand, the writer's schema fetched once by id and
resolved to the reader's (an older writer's record gains the reader's defaults)."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field

import fastavro
import pytest
from confluent_kafka.serialization import SerializationError

from hub.wire.serde import WireReader

READER = {"type": "record", "name": "Thing", "namespace": "t", "fields": [
    {"name": "id", "type": "string"}, {"name": "note", "type": "string", "default": "none"}]}
OLDER = {"type": "record", "name": "Thing", "namespace": "t", "fields": [{"name": "id", "type": "string"}]}


@dataclass
class Registered:
    schema_str: str
    references: list = field(default_factory=list)


class Registry:
    def __init__(self, schemas):
        self.schemas, self.asked = schemas, []

    def get_schema(self, schema_id):
        self.asked.append(schema_id)
        return self.schemas[schema_id]


def framed(schema_id: int, schema: dict, record: dict) -> bytes:
    out = io.BytesIO()
    fastavro.schemaless_writer(out, fastavro.parse_schema(schema), record)
    return b"\x00" + schema_id.to_bytes(4, "big") + out.getvalue()


def test_records_of_the_current_and_an_older_schema_read_in_the_reader_shape_each_schema_fetched_once():
    registry = Registry({7: Registered(json.dumps(READER)), 3: Registered(json.dumps(OLDER))})
    read = WireReader(registry, json.dumps(READER))
    assert read(framed(7, READER, {"id": "a", "note": "n"}), "topic") == {"id": "a", "note": "n"}
    assert read(framed(3, OLDER, {"id": "b"}), "topic") == {"id": "b", "note": "none"}
    assert read(framed(7, READER, {"id": "c", "note": "m"}), "topic")["id"] == "c"
    assert registry.asked == [7, 3]


@pytest.mark.parametrize("data", [b"", b"\x01\x00\x00\x00\x07abc", b"\x00\x00"])
def test_what_is_not_in_the_wire_format_is_refused_naming_the_topic(data):
    read = WireReader(Registry({}), json.dumps(READER))
    with pytest.raises(SerializationError, match="on events-x is not in the Confluent wire format"):
        read(data, "events-x")


def test_a_body_that_does_not_decode_is_refused_without_its_content():
    read = WireReader(Registry({7: Registered(json.dumps(READER))}), json.dumps(READER))
    with pytest.raises(SerializationError, match="does not decode with its schema") as caught:
        read(b"\x00\x00\x00\x00\x07\x99", "events-x")
    assert "\\x99" not in str(caught.value)
