"""The hub's Avro schemas: one file per named type, ``<namespace>.<Name>.avsc``.

Event schemas refer to the shared types (Envelope, Person, …) by full name; fastavro's
``load_schema`` resolves those names from sibling files, so each shared type is written once.
"""

from pathlib import Path

SCHEMA_DIR = Path(__file__).resolve().parent
