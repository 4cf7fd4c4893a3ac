"""The facts projection: every subject's facts, derived from every registration event topic.

Kept in SQLite (``<state_dir>/projections/<prefix>/facts.sqlite``) like the case projection:
rows per (subject, event) hold the facts as JSON, so a query is one indexed lookup. Values are
stored whole; what a department may see is decided at query time from the routing rules
(:func:`hub.domain.facts.visible_to`), so a change of the rules needs no rebuild.

Events are decoded with the registry exactly as the router decodes them. A record that cannot
be decoded is skipped with a warning (the router dead-letters it; the projection must not stall
on it); an unreachable registry stops the catch-up instead, to be retried.

The projection applies the router's ownership rules (:mod:`hub.domain.ownership`), from what it
records of each event it applies (``recorded``: department, type, primary subject, content
fingerprint): an event on a topic its department does not write, a correction or annulment of
another department's event (or of another type, or another primary subject), a supplement of an
event another department accepted, an event id reused with other content — each is refused
(counted in ``refused``, logged without personal data) and changes no fact. A file built before
``recorded`` existed knows no originals: rebuild it (``hub rebuild facts``).

Erasure (``hub erase``): the projection also reads the hub's key topic. Each event applied notes
which person's key sealed which role's fields (``sealed``); a key's tombstone turns that role's
fields to ``"erased"`` in every fact of those events, so a live projection forgets as a rebuilt
one does (a rebuild decodes the event with the key gone, and reads the same). Facts stay filed
under the identifier the event is filed under; nothing else of an erased person is kept.
"""

from __future__ import annotations

import json
import logging
import sqlite3

from pydantic import TypeAdapter

from hub.kafka.clients import Clients
from hub.kafka.key_feed import KeyFeed
from hub.domain.facts import Fact, FactChange, change_for, current
from hub.domain.personal_data import ERASED, sealed_paths
from hub.domain.redaction import error_text
from hub.domain.ownership import (
    Recorded, id_refusal, reference_refusal, supplement_refusal, writer_refusal)
from hub.kafka.topic_names import TopicNames
from hub.projections.store import SqliteProjection
from hub.kafka.failures import is_transient
from hub.wire.serde import event_view_decoders

log = logging.getLogger(__name__)

_FACTS = TypeAdapter(list[Fact])


