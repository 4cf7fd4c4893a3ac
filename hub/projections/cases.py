"""The case projection: every case (一件事) as derived from the routing log and the outcomes.

Kept in SQLite (``<state_dir>/projections/<prefix>/cases.sqlite``) with the offsets it applied;
``catch_up()`` reads what was written since, and ``hub rebuild cases`` discards the file and
reads both topics from the beginning. Callers that want read-your-writes call ``catch_up()``
before answering.

Outcomes are read from every department's own topic (``<prefix>.outcomes.<department>``) and
from the hub's ``<prefix>.deadlines`` (OVERDUE). One is applied only if it was read from the
topic of the department it names (OVERDUE: only from the hub's) and its item was routed to that
department (:class:`~hub.domain.case.CaseState`); a decision joins a case only if the case's
opener made it. Anything else is refused: counted (``refused``) and logged without personal
data, never applied. (The projection has no dead-letter path of its own: several processes
share it, and the router is the hub's one dead-lettering reader of event topics.)
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from hub.kafka.clients import Clients
from hub.domain.case import CaseState, CaseStatus
from hub.domain.outcomes import OUTCOME_NAMESPACE, Outcome, OutcomeStatus
from hub.domain.routing import RoutingDecision
from hub.kafka.topic_names import TopicNames
from hub.projections.store import SqliteProjection
from hub.wire.serde import model_deserializer

log = logging.getLogger(__name__)


class CaseProjection(SqliteProjection):
    """Cases by id and by subject; thread-safe, shareable between processes."""

    name = "cases"
    schema = """
    CREATE TABLE IF NOT EXISTS cases (
        case_id TEXT PRIMARY KEY, opened_at TEXT, open INTEGER NOT NULL, state TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS case_subjects (
        subject_id TEXT NOT NULL, case_id TEXT NOT NULL, PRIMARY KEY (subject_id, case_id));
    CREATE TABLE IF NOT EXISTS watched_deadlines (
        case_id TEXT PRIMARY KEY, due_at REAL NOT NULL);
    CREATE INDEX IF NOT EXISTS watched_deadlines_by_due ON watched_deadlines (due_at);
    """

    def __init__(self, clients: Clients, path=None):
        super().__init__(clients, path)
        self.names = TopicNames(clients.settings.topic_prefix)
        registry = clients.registry
        outcome = model_deserializer(registry, "Outcome", Outcome)
        self._decoders = {
            self.names.routing_log: model_deserializer(registry, "RoutingDecision", RoutingDecision),
            **{t: outcome for t in (*self.names.all_outcomes(), self.names.deadlines)},
        }
        self._dirty: dict[str, CaseState] = {}

    def topics(self) -> list[str]:
        return list(self._decoders)

    def apply(self, conn, record) -> None:
        decoded = self._decoders[record.topic](record.value, record.topic)
        if isinstance(decoded, Outcome):
            refusal = self.topic_refusal(record.topic, decoded)
            if refusal is not None:
                self._refuse(record, refusal)
                return
        case = self._dirty.get(decoded.case_id) or self._load(conn, decoded.case_id) \
            or CaseState(case_id=decoded.case_id)
        if isinstance(decoded, RoutingDecision):
            refusal = case.apply_decision(decoded)
            if refusal is None:
                conn.executemany("INSERT OR IGNORE INTO case_subjects VALUES (?, ?)",
                                 [(s, decoded.case_id) for s in decoded.subject_ids])
        else:
            refusal = case.apply_outcome(decoded)
        if refusal is not None:
            self._refuse(record, refusal)
            return
        self._dirty[case.case_id] = case

    def topic_refusal(self, topic: str, outcome: Outcome) -> str | None:
        """One writer per topic: a department's outcome from its own topic, OVERDUE from the hub's."""
        if outcome.status is OutcomeStatus.OVERDUE:
            if topic == self.names.deadlines:
                return None
            return f"outcome refused (one writer per topic): OVERDUE is the hub's, read from {topic}"
        if topic == self.names.outcomes_of(outcome.department):
            return None
        return (f"outcome refused (one writer per topic): an outcome naming {outcome.department.value} "
                f"read from {topic}")

    def _refuse(self, record, reason: str) -> None:
        self.refused += 1
        log.warning("cases: refusing %s[%d]@%d: %s", record.topic, record.partition, record.offset, reason)

    def connection(self):
        fresh = self._conn is None
        conn = super().connection()
        if fresh:
            self._index_deadlines_once(conn)
        return conn

    def _index_deadlines_once(self, conn) -> None:
        # watched_deadlines came after the cases table: a file from before has open cases that
        # are not in it yet. Filled once, case by case (a cursor, not a list of every case).
        if conn.execute("SELECT 1 FROM projection_meta WHERE key = 'deadlines_indexed'").fetchone():
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            rows = conn.execute("SELECT state FROM cases WHERE open = 1")
            conn.executemany(_WATCH_SQL,
                             ((c.case_id, due.timestamp()) for c in map(_case_of, rows)
                              if (due := c.next_deadline()) is not None))
            conn.execute("INSERT OR REPLACE INTO projection_meta VALUES ('deadlines_indexed', '1')")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def flush(self, conn) -> None:
        # Only the cases with an item yet to fall due are watched: the deadline check reads those
        # that are due, not every open case (a million of them, in the memory benchmark).
        due = {c.case_id: c.next_deadline() for c in self._dirty.values()}
        conn.executemany("DELETE FROM watched_deadlines WHERE case_id = ?",
                         [(case_id,) for case_id, at in due.items() if at is None])
        conn.executemany(_WATCH_SQL,
                         [(case_id, at.timestamp()) for case_id, at in due.items() if at is not None])
        conn.executemany(
            "INSERT INTO cases(case_id, opened_at, open, state) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(case_id) DO UPDATE SET opened_at = excluded.opened_at, "
            "open = excluded.open, state = excluded.state",
            [(c.case_id, c.opened_at.isoformat() if c.opened_at else None,
              int(c.status is not CaseStatus.COMPLETED), c.model_dump_json())
             for c in self._dirty.values()])
        self._dirty.clear()

    def forget_buffers(self) -> None:
        self._dirty.clear()

    @staticmethod
    def _load(conn, case_id: str) -> CaseState | None:
        row = conn.execute("SELECT state FROM cases WHERE case_id = ?", (case_id,)).fetchone()
        return CaseState.model_validate_json(row[0]) if row else None

    # -- queries --------------------------------------------------------------------------------

    def case(self, case_id: str) -> CaseState | None:
        rows = self.query("SELECT state FROM cases WHERE case_id = ?", (case_id,))
        return CaseState.model_validate_json(rows[0][0]) if rows else None

    def for_subject(self, subject_id: str) -> list[CaseState]:
        rows = self.query("SELECT c.state FROM case_subjects s JOIN cases c USING (case_id) "
                          "WHERE s.subject_id = ?", (subject_id,))
        found = [CaseState.model_validate_json(r[0]) for r in rows]
        return sorted(found, key=lambda c: c.opened_at or datetime.min)

    def all_cases(self) -> list[CaseState]:
        """Every case, by id: what a rebuild is compared on."""
        return [CaseState.model_validate_json(r[0])
                for r in self.query("SELECT state FROM cases ORDER BY case_id")]

    def overdue_outcomes(self, now: datetime) -> list[Outcome]:
        """OVERDUE outcomes for open items past their deadline and not yet flagged."""
        out = []
        rows = self.query("SELECT c.state FROM watched_deadlines d JOIN cases c USING (case_id) "
                          "WHERE d.due_at < ? AND c.open = 1", (now.timestamp(),))
        for case in map(_case_of, rows):
            for item in case.items.values():
                if item.late_at(now) and not item.overdue:
                    out.append(Outcome(
                        outcome_id=str(uuid.uuid5(OUTCOME_NAMESPACE, f"{item.item_id}/OVERDUE")),
                        item_id=item.item_id, case_id=case.case_id,
                        event_id=case.event_ids[0] if case.event_ids else "",
                        department=item.department, item=item.item, status=OutcomeStatus.OVERDUE,
                        reason=f"deadline {item.deadline_at.isoformat()} passed", attempts=0,
                        occurred_at=now))
        return out


_WATCH_SQL = "INSERT OR REPLACE INTO watched_deadlines VALUES (?, ?)"  # (case id, due at, epoch s)


def _case_of(row) -> CaseState:
    return CaseState.model_validate_json(row[0])
