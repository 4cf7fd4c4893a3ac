"""What Avro type a pydantic annotation implies — the yardstick of the schema-agreement test.

Kept in the tests on purpose: ``schemas/*.avsc`` are written by hand (with docs) and are the
wire's source of truth; this module states the mapping rules once so a test can prove that
every model and its schema describe the same shape.
"""

from __future__ import annotations

import types
import typing
from datetime import date, datetime
from decimal import Decimal
from enum import Enum

from pydantic import BaseModel

from hub.domain.departments import Department
from hub.domain.envelope import EventType

# Open sets that grow with the catalogue: strings on the wire, so that adding an event type or a
# department is a compatible change for every existing schema (an Avro enum symbol is not).
OPEN_ENUMS = (EventType, Department)

DECIMAL = {"type": "bytes", "logicalType": "decimal", "precision": 18, "scale": 2}
DATE = {"type": "int", "logicalType": "date"}
TIMESTAMP = {"type": "long", "logicalType": "timestamp-millis"}


def _strip_annotated(tp):
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def avro_type(tp) -> object:
    """Avro type (named types as a ``("enum"|"record", name, body)`` marker) for an annotation."""
    tp = _strip_annotated(tp)
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return ["null", avro_type(args[0])]
    if origin is list:
        return {"type": "array", "items": avro_type(typing.get_args(tp)[0])}
    if isinstance(tp, type) and issubclass(tp, OPEN_ENUMS):
        return "string"
    if isinstance(tp, type) and issubclass(tp, Enum):
        return ("enum", tp.__name__, [m.value for m in tp])
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return ("record", tp.__name__, model_fields(tp))
    simple = {str: "string", int: "int", bool: "boolean", bytes: "bytes", Decimal: DECIMAL, date: DATE,
              datetime: TIMESTAMP}
    return simple[tp]


def model_fields(model: type[BaseModel]) -> list[tuple[str, object, bool]]:
    """(name, avro type, has default) for each field, in declaration order."""
    return [
        (name, avro_type(info.annotation), not info.is_required())
        for name, info in model.model_fields.items()
    ]


def schema_shape(schema, named: dict | None = None) -> object:
    """The same marker form, read from a parsed Avro schema (fastavro ``load_schema`` output)."""
    named = {} if named is None else named
    if isinstance(schema, str):
        return named.get(schema, schema)
    if isinstance(schema, list):
        return [schema_shape(s, named) for s in schema]
    kind = schema["type"]
    if kind == "enum":
        shape = ("enum", schema["name"].rsplit(".", 1)[-1], list(schema["symbols"]))
    elif kind == "record":
        fields = [(f["name"], schema_shape(f["type"], named), "default" in f) for f in schema["fields"]]
        shape = ("record", schema["name"].rsplit(".", 1)[-1], fields)
    elif kind == "array":
        return {"type": "array", "items": schema_shape(schema["items"], named)}
    elif "logicalType" in schema:
        return {k: schema[k] for k in ("type", "logicalType", "precision", "scale") if k in schema}
    else:
        return schema_shape(kind, named)
    named[schema["name"]] = shape
    return shape