class FactsProjection(SqliteProjection):
    """Facts by subject; thread-safe, shareable between processes."""

    name = "facts"
    schema = """
    CREATE TABLE IF NOT EXISTS facts (
        subject_id TEXT NOT NULL, event_id TEXT NOT NULL, facts TEXT NOT NULL,
        PRIMARY KEY (subject_id, event_id));
    CREATE INDEX IF NOT EXISTS facts_by_event ON facts(event_id);
    -- which chain of corrections an event belongs to (its first event), to withdraw it whole
    CREATE TABLE IF NOT EXISTS lineage (event_id TEXT PRIMARY KEY, origin_event_id TEXT NOT NULL);
    CREATE INDEX IF NOT EXISTS lineage_by_origin ON lineage(origin_event_id);
    -- events accepted with documents missing (容缺受理): their facts stay hidden until supplied
    CREATE TABLE IF NOT EXISTS held (event_id TEXT PRIMARY KEY, documents TEXT NOT NULL);
    -- documents supplemented before their event was read (the topics are read side by side),
    -- by the department that supplemented them (only the event's own department's count)
    CREATE TABLE IF NOT EXISTS early_supplements (
        event_id TEXT NOT NULL, department TEXT NOT NULL, documents TEXT NOT NULL,
        PRIMARY KEY (event_id, department));
    -- every event applied: who published it, its type, primary subject and content fingerprint
    CREATE TABLE IF NOT EXISTS recorded (
        event_id TEXT PRIMARY KEY, department TEXT NOT NULL, event_type TEXT NOT NULL,
        subject TEXT NOT NULL, fingerprint TEXT NOT NULL);
    -- whose key sealed which role's fields of an event (and its case): what a key's tombstone
    -- erases, and where `hub erase` finds a person the event is not filed under
    CREATE TABLE IF NOT EXISTS sealed (
        key_id TEXT NOT NULL, event_id TEXT NOT NULL, role TEXT NOT NULL, paths TEXT NOT NULL,
        case_id TEXT NOT NULL, PRIMARY KEY (key_id, event_id, role)) WITHOUT ROWID;
    """

    def __init__(self, clients: Clients, path=None):
        super().__init__(clients, path)
        self._names = names = TopicNames(clients.settings.topic_prefix)
        registry = clients.registry
        self._specs = names.event_specs()
        decoders = event_view_decoders(registry, KeyFeed(clients).open)
        self._decoders = {topic: decoders[spec.event_type] for topic, spec in self._specs.items()}

    def topics(self) -> list[str]:
        return [*self._decoders, self._names.subject_keys]

    def _create_schema(self, conn: sqlite3.Connection) -> None:
        super()._create_schema(conn)
        if conn.execute("SELECT 1 FROM recorded LIMIT 1").fetchone() is None:
            # An empty file (new, or being rebuilt) indexes every event it will apply.
            conn.execute("INSERT OR REPLACE INTO projection_meta VALUES ('sealed_indexed', '1')")

    def sealed_index_complete(self) -> bool:
        """Whether ``sealed`` covers every event applied: false for a file built before it
        existed (its older events are not indexed: ``hub rebuild facts``)."""
        return self.connection().execute("SELECT 1 FROM projection_meta WHERE key = 'sealed_indexed'").fetchone() is not None

    def apply(self, conn, record) -> None:
        if record.topic == self._names.subject_keys:
            if record.value is None and record.key is not None:  # a tombstone: the key was erased
                self.erase_key(conn, record.key.decode())
            return
        try:
            if record.value is None:
                raise ValueError("record has no value (tombstone)")
            event = self._decoders[record.topic](record.value, record.topic)
        except Exception as exc:  # noqa: BLE001 - a bad record is skipped, never retried forever
            if is_transient(exc):
                raise  # the registry is unreachable: this catch-up fails, the next one retries
            self.skipped += 1
            log.warning("facts: skipping %s[%d]@%d, which cannot be decoded (the router "
                        "dead-letters it): %s", record.topic, record.partition, record.offset,
                        error_text(exc))
            return
        spec = self._specs[record.topic]
        refusal = writer_refusal(event, record.topic, spec.event_type.value,
                                 self._names.writer_of(record.topic),
                                 frozenset(d.value for d in spec.publishers))
        refusal = refusal or self.apply_event(conn, event)
        if refusal is not None:
            self.refused += 1
            log.warning("facts: refusing %s[%d]@%d (the router dead-letters it): %s",
                        record.topic, record.partition, record.offset, refusal)

    def apply_event(self, conn: sqlite3.Connection, event: dict) -> str | None:
        """Store what one decoded event record changes (inside the open transaction); or, if an
        ownership rule refuses it, change nothing and return the reason."""
        change = change_for(event)
        if change.supplements is not None:
            return self._supplement(conn, event, change)
        env = event["envelope"]
        recorded = Recorded.of(event)
        refers = env.get("refers_to")
        refusal = id_refusal(event, self._recorded(conn, change.event_id), recorded.fingerprint) or (
            reference_refusal(event, self._recorded(conn, refers["event_id"])) if refers else None)
        if refusal is not None:
            return refusal
        conn.execute("INSERT OR REPLACE INTO recorded VALUES (?, ?, ?, ?, ?)",
                     (change.event_id, recorded.department, recorded.event_type, recorded.subject,
                      recorded.fingerprint))
        origin = change.event_id
        if change.withdraws is not None:
            row = conn.execute("SELECT origin_event_id FROM lineage WHERE event_id = ?",
                               (change.withdraws,)).fetchone()
            origin = row[0] if row else change.withdraws
            conn.execute("DELETE FROM facts WHERE event_id IN "
                         "(SELECT event_id FROM lineage WHERE origin_event_id = ?) OR event_id = ?",
                         (origin, change.withdraws))
        conn.execute("INSERT OR REPLACE INTO lineage VALUES (?, ?)", (change.event_id, origin))
        conn.executemany("INSERT OR IGNORE INTO sealed VALUES (?, ?, ?, ?, ?)",
                         [(b["key_id"], change.event_id, b["role"], json.dumps(sealed_paths(event, b["role"])),
                           str(env["case_id"])) for b in env.get("protected") or []])
        by_subject: dict[str, list[Fact]] = {}
        for fact in change.facts:
            by_subject.setdefault(fact.subject_id, []).append(fact)
        conn.executemany("INSERT OR REPLACE INTO facts VALUES (?, ?, ?)",
                         [(subject, change.event_id, _FACTS.dump_json(facts).decode())
                          for subject, facts in by_subject.items()])
        if change.held_for:  # only a held event looks for documents read ahead of it
            # (those its own department supplemented: any other department's are refused)
            early = conn.execute("SELECT documents FROM early_supplements WHERE event_id = ? "
                                 "AND department = ?", (change.event_id, recorded.department)).fetchone()
            supplied = json.loads(early[0]) if early else []
            foreign = conn.execute("DELETE FROM early_supplements WHERE event_id = ? AND department != ?",
                                   (change.event_id, recorded.department)).rowcount
            conn.execute("DELETE FROM early_supplements WHERE event_id = ?", (change.event_id,))
            if foreign:
                self.refused += foreign
                log.warning("facts: refusing %d supplement(s) of event %s read ahead of it: %s",
                            foreign, change.event_id, supplement_refusal(
                                "another department", change.event_id, recorded))
            held_for = [d for d in change.held_for if d not in supplied]
            if held_for:
                conn.execute("INSERT OR REPLACE INTO held VALUES (?, ?)",
                             (change.event_id, json.dumps(held_for, ensure_ascii=False)))
        return None

    def erase_key(self, conn: sqlite3.Connection, key_id: str) -> None:
        """A person's key was erased: the fields it sealed read ``"erased"`` in every fact."""
        for event_id, paths in conn.execute("SELECT event_id, paths FROM sealed WHERE key_id = ?",
                                            (key_id,)).fetchall():
            gone = json.loads(paths)
            for subject, facts_json in conn.execute("SELECT subject_id, facts FROM facts WHERE event_id = ?",
                                                    (event_id,)).fetchall():
                facts = [f.model_copy(update={"values": {**f.values, **{p: ERASED for p in gone if p in f.values}}})
                         for f in _FACTS.validate_json(facts_json)]
                conn.execute("UPDATE facts SET facts = ? WHERE subject_id = ? AND event_id = ?",
                             (_FACTS.dump_json(facts).decode(), subject, event_id))

    def cases_sealed_by(self, key_ids) -> list[str]:
        """The cases whose events carry fields sealed by any of ``key_ids`` (a person's keys)."""
        keys = sorted(key_ids)
        if not keys:
            return []
        rows = self.query(f"SELECT DISTINCT case_id FROM sealed WHERE key_id IN ({', '.join('?' * len(keys))})",
                          tuple(keys))
        return sorted(r[0] for r in rows)

    @staticmethod
    def _recorded(conn, event_id: str) -> Recorded | None:
        row = conn.execute("SELECT department, event_type, subject, fingerprint FROM recorded "
                           "WHERE event_id = ?", (event_id,)).fetchone()
        return Recorded(*row) if row else None

    def _supplement(self, conn, event: dict, change: FactChange) -> str | None:
        department = str(event["envelope"]["source_department"])
        row = conn.execute("SELECT documents FROM held WHERE event_id = ?", (change.supplements,)).fetchone()
        if row is None:
            if self._recorded(conn, change.supplements) is not None:  # not held: refused
                return supplement_refusal(department, change.supplements, None)
            # Read before its event (another topic): keep the documents for when it comes.
            early = conn.execute("SELECT documents FROM early_supplements WHERE event_id = ? AND "
                                 "department = ?", (change.supplements, department)).fetchone()
            documents = (json.loads(early[0]) if early else []) + list(change.documents)
            conn.execute("INSERT OR REPLACE INTO early_supplements VALUES (?, ?, ?)",
                         (change.supplements, department, json.dumps(documents, ensure_ascii=False)))
            return None
        refusal = supplement_refusal(department, change.supplements,
                                     self._recorded(conn, change.supplements))
        if refusal is not None:
            return refusal
        remaining = [d for d in json.loads(row[0]) if d not in change.documents]
        if remaining:
            conn.execute("UPDATE held SET documents = ? WHERE event_id = ?",
                         (json.dumps(remaining, ensure_ascii=False), change.supplements))
        else:
            conn.execute("DELETE FROM held WHERE event_id = ?", (change.supplements,))
        return None

    # -- queries --------------------------------------------------------------------------------

    def facts_for(self, subject_id: str) -> list[Fact]:
        """The subject's current facts (every field; filter with ``visible_to`` before showing)."""
        rows = self.query("SELECT facts FROM facts WHERE subject_id = ? "
                          "AND event_id NOT IN (SELECT event_id FROM held)", (subject_id,))
        return current([f for row in rows for f in _FACTS.validate_json(row[0])])
