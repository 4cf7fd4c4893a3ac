"""The SQL of a reference agency's register: plain functions over one ``sqlite3`` connection.

Tables:
- ``registrations`` — what the agency holds now: one row per reference.
- ``changes`` — every item the agency decided (registered, corrected, annulled, rejected), keyed
  by item id; it is both the idempotency record and the history of each registration.
- ``sequences`` — the last reference number issued per year.

Callers hold the agency's lock and, for writes, its transaction.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime

from hub.domain.common import CHINA_TZ
from hub.domain.outcomes import Completed, HandlerResult, Rejected
from hub.domain.routing import WorkItem

SCHEMA = """
CREATE TABLE IF NOT EXISTS registrations (
    reference      TEXT PRIMARY KEY,
    item_id        TEXT NOT NULL UNIQUE,  -- the item that created the registration
    case_id        TEXT NOT NULL,
    event_id       TEXT NOT NULL,
    item           TEXT NOT NULL,
    subject        TEXT NOT NULL,         -- credit code, identity or certificate number
    status         TEXT NOT NULL CHECK (status IN ('ACTIVE', 'CORRECTED', 'ANNULLED')),
    data_json      TEXT NOT NULL,
    origin_item_id TEXT UNIQUE,           -- set when created from a change to an unseen original
    registered_at  TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS registrations_by_subject ON registrations (item, subject);
CREATE TABLE IF NOT EXISTS changes (
    item_id    TEXT PRIMARY KEY,
    reference  TEXT REFERENCES registrations (reference),  -- NULL when rejected
    change     TEXT NOT NULL,
    outcome    TEXT NOT NULL,
    reason     TEXT,
    case_id    TEXT NOT NULL,
    event_id   TEXT NOT NULL,
    data_json  TEXT NOT NULL,
    decided_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS changes_by_reference ON changes (reference);
CREATE INDEX IF NOT EXISTS changes_by_case ON changes (case_id);
CREATE TABLE IF NOT EXISTS sequences (year INTEGER PRIMARY KEY, last INTEGER NOT NULL);
"""


@dataclass(frozen=True)
class Registration:
    """One row of an agency's register."""

    reference: str
    item_id: str
    case_id: str
    event_id: str
    item: str
    subject: str
    status: str
    data: dict[str, str | None]
    origin_item_id: str | None
    registered_at: str
    updated_at: str


_COLUMNS = ("reference, item_id, case_id, event_id, item, subject, status, data_json, "
            "origin_item_id, registered_at, updated_at")


def create(db: sqlite3.Connection) -> None:
    # WAL: readers (the demo, an operator with the sqlite3 shell) never block the agency.
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(SCHEMA)


def _json(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def _registration(row: tuple | None) -> Registration | None:
    if row is None:
        return None
    values = list(row)
    values[7] = json.loads(values[7])
    return Registration(*values)


def _select(db: sqlite3.Connection, where: str, *args) -> list[Registration]:
    rows = db.execute(f"SELECT {_COLUMNS} FROM registrations WHERE {where} ORDER BY rowid", args)
    return [_registration(r) for r in rows]  # type: ignore[misc]


def decision(db: sqlite3.Connection, item_id: str) -> HandlerResult | None:
    """The answer already given for ``item_id``, if any."""
    row = db.execute("SELECT reference, outcome, reason FROM changes WHERE item_id = ?",
                     (item_id,)).fetchone()
    if row is None:
        return None
    reference, outcome, reason = row
    return Rejected(reason=reason) if outcome == "REJECTED" else Completed(reference=reference)


def record_change(db: sqlite3.Connection, item: WorkItem, reference: str | None, outcome: str,
                  reason: str | None, now: datetime) -> None:
    db.execute(
        "INSERT INTO changes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (item.item_id, reference, item.change.value, outcome, reason, item.case_id, item.event_id,
         _json(item.data), now.isoformat()),
    )


def next_seq(db: sqlite3.Connection, now: datetime) -> int:
    """The next number of the year (China time) — gapless, as numbers are only drawn on success."""
    year = now.astimezone(CHINA_TZ).year
    return db.execute(
        "INSERT INTO sequences VALUES (?, 1) ON CONFLICT (year) DO UPDATE SET last = last + 1 "
        "RETURNING last", (year,)).fetchone()[0]


def insert(db: sqlite3.Connection, reference: str, item: WorkItem, subject: str, status: str,
           origin_item_id: str | None, now: datetime) -> None:
    db.execute(
        f"INSERT INTO registrations ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (reference, item.item_id, item.case_id, item.event_id, item.item, subject, status,
         _json(item.data), origin_item_id, now.isoformat(), now.isoformat()),
    )


def replace_data(db: sqlite3.Connection, reference: str, subject: str, data: dict,
                 now: datetime) -> None:
    db.execute("UPDATE registrations SET data_json = ?, subject = ?, status = 'CORRECTED', "
               "updated_at = ? WHERE reference = ?", (_json(data), subject, now.isoformat(), reference))


ERASED_SUBJECT = "erased"  # what the subject column holds once a registration's data is erased


def erase(db: sqlite3.Connection, reference: str, now: datetime) -> None:
    """Erase what ``reference`` holds about its subject (PIPL art. 47): the row stays, ANNULLED,
    with its reference and item but no subject and no data, and its history loses the data too."""
    db.execute("UPDATE registrations SET data_json = '{}', subject = ?, status = 'ANNULLED', "
               "updated_at = ? WHERE reference = ?", (ERASED_SUBJECT, now.isoformat(), reference))
    db.execute("UPDATE changes SET data_json = '{}' WHERE reference = ?", (reference,))


def set_status(db: sqlite3.Connection, reference: str, status: str, now: datetime) -> None:
    db.execute("UPDATE registrations SET status = ?, updated_at = ? WHERE reference = ?",
               (status, now.isoformat(), reference))


def by_item(db: sqlite3.Connection, item_id: str) -> Registration | None:
    """The registration ``item_id`` created or changed."""
    found = _select(db, "item_id = ? OR reference = (SELECT reference FROM changes WHERE item_id = ?)",
                    item_id, item_id)
    return found[0] if found else None


def by_origin(db: sqlite3.Connection, item_id: str) -> Registration | None:
    """The registration made from a change to ``item_id`` before ``item_id`` itself arrived."""
    found = _select(db, "origin_item_id = ?", item_id)
    return found[0] if found else None


def live_reference(db: sqlite3.Connection, item: str, subject: str, exclude: str | None) -> str | None:
    row = db.execute("SELECT reference FROM registrations WHERE item = ? AND subject = ? "
                     "AND status != 'ANNULLED' AND reference IS NOT ? ORDER BY rowid LIMIT 1",
                     (item, subject, exclude)).fetchone()
    return row[0] if row else None


def all_rows(db: sqlite3.Connection) -> list[Registration]:
    return _select(db, "1")


def count(db: sqlite3.Connection) -> int:
    return db.execute("SELECT count(*) FROM registrations").fetchone()[0]


def by_case(db: sqlite3.Connection, case_id: str) -> list[Registration]:
    return _select(db, "case_id = ? OR reference IN (SELECT reference FROM changes WHERE case_id = ?)",
                   case_id, case_id)


def history(db: sqlite3.Connection, reference: str) -> list[dict]:
    rows = db.execute("SELECT item_id, change, outcome, case_id, event_id, data_json, decided_at "
                      "FROM changes WHERE reference = ? ORDER BY rowid", (reference,))
    keys = ("item_id", "change", "outcome", "case_id", "event_id", "data", "decided_at")
    return [dict(zip(keys, (*r[:5], json.loads(r[5]), r[6]), strict=True)) for r in rows]
