"""Schema-evolution rules, checked with Apache Avro's own compatibility checker.

The hub holds event schemas to FULL_TRANSITIVE: a new version must read every earlier
version's data (backward) and every earlier version's readers must read the new data
(forward). In practice: add fields only with defaults, remove only fields that had defaults,
never change a type. Problems are reported with the dotted field path (``payload.spouse_a``).
"""

from __future__ import annotations

import json

import avro.schema
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

LEVEL = "FULL_TRANSITIVE"


def field_path(schema: dict, pointer: str) -> str:
    """Translate the checker's JSON pointer (``/fields/1/type/fields/0``) into field names."""
    names: list[str] = []
    node: object = schema
    tokens = [t for t in pointer.split("/") if t]
    for i, token in enumerate(tokens):
        if isinstance(node, list):
            node = node[int(token)]
        elif isinstance(node, dict) and token == "fields":
            node = node["fields"][int(tokens[i + 1])]
            names.append(node["name"])  # type: ignore[index]
        elif isinstance(node, dict) and token in node:
            node = node[token]
        # the index after "fields" was consumed with it
    return ".".join(names) or "(schema)"


def differing_fields(reader: dict, writer: dict, prefix: str = "") -> list[str]:
    """Dotted paths of fields present in both records whose declared types differ."""
    writer_fields = {f["name"]: f["type"] for f in writer.get("fields", [])}
    out = []
    for field in reader.get("fields", []):
        name, mine = field["name"], field["type"]
        theirs = writer_fields.get(name)
        if theirs is None or mine == theirs:
            continue
        path = f"{prefix}{name}"
        both_records = all(isinstance(t, dict) and t.get("type") == "record" for t in (mine, theirs))
        out += differing_fields(mine, theirs, path + ".") if both_records else [path]
    return out


# What each kind of incompatibility means for the person changing the schema, per direction.
_BACKWARD_HINTS = {
    "reader_field_missing_default_value": "field added without a default",
    "type_mismatch": "type changed",
    "missing_enum_symbols": "enum symbols removed",
}
_FORWARD_HINTS = {
    "reader_field_missing_default_value": "field removed although it had no default",
    "type_mismatch": "type changed",
    "missing_enum_symbols": "enum symbols added without an enum default",
}


def _check(reader: dict, writer: dict, hints: dict[str, str]) -> str | None:
    result = ReaderWriterCompatibilityChecker().get_compatibility(
        reader=avro.schema.parse(json.dumps(reader)), writer=avro.schema.parse(json.dumps(writer))
    )
    if result.compatibility is SchemaCompatibilityType.compatible:
        return None
    fields = sorted({field_path(reader, p) for p in result.locations if p != "/"})
    if not fields:  # some changes (e.g. a type becoming a union) are reported only at the root
        fields = differing_fields(reader, writer) or ["(schema)"]
    kinds = sorted({hints.get(i.value, i.value.replace("_", " ")) for i in result.incompatibilities})
    return f"{', '.join(fields)}: {'; '.join(kinds)} ({'; '.join(sorted(result.messages))})"


def incompatibilities(new: dict, old: dict, old_label: str) -> list[str]:
    """Human-readable reasons ``new`` may not follow ``old`` under FULL compatibility."""
    problems = []
    backward = _check(reader=new, writer=old, hints=_BACKWARD_HINTS)
    if backward:
        problems.append(f"{backward} - the new schema could not read {old_label} events")
    forward = _check(reader=old, writer=new, hints=_FORWARD_HINTS)
    if forward:
        problems.append(f"{forward} - readers on {old_label} could not read new events")
    return problems


def transitive_incompatibilities(new: dict, versions: list[tuple[int, dict]]) -> list[str]:
    """FULL_TRANSITIVE: check ``new`` against every registered version, oldest first."""
    problems: list[str] = []
    for version, old in sorted(versions, key=lambda v: v[0]):
        problems += incompatibilities(new, old, f"version {version}")
    return problems
