"""Durable projections: a view of some topics kept in SQLite with the offsets it has applied.

A projection is a cache of the log, never a source of truth: ``catch_up()`` applies what was
written since its stored positions and ``rebuild()`` discards its rows and reads every topic from
the beginning. Positions are written in the same transaction as the rows they produced, so a
crash mid-catch-up loses nothing and applies nothing twice. Several processes may share one
file (API server, CLI, deadline watch): a catch-up holds SQLite's write lock, and re-reads the
stored positions after taking it, so two catch-ups never apply the same records.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

from kafka import KafkaConsumer

from hub.config import HubSettings
from hub.kafka.clients import Clients
from hub.kafka.failures import unavailable_as_hub_error
from hub.kafka.log_reader import assign_all

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (records applied so far, records to apply in total)


def projection_path(settings: HubSettings, name: str) -> Path:
    return Path(settings.state_dir) / "projections" / settings.topic_prefix / f"{name}.sqlite"


class SqliteProjection:
    """Base class: subclasses set ``name`` and ``schema`` and implement ``topics`` and ``apply``."""

    name: str = ""
    schema: str = ""  # DDL, run on every open (use IF NOT EXISTS)
    batch_size = 5_000  # records per transaction while catching up
    skipped = 0  # records passed over as unreadable (projections that skip count them)
    refused = 0  # records passed over by the ownership rules (hub.domain.ownership)
    stall_timeout_s = 30.0  # behind, yet nothing arrives: Kafka is gone

    def __init__(self, clients: Clients, path: Path | str | None = None):
        self.clients = clients
        self.settings = clients.settings
        self.path = Path(path) if path is not None else projection_path(self.settings, self.name)
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._consumer: KafkaConsumer | None = None
        self._generation: str | None = None

    # -- to implement -------------------------------------------------------------------------

    def topics(self) -> list[str]:
        raise NotImplementedError

    def apply(self, conn: sqlite3.Connection, record) -> None:
        """Apply one Kafka record (``topic``, ``partition``, ``offset``, ``key``, ``value``,
        ``timestamp``, ``headers``) inside the open transaction."""
        raise NotImplementedError

    def flush(self, conn: sqlite3.Connection) -> None:
        """Write anything ``apply`` buffered; called before each commit."""

    def forget_buffers(self) -> None:
        """Drop anything ``apply`` buffered (the transaction was rolled back)."""

    # -- catching up --------------------------------------------------------------------------

    def catch_up(self, progress: Progress | None = None, poll_ms: int = 200) -> int:
        """Apply every record written so far; returns how many were applied.

        Raises :class:`~hub.errors.Unavailable` if Kafka, the registry or the file cannot be
        reached, :class:`~hub.errors.TopicMissing` if a topic was never created."""
        with unavailable_as_hub_error(f"projection {self.name!r} cannot catch up"):
            return self._catch_up(progress, poll_ms)

    def _catch_up(self, progress: Progress | None, poll_ms: int) -> int:
        with self._lock:
            conn, consumer = self.connection(), self._kafka()
            partitions = sorted(consumer.assignment(), key=lambda tp: (tp.topic, tp.partition))
            end = consumer.end_offsets(partitions)
            applied, total = 0, None
            while True:
                conn.execute("BEGIN IMMEDIATE")  # the write lock, before reading positions
                try:
                    self._notice_rebuilds(conn)
                    start = self._seek_to_stored(conn, consumer, partitions)
                    if total is None:
                        total = sum(max(0, end[tp] - start[tp]) for tp in partitions)
                        if progress:
                            progress(0, total)
                    batch = self._apply_batch(conn, consumer, end, poll_ms)
                    self.flush(conn)
                    self._store_positions(conn, consumer, partitions)
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    self.forget_buffers()
                    raise
                applied += batch
                if progress:
                    progress(applied, total)
                if all(consumer.position(tp) >= end[tp] for tp in partitions):
                    return applied

    def _apply_batch(self, conn, consumer: KafkaConsumer, end: dict, poll_ms: int) -> int:
        count, idle_since = 0, time.monotonic()
        while count < self.batch_size:
            behind = [tp for tp, off in end.items() if consumer.position(tp) < off]
            if not behind:
                break
            polled = consumer.poll(timeout_ms=poll_ms, max_records=self.batch_size - count)
            if polled:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since > self.stall_timeout_s:
                raise TimeoutError(f"projection {self.name!r}: no records from Kafka for "
                                   f"{self.stall_timeout_s:.0f}s while behind on "
                                   + ", ".join(f"{tp.topic}[{tp.partition}]" for tp in behind))
            for tp, records in polled.items():
                for record in records:
                    if record.offset >= end[tp]:
                        continue  # written after this catch-up began: the next one applies it
                    self.apply(conn, record)
                    count += 1
            # records past ``end`` were returned by poll: rewind to ``end`` so none is skipped
            for tp in polled:
                if consumer.position(tp) > end[tp]:
                    consumer.seek(tp, end[tp])
        return count

    def _seek_to_stored(self, conn, consumer: KafkaConsumer, partitions) -> dict:
        stored = {(t, p): o for t, p, o in conn.execute("SELECT topic, partition, next_offset FROM positions")}
        start = {}
        for tp in partitions:
            offset = stored.get((tp.topic, tp.partition))
            if offset is None:
                consumer.seek_to_beginning(tp)
                offset = consumer.position(tp)
            elif consumer.position(tp) != offset:
                consumer.seek(tp, offset)
            start[tp] = offset
        return start

    @staticmethod
    def _store_positions(conn, consumer: KafkaConsumer, partitions) -> None:
        conn.executemany(
            "INSERT INTO positions(topic, partition, next_offset) VALUES (?, ?, ?) "
            "ON CONFLICT(topic, partition) DO UPDATE SET next_offset = excluded.next_offset",
            [(tp.topic, tp.partition, consumer.position(tp)) for tp in partitions])

    def positions(self) -> dict[tuple[str, int], int]:
        with self._lock:
            rows = self.connection().execute("SELECT topic, partition, next_offset FROM positions")
            return {(t, p): o for t, p, o in rows}

    # -- rebuilding ---------------------------------------------------------------------------

    def rebuild(self, progress: Progress | None = None) -> int:
        """Discard the projection and rebuild it from the beginning of its topics.

        The new state is built in a shadow file beside this one while the live file keeps
        serving (and keeps being caught up) as it was; then, in one transaction, the live rows
        are replaced by the shadow's and a new generation is stamped. A process sharing the
        file (a running ``hub serve``) sees the old view until that commit and the rebuilt one
        from then on, never an empty or half-built one, and drops its own buffers when it
        notices the new generation. A rebuild that fails leaves the live file untouched.
        Needs the disk space of a second copy while it runs.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        shadow_path = self.path.with_name(
            f"{self.path.stem}.rebuild-{uuid.uuid4().hex[:8]}{self.path.suffix}")
        shadow = type(self)(self.clients, shadow_path)
        try:
            applied = shadow._rebuild_in_place(progress)  # this instance serves on meanwhile
            with self._lock:
                self._swap_in(shadow_path)
                self.skipped, self.refused = shadow.skipped, shadow.refused
        finally:
            shadow.close()
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{shadow_path}{suffix}").unlink(missing_ok=True)
        return applied

    def _rebuild_in_place(self, progress: Progress | None) -> int:
        """Empty this file (tables dropped and recreated, new generation) and catch up from zero."""
        conn = self.connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            self._recreate_schema(conn)
            self._generation = uuid.uuid4().hex
            conn.execute("INSERT INTO projection_meta VALUES ('generation', ?)", (self._generation,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        self.forget_buffers()
        consumer = self._kafka()
        consumer.seek_to_beginning(*consumer.assignment())
        return self.catch_up(progress)

    def _swap_in(self, shadow_path: Path) -> None:
        """Replace every row of the live file by the shadow's, atomically for every reader."""
        conn = self.connection()
        conn.execute("ATTACH DATABASE ? AS shadow", (str(shadow_path),))
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                self._recreate_schema(conn)  # the current DDL, the same the shadow was built with
                for table in self._tables(conn, "shadow"):
                    # (OR REPLACE: the fresh schema may already hold a marker row the shadow has too)
                    conn.execute(f'INSERT OR REPLACE INTO main."{table}" SELECT * FROM shadow."{table}"')
                row = conn.execute("SELECT value FROM projection_meta WHERE key = 'generation'").fetchone()
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        finally:
            conn.execute("DETACH DATABASE shadow")
        self.forget_buffers()
        self._generation = row[0] if row else None

    def _recreate_schema(self, conn: sqlite3.Connection) -> None:
        """Drop every table of the file (indexes go with them) and create the current schema."""
        for table in self._tables(conn, "main"):
            conn.execute(f'DROP TABLE main."{table}"')
        self._create_schema(conn)

    @staticmethod
    def _tables(conn: sqlite3.Connection, schema: str) -> list[str]:
        return [r[0] for r in conn.execute(
            f"SELECT name FROM {schema}.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]

    # -- plumbing -----------------------------------------------------------------------------

    def connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                   timeout=60.0)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._create_schema(conn)
            self._conn = conn
        return self._conn

    def _create_schema(self, conn: sqlite3.Connection) -> None:
        # Statement by statement: executescript() would commit the rebuild's open transaction.
        script = ("CREATE TABLE IF NOT EXISTS positions (topic TEXT NOT NULL, partition INTEGER NOT NULL,"
                  " next_offset INTEGER NOT NULL, PRIMARY KEY (topic, partition));"
                  "CREATE TABLE IF NOT EXISTS projection_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                  + self.schema)
        statement = ""
        for part in script.split(";"):
            statement += part + ";"
            if sqlite3.complete_statement(statement):
                if statement.strip(" \n\t;"):
                    conn.execute(statement)
                statement = ""

    def _notice_rebuilds(self, conn: sqlite3.Connection) -> None:
        """Another process rebuilt the file: whatever this one buffered refers to old rows."""
        row = conn.execute("SELECT value FROM projection_meta WHERE key = 'generation'").fetchone()
        generation = row[0] if row else None
        if generation != self._generation:
            self.forget_buffers()
            self._generation = generation

    def query(self, sql: str, params: Iterable = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self.connection().execute(sql, tuple(params)).fetchall()

    def _kafka(self) -> KafkaConsumer:
        if self._consumer is None:
            # Fetches bounded in all (not only per partition): a projection reads dozens of
            # partitions, and the deadline check's child process must stay small.
            consumer = self.clients.consumer(group_id=None, max_partition_fetch_bytes=1024 * 1024,
                                             fetch_max_bytes=8 * 1024 * 1024)
            try:
                assign_all(consumer, self.topics(), f"projection {self.name!r}")
            except BaseException:
                consumer.close()
                raise
            self._consumer = consumer
        return self._consumer

    def close(self) -> None:
        with self._lock:
            if self._consumer is not None:
                self._consumer.close()
                self._consumer = None
            if self._conn is not None:
                self._conn.close()
                self._conn = None
