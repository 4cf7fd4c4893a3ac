"""Load each event type's Avro schema from ``schemas/`` as one self-contained document.

fastavro resolves the shared named types (Envelope, Person, …) from their sibling files; the
result is what the hub registers and serialises with, so the registry holds exactly the files.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from fastavro.schema import load_schema

from hub.domain.catalogue import AVRO_NAMESPACE, EventSpec
from schemas import SCHEMA_DIR


def schema_path(spec: EventSpec, schema_dir: Path = SCHEMA_DIR) -> Path:
    return schema_dir / f"{spec.avro_full_name}.avsc"


@lru_cache(maxsize=64)
def _load(path: Path) -> str:
    # Cache the JSON text, not the dict, so no caller can mutate a shared schema.
    return json.dumps(load_schema(str(path), _write_hint=False), ensure_ascii=False)


def named_schema(name: str, schema_dir: Path = SCHEMA_DIR) -> dict:
    """Any schema of the catalogue by its record name, e.g. ``WorkItem`` or ``Outcome``."""
    return json.loads(_load(schema_dir / f"{AVRO_NAMESPACE}.{name}.avsc"))


def named_schema_json(name: str, schema_dir: Path = SCHEMA_DIR) -> str:
    return _load(schema_dir / f"{AVRO_NAMESPACE}.{name}.avsc")


def event_schema(spec: EventSpec, schema_dir: Path = SCHEMA_DIR) -> dict:
    """The parsed, self-contained Avro schema of ``spec``'s event type."""
    return json.loads(_load(schema_path(spec, schema_dir)))


def event_schema_json(spec: EventSpec, schema_dir: Path = SCHEMA_DIR) -> str:
    """The same schema as JSON text, as registered in the schema registry."""
    return _load(schema_path(spec, schema_dir))
