"""The timeline reader in memory: audit contents indexed by subject as the SQLite timeline
projection indexes them, assembled by the same pure function
(:func:`hub.domain.timeline.subject_timeline`)."""

from __future__ import annotations

from collections.abc import Sequence
import json
import logging

from hub.domain.redaction import described
from hub.domain.timeline import from_a_foreign_outcome_topic, subject_names, subject_timeline
from hub.memory.log import InMemoryLog

log = logging.getLogger(__name__)


# Each kind's row, with the fields the projection stores (and fails on, where it requires them).

def _decision(c: dict) -> dict:
    items = [{"item_id": i["item_id"], "department": i["department"], "item": i["item"],
              "deadline_at": i.get("deadline_at")} for i in c.get("items") or []]
    return {
        "event_id": c["event_id"], "event_type": c["event_type"],
        "source_department": c["source_department"], "decision": c["decision"],
        "change": c.get("change"), "pending_documents": c.get("pending_documents") or [],
        "items": items, "subject_ids": [str(s) for s in subject_names(c)],
        "withheld": [{"department": w["department"], "item": w["item"], "name_zh": w.get("name_zh"),
                      "reason": w["reason"]} for w in c.get("withheld") or []]}


def _sent(c: dict) -> dict:
    return {
        "item_id": c["item_id"], "event_id": c.get("event_id"), "event_type": c.get("event_type"),
        "department": c["department"], "item": c.get("item"), "change": c.get("change"),
        "replay_id": c.get("replay_id"), "fields": [str(f) for f in c.get("fields") or []],
        "grants": [{"field": g["field"], "basis": g["basis"]} for g in c.get("grants") or []]}


def _outcome(c: dict) -> dict:
    return {
        "item_id": c["item_id"], "event_id": c.get("event_id"), "department": c["department"],
        "item": c.get("item"), "status": c["status"], "reference": c.get("reference"),
        "reason": c.get("reason")}


def _replay(c: dict) -> dict:
    return {"requested_by": c.get("requested_by"), "target": c.get("target"),
            "status": c.get("status"), "note": c}


def _fact_query(c: dict) -> dict:
    return {"query_id": c["query_id"], "department": c.get("department"),
            "allowed": bool(c["allowed"]), "fields": list(c.get("fields") or []),
            "reason": c.get("reason")}


# kind -> (table, the field it is looked up by, the row)
_KINDS = {"routing_decision": ("decisions", "case_id", _decision), "item_sent": ("sent", "case_id", _sent),
          "outcome": ("outcomes", "case_id", _outcome), "replay": ("replays", "replay_id", _replay),
          "fact_query": ("fact_queries", "subject_id", _fact_query)}


class InMemoryTimeline(InMemoryLog[tuple[dict, str]]):
    """:class:`~hub.domain.ports.TimelineReader` in dicts, standing in for
    :class:`~hub.projections.timeline.TimelineProjection`.

    ``add(*contents, partition=0)`` appends audit contents — what the audit entry builders of
    :mod:`hub.domain.audit_entries` produce and the auditor chains — to a partition of the
    audit trail and returns their audit references (``partition@offset``); ``catch_up()`` indexes
    what was added. As in the projection, decisions reach a subject through its case ids,
    items and outcomes through their case, fact queries by the subjects they name; content of
    an unknown kind or missing a field it needs is skipped (``skipped`` counts it), never
    fatal."""

    name = "in-memory timeline"

    def __init__(self) -> None:
        super().__init__()
        self._offsets: dict[int, int] = {}  # partition -> next offset
        self._case_ids: dict[str, set[str]] = {}  # subject id -> case ids
        self._rows: dict[str, dict[str, list[dict]]] = {
            t: {} for t in ("decisions", "sent", "outcomes", "replays", "fact_queries")}

    def add(self, *contents: dict, partition: int = 0) -> list[str]:
        """Append audit contents to ``partition``; returns their audit references."""
        audits = []
        for content in contents:
            with self._lock:
                offset = self._offsets.get(partition, 0)
                self._offsets[partition] = offset + 1
            audits.append(f"{partition}@{offset}")
            self._add((json.loads(json.dumps(content, ensure_ascii=False)), audits[-1]))  # as the topic holds it
        return audits

    def _apply(self, entry: tuple[dict, str]) -> None:
        content, audit = entry
        try:
            rows = self._rows_of(content, audit)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            self.skipped += 1
            log.warning("in-memory timeline skips %s: malformed %s", audit, described(exc))
            return
        if rows is None:
            self.skipped += 1
            log.warning("in-memory timeline skips %s: unknown audit kind %r", audit, content.get("kind"))
            return
        for table, key, row in rows:
            self._rows[table].setdefault(key, []).append(row)
            if table == "decisions":
                for subject in row["subject_ids"]:
                    self._case_ids.setdefault(subject, set()).add(key)

    @staticmethod
    def _rows_of(c: dict, audit: str) -> list[tuple[str, str, dict]] | None:
        """(table, key, row) for one content; None for an unknown kind. Raises on a malformed one."""
        kind, at = c["kind"], str(c["at"])
        if kind not in _KINDS:
            return None
        if kind == "outcome" and from_a_foreign_outcome_topic(c):
            return []  # as the projection: a department reporting on another's item
        table, field, row_of = _KINDS[kind]
        row = {**row_of(c), "at": at, "audit": audit}
        # a fact query is filed under every subject it names; the rest under their one key
        keys = subject_names(c) if kind == "fact_query" else [c[field]]
        return [(table, str(key), {**row, field: str(key)}) for key in keys]

    def subject_timeline(self, subject_id: str, refs: Sequence[str] | None = None) -> dict:
        """Every audited fact about ``subject_id`` (an empty timeline if there is none), found
        under any of ``refs`` (default: the id itself)."""
        refs = sorted(set(refs or [subject_id]))
        with self._lock:
            case_ids = sorted({c for ref in refs for c in self._case_ids.get(ref, ())})
            decisions, sent, outcomes = (self._by(t, case_ids) for t in ("decisions", "sent", "outcomes"))
            queries = self._by("fact_queries", refs)
            replays = self._by("replays", sorted({s["replay_id"] for s in sent if s["replay_id"]}))
        return subject_timeline(subject_id, decisions, sent, outcomes, queries, replays)

    def _by(self, table: str, keys: list[str]) -> list[dict]:
        rows = self._rows[table]
        return [dict(row) for key in keys for row in rows.get(key, [])]
