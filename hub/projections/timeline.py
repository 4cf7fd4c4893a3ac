"""The timeline projection: the audit trail indexed by subject ("who has my data and why").

Reads the audit topic only (JSON, no schema registry) into SQLite
(``<state_dir>/projections/<prefix>/timeline.sqlite``). Tables are keyed so that one subject's
timeline is a handful of index lookups, however long the trail:

- ``case_subjects`` — subject → case ids, from routing decisions (items and outcomes carry no
  subject ids; they reach a subject through their case);
- ``decisions``, ``sent``, ``outcomes`` — indexed by case id; ``fact_queries`` and ``erasures``
  keyed by subject id; ``replays`` indexed by replay id;
- ``shapes`` — the grants and fields of sent items, stored once per distinct set (every item of
  a rule carries the same ones) instead of once per item.

Each row is keyed by the audit record's ``(partition, offset)`` (packed in ``pos``), so applying a
record twice changes nothing. A record that is not an audit record, or whose content is not one
of the known kinds, is skipped with a warning (``skipped`` counts them): the projection never
stalls on it. It shows what the chain says; whether the chain is intact is ``hub audit
verify``'s question.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
from collections.abc import Sequence

from hub.audit.codec import decode_record
from hub.kafka.clients import Clients
from hub.domain.redaction import described, error_text
from hub.domain.timeline import from_a_foreign_outcome_topic, subject_names, subject_timeline
from hub.kafka.topic_names import TopicNames
from hub.projections.store import SqliteProjection

log = logging.getLogger(__name__)

POSITION_BITS = 16  # audit partitions per topic: up to 65,536


def position(partition: int, offset: int) -> int:
    """One integer for an audit record's place in the log: the row id of what it added."""
    return (offset << POSITION_BITS) | partition


def audit_ref(pos: int) -> str:
    return f"{pos & ((1 << POSITION_BITS) - 1)}@{pos >> POSITION_BITS}"


# table -> (key column looked up, other columns); every table also has ``pos`` (see ``position``)
_TABLES = {
    "decisions": ("case_id", ("event_id", "event_type", "source_department", "decision", "change",
                              "pending_json", "items_json", "at")),
    # items a decision did not share, and why (a table of its own: older projections gain it
    # with CREATE TABLE IF NOT EXISTS, and a rebuild fills it from the trail)
    "withheld": ("event_id", ("case_id", "department", "item", "name_zh", "reason")),
    "sent": ("case_id", ("item_id", "event_id", "event_type", "department", "item", "change", "shape",
                         "replay_id", "at")),
    "outcomes": ("case_id", ("item_id", "event_id", "department", "item", "status", "reference",
                             "reason", "at")),
    "replays": ("replay_id", ("requested_by", "target", "status", "note_json", "at")),
    "fact_queries": ("subject_id", ("query_id", "department", "allowed", "fields_json", "reason", "at")),
    "erasures": ("subject_id", ("erasure_id", "requested_by", "basis", "keys_erased", "items_sent",
                                "departments_json", "at")),
}
_SELECT = {t: f"SELECT * FROM {t}" for t in _TABLES} | {
    "sent": "SELECT sent.*, grants_json, fields_json FROM sent JOIN shapes USING (shape)"}
_FIELD_OF = {"pending_json": "pending_documents", "items_json": "items", "grants_json": "grants",
             "fields_json": "fields", "note_json": "note", "departments_json": "departments"}  # column -> key of the entry
_IN_CHUNK = 500  # ids per IN (...) list, far below SQLite's variable limit


_INTEGERS = ("allowed", "keys_erased", "items_sent")


def _table_ddl(table: str) -> str:
    key, columns = _TABLES[table]
    body = ", ".join(f"{c} {'INTEGER' if c in _INTEGERS else 'TEXT'}" for c in columns)
    if table in ("fact_queries", "erasures"):  # one row per subject the record names: keyed by both
        return (f"CREATE TABLE IF NOT EXISTS {table} ({key} TEXT NOT NULL, pos INTEGER NOT NULL, {body}, "
                f"PRIMARY KEY ({key}, pos)) WITHOUT ROWID;")
    return (f"CREATE TABLE IF NOT EXISTS {table} (pos INTEGER PRIMARY KEY, {key} TEXT NOT NULL, {body});"
            f"CREATE INDEX IF NOT EXISTS {table}_by_{key} ON {table} ({key});")


