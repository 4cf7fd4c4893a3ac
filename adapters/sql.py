"""SQL table delivery: upsert each work item into a table in the agency's own database.

One row per work item, keyed by ``item_id``: a redelivered item updates its row (same content;
``updated_at`` moves, ``received_at`` keeps the first receipt) and never adds a second one.
A correction or annulment is a work item of its own with its own ``item_id`` and its own row;
its ``refers_to_item_id`` names the original item's row, so an agency finds the current state of
a registration by joining ``refers_to_item_id`` to ``item_id`` (indexed for that).

Columns: ``item_id`` (primary key), ``case_id``, ``event_id``, ``department``, ``item``,
``change`` (NEW/CORRECTION/ANNULMENT), ``refers_to_item_id``, ``requested_at``, ``deadline_at``,
``data`` (the granted fields as a JSON object text, keys sorted), ``received_at``,
``updated_at``. Times are UTC; SQLite stores them without an offset.

SQLite and PostgreSQL are supported (``INSERT … ON CONFLICT DO UPDATE`` in both); the table is
created on first use if missing.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import threading
from collections.abc import Sequence
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from adapters.common import Clock, SinkUnavailable, describe, redact, utc_now
from hub.domain.outcomes import Completed, HandlerResult
from hub.domain.routing import WorkItem
from hub.errors import ConfigurationError

log = logging.getLogger(__name__)

# Lower-case unquoted identifiers read the same in SQLite and PostgreSQL (which folds case), so
# agencies can name the table in their SQL without quotes; 63 bytes is PostgreSQL's limit.
TABLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


def validate_table_name(name: str) -> str:
    """``name`` if it is a safe table name, else :class:`ConfigurationError` saying why."""
    if not isinstance(name, str) or not TABLE_NAME.fullmatch(name):
        raise ConfigurationError(
            f"invalid table name {name!r}: use 1-63 characters a-z, 0-9 and _, not starting with a digit"
        )
    return name


def work_item_table(name: str, metadata: sa.MetaData | None = None) -> sa.Table:
    """The delivery table's shape under ``name``."""
    ts = sa.DateTime(timezone=True)
    return sa.Table(
        validate_table_name(name), metadata or sa.MetaData(),
        sa.Column("item_id", sa.String(64), primary_key=True),
        sa.Column("case_id", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("department", sa.String(64), nullable=False),
        sa.Column("item", sa.String(128), nullable=False),
        sa.Column("change", sa.String(16), nullable=False),
        sa.Column("refers_to_item_id", sa.String(64), nullable=True, index=True),
        sa.Column("requested_at", ts, nullable=False),
        sa.Column("deadline_at", ts, nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("received_at", ts, nullable=False),
        sa.Column("updated_at", ts, nullable=False),
    )


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc)


class SqlTableAdapter:
    """Upsert work items into ``table`` through ``engine``; a :data:`~hub.domain.outcomes.Handler`.

    Build the engine with :meth:`from_url` (``sqlite:///path.db`` or
    ``postgresql+psycopg://user@host/db``) or pass your own. Database errors are raised as
    :class:`SinkUnavailable` so the inbox retries and finally parks the item.
    """

    def __init__(self, engine: Engine, table: str = "oncehub_work_items", *, clock: Clock = utc_now):
        dialect = engine.dialect.name
        if dialect not in _INSERTS:
            raise ConfigurationError(f"SQL adapter supports sqlite and postgresql, not {dialect!r}")
        self.engine, self._clock = engine, clock
        self.table = work_item_table(table)
        self._insert = _INSERTS[dialect]
        self._ready = False
        self._ready_lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, table: str = "oncehub_work_items", *, clock: Clock = utc_now) -> "SqlTableAdapter":
        # hide_parameters keeps row values (identity numbers) out of exception messages and logs.
        engine = sa.create_engine(url, pool_pre_ping=True, hide_parameters=True)
        return cls(engine, table, clock=clock)

    def __call__(self, item: WorkItem) -> HandlerResult:
        return self.handle_many([item])[0]

    def handle_many(self, items: Sequence[WorkItem]) -> list[HandlerResult]:
        """Upsert ``items`` in one transaction (one commit, so one disk sync for a poll's items
        on SQLite): all stored, or none and :class:`SinkUnavailable`."""
        now = _utc(self._clock())
        # One row per item id (the last copy: a redelivered item is the same content), so no
        # statement touches a row twice — PostgreSQL refuses that within one multi-row insert.
        rows = list({item.item_id: self._row(item, now) for item in items}.values())
        try:
            self._ensure_table()
            with self.engine.begin() as conn:
                conn.execute(self._upsert, rows)
        except sa.exc.SQLAlchemyError as exc:
            cause = f"{type(exc).__name__}: {redact(str(getattr(exc, 'orig', None) or exc).splitlines()[0])}"
            what = describe(items[0]) if len(items) == 1 else f"{len(items)} items"
            log.warning("sql %s: could not store %s: %s", self.table.name, what, cause)
            raise SinkUnavailable(f"sql table {self.table.name}", cause) from exc
        if len(items) == 1:
            log.info("sql %s: stored %s", self.table.name, describe(items[0]))
        else:
            log.info("sql %s: stored %d items (%s … %s)", self.table.name, len(items),
                     items[0].item_id, items[-1].item_id)
        return [Completed(reference=f"sql:{self.table.name}:{item.item_id}") for item in items]

    def _ensure_table(self) -> None:
        """Create the table once per adapter; checkfirst makes concurrent creators harmless."""
        with self._ready_lock:
            if not self._ready:
                self.table.metadata.create_all(self.engine, checkfirst=True)
                self._ready = True

    @functools.cached_property
    def _upsert(self) -> sa.Insert:
        stmt = self._insert(self.table)
        # On redelivery refresh everything but the first-receipt time.
        changed = {c.name: stmt.excluded[c.name] for c in self.table.columns
                   if c.name not in ("item_id", "received_at")}
        return stmt.on_conflict_do_update(index_elements=["item_id"], set_=changed)

    @staticmethod
    def _row(item: WorkItem, now: datetime) -> dict:
        return {
            "item_id": item.item_id, "case_id": item.case_id, "event_id": item.event_id,
            "department": item.department.value, "item": item.item, "change": item.change.value,
            "refers_to_item_id": item.refers_to_item_id,
            "requested_at": _utc(item.requested_at), "deadline_at": _utc(item.deadline_at),
            "data": json.dumps(item.data, ensure_ascii=False, sort_keys=True),
            "received_at": now, "updated_at": now,
        }
