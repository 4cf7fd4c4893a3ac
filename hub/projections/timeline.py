"""The timeline projection: the audit trail indexed by subject ("who has my data and why").

Reads the audit topic only (JSON, no schema registry) into SQLite
(``<state_dir>/projections/<prefix>/timeline.sqlite``). Tables are keyed so that one subject's
timeline is a handful of index lookups, however long the trail:

- ``case_subjects`` — subject → case ids, from routing decisions (items and outcomes carry no
  subject ids; they reach a subject through their case);
- ``decisions``, ``sent``, ``outcomes`` — by case id;
- ``fact_queries`` — by subject id; ``replays`` — by replay id.

Every row's key ends with the audit record's ``(partition, offset)``, so applying a record twice
changes nothing. A record that is not an audit record, or whose content is not one of the known
kinds, is skipped with a warning (``skipped`` counts them): the projection never stalls on it.
It shows what the chain says; whether the chain is intact is ``hub audit verify``'s question.
"""

from __future__ import annotations

import json
import logging
import sqlite3

from hub.audit.codec import decode_record
from hub.config import HubSettings
from hub.domain.timeline import subject_timeline
from hub.naming import TopicNames
from hub.projections.store import SqliteProjection

log = logging.getLogger(__name__)

_AUDIT = "audit_partition INTEGER NOT NULL, audit_offset INTEGER NOT NULL"

_COLUMNS = {
    "decisions": ("case_id", "event_id", "event_type", "source_department", "decision", "change",
                  "pending_json", "items_json", "at"),
    "sent": ("case_id", "item_id", "event_id", "event_type", "department", "item", "change",
             "grants_json", "fields_json", "replay_id", "at"),
    "outcomes": ("case_id", "item_id", "event_id", "department", "item", "status", "reference",
                 "reason", "at"),
    "fact_queries": ("subject_id", "query_id", "department", "allowed", "fields_json", "reason", "at"),
    "replays": ("replay_id", "requested_by", "target", "status", "note_json", "at"),
}
_KEYS = {"decisions": "case_id", "sent": "case_id", "outcomes": "case_id",
         "fact_queries": "subject_id", "replays": "replay_id"}
_IN_CHUNK = 500  # ids per IN (...) list, far below SQLite's variable limit


def _table_ddl(table: str) -> str:
    key, columns = _KEYS[table], _COLUMNS[table]
    body = ", ".join(f"{c} {'INTEGER' if c == 'allowed' else 'TEXT'}" + (" NOT NULL" if c == key else "")
                     for c in columns)
    return (f"CREATE TABLE IF NOT EXISTS {table} ({body}, {_AUDIT}, "
            f"PRIMARY KEY ({key}, audit_partition, audit_offset)) WITHOUT ROWID;")