class TimelineProjection(SqliteProjection):
    """Subject timelines from the audit topic; thread-safe, shareable between processes."""

    name = "timeline"
    schema = "\n".join([
        "CREATE TABLE IF NOT EXISTS case_subjects (subject_id TEXT NOT NULL, case_id TEXT NOT NULL,"
        " PRIMARY KEY (subject_id, case_id)) WITHOUT ROWID;",
        "CREATE TABLE IF NOT EXISTS shapes (shape TEXT PRIMARY KEY, grants_json TEXT NOT NULL,"
        " fields_json TEXT NOT NULL) WITHOUT ROWID;",
        *(_table_ddl(t) for t in _TABLES),
    ])
    batch_size = 20_000

    def __init__(self, clients: Clients, path=None):
        super().__init__(clients, path)
        self.names = TopicNames(clients.settings.topic_prefix)
        self._rows: dict[str, list[tuple]] = {t: [] for t in ("case_subjects", "shapes", *_TABLES)}
        self._shapes: dict[tuple[str, str], str] = {}  # (grants, fields) JSON -> shape key

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
            rows = self._rows_of(content, position(record.partition, record.offset))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            self.skipped += 1
            log.warning("timeline skips %s: %s", where, error_text(exc) if isinstance(exc, ValueError)
                        else f"malformed {described(exc)}")
            return
        if rows is None:
            self.skipped += 1
            log.warning("timeline skips %s: unknown audit kind %r", where, content.get("kind"))
            return
        for table, row in rows:
            self._rows[table].append(row)

    def _shape(self, grants: list[dict], fields: list[str]) -> tuple[str, list[tuple]]:
        """The key of an item's grants and fields (the same for every item of a rule, so stored
        once), and the ``shapes`` row to add if it is new to this projection instance."""
        key = (json.dumps(grants, ensure_ascii=False), json.dumps(fields, ensure_ascii=False))
        shape = self._shapes.get(key)
        if shape is not None:
            return shape, []
        shape = hashlib.sha256("\0".join(key).encode()).hexdigest()[:24]
        self._shapes[key] = shape
        return shape, [("shapes", (shape, *key))]

    def _rows_of(self, c: dict, pos: int) -> list[tuple[str, tuple]] | None:
        """The rows one audit content adds; None for an unknown kind. Raises on a malformed one."""
        kind, at = c["kind"], str(c["at"])
        if kind == "routing_decision":
            case_id = str(c["case_id"])
            items = [{"item_id": i["item_id"], "department": i["department"], "item": i["item"],
                      "deadline_at": i.get("deadline_at")} for i in c.get("items") or []]
            return [("decisions", (pos, case_id, c["event_id"], c["event_type"], c["source_department"],
                                   c["decision"], c.get("change"),
                                   json.dumps(c.get("pending_documents") or [], ensure_ascii=False),
                                   json.dumps(items, ensure_ascii=False), at)),
                    *(("case_subjects", (str(s), case_id)) for s in subject_names(c)),
                    # one row per withheld item: its own row id, from the record's and its index
                    *(("withheld", (pos * 64 + n, c["event_id"], case_id, w["department"], w["item"],
                                    w.get("name_zh"), w["reason"]))
                      for n, w in enumerate(c.get("withheld") or []))]
        if kind == "item_sent":
            grants = [{"field": g["field"], "basis": g["basis"]} for g in c.get("grants") or []]
            shape, new = self._shape(grants, [str(f) for f in c.get("fields") or []])
            return [*new, ("sent", (pos, str(c["case_id"]), c["item_id"], c.get("event_id"),
                                    c.get("event_type"), c["department"], c.get("item"), c.get("change"),
                                    shape, c.get("replay_id"), at))]
        if kind == "outcome":
            if from_a_foreign_outcome_topic(c):
                log.warning("timeline ignores an outcome for another department's item (%s)", pos)
                return []
            return [("outcomes", (pos, str(c["case_id"]), c["item_id"], c.get("event_id"), c["department"],
                                  c.get("item"), c["status"], c.get("reference"), c.get("reason"), at))]
        if kind == "fact_query":
            fields = json.dumps(list(c.get("fields") or []), ensure_ascii=False)
            subjects = subject_names(c)
            return [("fact_queries", (str(s), pos, c["query_id"], c.get("department"),
                                      int(bool(c["allowed"])), fields, c.get("reason"), at))
                    for s in subjects]
        if kind == "erasure":
            departments = json.dumps(list(c.get("departments") or []), ensure_ascii=False)
            return [("erasures", (str(s), pos, c["erasure_id"], c.get("requested_by"), c.get("basis"),
                                  int(c.get("keys_erased") or 0), int(c.get("items_sent") or 0),
                                  departments, at))
                    for s in subject_names(c)]
        if kind == "replay":
            return [("replays", (pos, str(c["replay_id"]), c.get("requested_by"), c.get("target"),
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
        self._shapes.clear()  # their rows may have been rolled back: insert them again when seen

    # -- queries --------------------------------------------------------------------------------

    def subject_timeline(self, subject_id: str, refs: Sequence[str] | None = None) -> dict:
        """Every audited fact about ``subject_id`` (an empty timeline if there is none), found
        under any of ``refs`` (its pseudonyms: see :meth:`Pseudonyms.lookup_keys`)."""
        refs = sorted(set(refs or [subject_id]))
        with self._lock:
            conn = self.connection()
            case_ids = sorted({r[0] for r in conn.execute(
                f"SELECT case_id FROM case_subjects WHERE subject_id IN ({', '.join('?' * len(refs))})",
                refs)})
            decisions = self._with_withheld(conn, self._by(conn, "decisions", case_ids))
            sent = self._by(conn, "sent", case_ids)
            outcomes = self._by(conn, "outcomes", case_ids)
            queries = self._by(conn, "fact_queries", refs)
            replays = self._by(conn, "replays", sorted({s["replay_id"] for s in sent if s["replay_id"]}))
            erasures = self._by(conn, "erasures", refs)
        return subject_timeline(subject_id, decisions, sent, outcomes, queries, replays, erasures)

    def _with_withheld(self, conn, decisions: list[dict]) -> list[dict]:
        held_back: dict[str, list[dict]] = {}
        for row in self._by(conn, "withheld", sorted({d["event_id"] for d in decisions})):
            held_back.setdefault(row["event_id"], []).append(row)
        return [{**d, "withheld": held_back.get(d["event_id"], [])} for d in decisions]

    @staticmethod
    def _by(conn, table: str, keys: list[str]) -> list[dict]:
        """Rows of ``table`` whose key is in ``keys``, as dicts (JSON columns decoded)."""
        out: list[dict] = []
        decoded: dict[str, object] = {}  # the same grants and fields recur on every item of a rule
        for i in range(0, len(keys), _IN_CHUNK):
            chunk = keys[i:i + _IN_CHUNK]
            cursor = conn.execute(f"{_SELECT[table]} WHERE {_TABLES[table][0]} IN "
                                  f"({', '.join('?' * len(chunk))})", chunk)
            names = [_FIELD_OF.get(d[0], d[0]) for d in cursor.description]
            json_columns = [n for d, n in zip(cursor.description, names) if d[0].endswith("_json")]
            for row in cursor:
                entry = dict(zip(names, row))
                for column in json_columns:
                    raw = entry[column]
                    if raw not in decoded:
                        decoded[raw] = json.loads(raw)
                    entry[column] = decoded[raw]
                entry["audit"] = audit_ref(entry.pop("pos"))
                out.append(entry)
        return out

    def counts(self) -> dict[str, int]:
        """Rows per table (for rebuild reports and tests)."""
        with self._lock:
            conn = self.connection()
            return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                    for t in ("case_subjects", "shapes", *_TABLES)}

    def dump(self) -> dict[str, list[tuple]]:
        """Every row of every table, in key order: what a rebuild is compared on."""
        with self._lock:
            conn = self.connection()
            order = {t: f"{k}, pos" for t, (k, _) in _TABLES.items()}
            order.update(case_subjects="subject_id, case_id", shapes="shape")
            return {t: [tuple(r) for r in conn.execute(f"SELECT * FROM {t} ORDER BY {o}")]
                    for t, o in order.items()}
