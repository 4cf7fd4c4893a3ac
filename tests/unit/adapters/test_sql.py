"""SQL table adapter: upserts into SQLite (a file in tmp_path) and PostgreSQL.

That a redelivered item is one row and a correction a row of its own, answered the same every
time, is the agency-handler contract (``tests/contract/test_agency_handler.py``, on SQLite).

PostgreSQL runs only where its server binaries are installed (``/usr/lib/postgresql/*/bin``):
a throwaway cluster is initialised in a temporary directory and started on a free loopback
port for this module, one fresh database per test. Elsewhere those cases are skipped.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from adapters.common import SinkUnavailable
from adapters.sql import SqlTableAdapter, validate_table_name
from hub.domain.outcomes import Completed
from hub.errors import ConfigurationError
from tests.builders import correction_of, items

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=timezone.utc)
PG_BINS = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _as_postgres(args: list[str], **kw) -> subprocess.CompletedProcess:
    # PostgreSQL refuses to run as root; CI runs as root, so drop to the postgres user there.
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run(prefix + args, check=True, capture_output=True, text=True, **kw)


@pytest.fixture(scope="module")
def postgres_url():
    if not PG_BINS:
        pytest.skip("PostgreSQL server binaries not installed (/usr/lib/postgresql/*/bin)")
    bindir = Path(PG_BINS[-1]).parent
    base = Path(tempfile.mkdtemp(prefix="oncehub-pg-"))
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data = base / "data"
    _as_postgres([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"])
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -F"
    _as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(base / "log"), "-w", "start"])
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        _as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"])
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'agency.db'}"
        return
    server = request.getfixturevalue("postgres_url")
    name = f"agency_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    admin.dispose()
    yield f"{server}/{name}"


@pytest.fixture()
def clock():
    return Clock()


def _rows(adapter: SqlTableAdapter) -> list[dict]:
    with adapter.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(adapter.table).order_by("item_id"))]


def _utc(moment: datetime) -> datetime:
    # SQLite hands times back without an offset; the adapter stored them as UTC.
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def test_redelivery_refreshes_the_row_but_keeps_the_first_receipt_time(db_url, clock):
    adapter = SqlTableAdapter.from_url(db_url, "tax_inbox", clock=clock)
    item = items(1)[0]
    assert adapter(item) == Completed(reference=f"sql:tax_inbox:{item.item_id}")
    clock.now += timedelta(minutes=5)
    SqlTableAdapter.from_url(db_url, "tax_inbox", clock=clock)(item)  # a restarted worker redelivers it
    [row] = _rows(adapter)
    assert _utc(row["received_at"]) == T0 and _utc(row["updated_at"]) == T0 + timedelta(minutes=5)


def test_two_items_are_two_rows_with_their_content(db_url, clock):
    adapter = SqlTableAdapter.from_url(db_url, "work_items", clock=clock)
    sent = items(2)
    for item in sent:
        adapter(item)
    rows = {r["item_id"]: r for r in _rows(adapter)}
    assert set(rows) == {i.item_id for i in sent}
    for item in sent:
        row = rows[item.item_id]
        assert (row["case_id"], row["event_id"], row["item"]) == (item.case_id, item.event_id, item.item)
        assert (row["department"], row["change"]) == (item.department.value, "NEW")
        assert row["refers_to_item_id"] is None
        assert _utc(row["requested_at"]) == item.requested_at
        assert _utc(row["deadline_at"]) == item.deadline_at
        assert json.loads(row["data"]) == item.data


def test_correction_is_its_own_row_joined_by_refers_to(db_url, clock):
    adapter = SqlTableAdapter.from_url(db_url, "work_items", clock=clock)
    original = items(1)[0]
    correction = correction_of(original)
    adapter(original)
    adapter(correction)
    t = adapter.table
    fix = t.alias("fix")
    query = sa.select(t.c.item_id, fix.c.item_id, fix.c.change).join(fix, fix.c.refers_to_item_id == t.c.item_id)
    with adapter.engine.connect() as conn:
        assert conn.execute(query).all() == [(original.item_id, correction.item_id, "CORRECTION")]


@pytest.mark.parametrize("name", ["", "1items", "Items", "items; drop table x", "a-b", "x.y", "é", "a" * 64])
def test_bad_table_name_is_refused(name):
    with pytest.raises(ConfigurationError, match="invalid table name"):
        validate_table_name(name)
    with pytest.raises(ConfigurationError):
        SqlTableAdapter(sa.create_engine("sqlite://"), name)


def test_longest_table_name_works(db_url, clock):
    adapter = SqlTableAdapter.from_url(db_url, "t" * 63, clock=clock)
    assert isinstance(adapter(items(1)[0]), Completed) and len(_rows(adapter)) == 1


def test_unreachable_database_is_a_transient_error_without_data(tmp_path):
    adapter = SqlTableAdapter.from_url(f"sqlite:///{tmp_path / 'missing' / 'agency.db'}")
    item = items(1)[0]
    with pytest.raises(SinkUnavailable) as failed:
        adapter(item)
    assert not any(v and v in str(failed.value) for v in item.data.values())


def test_a_batch_is_one_transaction_with_one_row_per_item(db_url, clock):
    adapter = SqlTableAdapter.from_url(db_url, "work_items", clock=clock)
    sent = items(4)
    # a redelivered item within the batch: one row, and both copies answered alike
    results = adapter.handle_many([*sent, sent[1]])
    assert results == [Completed(reference=f"sql:work_items:{i.item_id}") for i in [*sent, sent[1]]]
    assert [r["item_id"] for r in _rows(adapter)] == sorted(i.item_id for i in sent)
    assert adapter.handle_many(sent) == results[:4]  # the whole batch again: same answers
    assert len(_rows(adapter)) == 4


def test_a_batch_that_fails_stores_none_of_its_items(tmp_path, clock):
    adapter = SqlTableAdapter.from_url(f"sqlite:///{tmp_path / 'agency.db'}", "work_items", clock=clock)
    earlier, *batch = items(4)
    adapter(earlier)
    with adapter.engine.begin() as conn:  # the agency's own rule: no item from this case
        conn.execute(sa.text("CREATE TRIGGER no_case BEFORE INSERT ON work_items "
                             f"WHEN NEW.case_id = '{batch[-1].case_id}' "
                             "BEGIN SELECT RAISE(ABORT, 'case refused'); END"))
    with pytest.raises(SinkUnavailable):
        adapter.handle_many(batch)
    assert [r["item_id"] for r in _rows(adapter)] == [earlier.item_id]  # the earlier row only