class TimelineProjection(SqliteProjection):
    """Subject timelines from the audit topic; thread-safe, shareable between processes."""

    name = "timeline"
    schema = "\n".join([
        "CREATE TABLE IF NOT EXISTS case_subjects (subject_id TEXT NOT NULL, case_id TEXT NOT NULL,"
        " PRIMARY KEY (subject_id, case_id)) WITHOUT ROWID;",
        *(_table_ddl(t) for t in _COLUMNS),
    ])
    batch_size = 20_000

    def __init__(self, settings: HubSettings, path=None):
        super().__init__(settings, path)
        self.names = TopicNames(settings.topic_prefix)
        self._rows: dict[str, list[tuple]] = {t: [] for t in (*_COLUMNS, "case_subjects")}
        self.skipped = 0

    def topics(self) -> list[str]:
        return [self.names.audit]

    def connection(self) -> sqlite3.Connection:
        fresh = self._conn is None
        conn = super().connection()
        if fresh:
            conn.execute("PRAGMA cache_size = -131072")  # 128 MiB: a rebuild touches every index
        return conn

    # -- applying -------------------------------------------------------------------------------

    def apply(self, conn, record) -> None:
        where = f"{record.topic}[{record.partition}]@{record.offset}"
        try:
            content = decode_record(record.value).content
            rows = self._rows_of(content)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            self.skipped += 1
            log.warning("timeline skips %s: %s", where, exc if isinstance(exc, ValueError)
                        else f"malformed {type(exc).__name__}: {exc}")
            return
        if rows is None:
            self.skipped += 1
            log.warning("timeline skips %s: unknown audit kind %r", where, content.get("kind"))
            return
        position = (record.partition, record.offset)
        for table, row in rows:
            self._rows[table].append(row if table == "case_subjects" else (*row, *position))

    @staticmethod
    def _rows_of(c: dict) -> list[tuple[str, tuple]] | None:
        """The rows one audit content adds; None for an unknown kind. Raises on a malformed one."""
        kind, at = c["kind"], str(c["at"])
        if kind == "routing_decision":
            case_id = str(c["case_id"])
            items = [{"item_id": i["item_id"], "department": i["department"], "item": i["item"],
                      "deadline_at": i.get("deadline_at")} for i in c.get("items") or []]
            return [("decisions", (case_id, c["event_id"], c["event_type"], c["source_department"],
                                   c["decision"], c.get("change"),
                                   json.dumps(c.get("pending_documents") or [], ensure_ascii=False),
                                   json.dumps(items, ensure_ascii=False), at)),
                    *(("case_subjects", (str(s), case_id)) for s in c["subject_ids"])]
        if kind == "item_sent":
            grants = [{"field": g["field"], "basis": g["basis"]} for g in c.get("grants") or []]
            return [("sent", (str(c["case_id"]), c["item_id"], c.get("event_id"), c.get("event_type"),
                              c["department"], c.get("item"), c.get("change"),
                              json.dumps(grants, ensure_ascii=False),
                              json.dumps(list(c.get("fields") or []), ensure_ascii=False),
                              c.get("replay_id"), at))]
        if kind == "outcome":
            return [("outcomes", (str(c["case_id"]), c["item_id"], c.get("event_id"), c["department"],
                                  c.get("item"), c["status"], c.get("reference"), c.get("reason"), at))]
        if kind == "fact_query":
            fields = json.dumps(list(c.get("fields") or []), ensure_ascii=False)
            subjects = c.get("subject_ids") or [c["subject_id"]]
            return [("fact_queries", (str(s), c["query_id"], c.get("department"), int(bool(c["allowed"])),
                                      fields, c.get("reason"), at)) for s in subjects]
        if kind == "replay":
            return [("replays", (str(c["replay_id"]), c.get("requested_by"), c.get("target"),
                                 c.get("status"), json.dumps(c, ensure_ascii=False), at))]
        return None

    def flush(self, conn) -> None:
        for table, rows in self._rows.items():
            if not rows:
                continue
            width = len(rows[0])
            conn.executemany(f"INSERT OR IGNORE INTO {table} VALUES ({', '.join('?' * width)})", rows)
            rows.clear()

    def forget_buffers(self) -> None:
        for rows in self._rows.values():
            rows.clear()

    # -- queries --------------------------------------------------------------------------------

    def subject_timeline(self, subject_id: str) -> dict:
        """Every audited fact about ``subject_id`` (an empty timeline if there is none)."""
        with self._lock:
            conn = self.connection()
            case_ids = [r[0] for r in conn.execute(
                "SELECT case_id FROM case_subjects WHERE subject_id = ?", (subject_id,))]
            decisions = self._by(conn, "decisions", case_ids)
            sent = self._by(conn, "sent", case_ids)
            outcomes = self._by(conn, "outcomes", case_ids)
            queries = self._by(conn, "fact_queries", [subject_id])
            replays = self._by(conn, "replays", sorted({s["replay_id"] for s in sent if s["replay_id"]}))
        return subject_timeline(subject_id, decisions, sent, outcomes, queries, replays)

    @staticmethod
    def _by(conn, table: str, keys: list[str]) -> list[dict]:
        """Rows of ``table`` whose key is in ``keys``, as dicts (JSON columns decoded)."""
        out = []
        for i in range(0, len(keys), _IN_CHUNK):
            chunk = keys[i:i + _IN_CHUNK]
            rows = conn.execute(f"SELECT * FROM {table} WHERE {_KEYS[table]} IN "
                                f"({', '.join('?' * len(chunk))})", chunk)
            for row in rows:
                entry = dict(row)
                for column in [c for c in entry if c.endswith("_json")]:
                    entry[column.removesuffix("_json").replace("pending", "pending_documents")] = \
                        json.loads(entry.pop(column))
                entry["audit"] = f"{entry.pop('audit_partition')}@{entry.pop('audit_offset')}"
                out.append(entry)
        return out

    def counts(self) -> dict[str, int]:
        """Rows per table (for rebuild reports and tests)."""
        with self._lock:
            conn = self.connection()
            return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                    for t in ("case_subjects", *_COLUMNS)}

    def dump(self) -> dict[str, list[tuple]]:
        """Every row of every table, in key order: what a rebuild is compared on."""
        with self._lock:
            conn = self.connection()
            order = {t: f"{k}, audit_partition, audit_offset" for t, k in _KEYS.items()}
            order["case_subjects"] = "subject_id, case_id"
            return {t: [tuple(r) for r in conn.execute(f"SELECT * FROM {t} ORDER BY {o}")]
                    for t, o in order.items()}
