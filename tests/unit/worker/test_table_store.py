"""The router's RocksDB tables share one memory budget (hub.worker.table_store)."""

from __future__ import annotations

import faust
import pytest

from hub.worker import table_store
from hub.worker.app import TABLE_OPTIONS


@pytest.fixture()
def app(tmp_path):
    return faust.App("table-store-test", store=table_store.register(), datadir=str(tmp_path))


def test_every_table_of_the_app_opens_its_databases_with_the_budgeted_options(app):
    tables = [app.Table(name, default=None, partitions=3, options=dict(TABLE_OPTIONS)) for name in ("a", "b")]
    for table in tables:
        assert isinstance(table.data, table_store.BudgetedStore)
        assert isinstance(table.data.rocksdb_options, table_store.BudgetedOptions)
        # the per-database options the table gave are kept
        assert table.data.rocksdb_options.write_buffer_size == TABLE_OPTIONS["write_buffer_size"]


def test_memtables_of_many_databases_stay_within_the_one_write_buffer_budget(app, tmp_path):
    table = app.Table("many", default=None, partitions=1, options=dict(TABLE_OPTIONS))
    options = table.data.rocksdb_options
    # Eight databases, each written far past its own write buffer: without the shared manager
    # their memtables would hold 8 × 2 × 2 MB; with it the total stays near the budget.
    dbs = [options.open(tmp_path / f"db{i}") for i in range(8)]
    value = b"v" * 200
    for n in range(40_000):
        for db in dbs:
            db[n.to_bytes(4, "big")] = value
    usage = table_store.shared_write_buffers().get_usage()
    assert 0 < usage <= table_store.WRITE_BUFFER_BYTES * 1.1
    assert dbs[3][(39_999).to_bytes(4, "big")] == value  # flushed data still reads back
    for db in dbs:
        db.close()


def test_a_reopened_database_keeps_the_shared_cache(app, tmp_path):
    # rocksdict reopened an existing database with the options of its OPTIONS file, each with a
    # block cache of its own: the router's memory then grew with the history after every restart.
    options = app.Table("reopened", default=None, partitions=1, options=dict(TABLE_OPTIONS)).data.rocksdb_options
    db = options.open(tmp_path / "db")
    for n in range(2_000):
        db[n.to_bytes(4, "big")] = b"v" * 200
    db.close()
    reopened, other = options.open(tmp_path / "db"), options.open(tmp_path / "other")
    assert reopened[(5).to_bytes(4, "big")] == b"v" * 200
    assert reopened.property_int_value("rocksdb.block-cache-capacity") == table_store.BLOCK_CACHE_BYTES
    # one cache: what one database reads is counted in the usage both report
    assert reopened.property_int_value("rocksdb.block-cache-usage") == \
        other.property_int_value("rocksdb.block-cache-usage") > 0
    reopened.close()
    other.close()


def test_filters_stay_resident_so_absent_keys_are_answered_from_memory(app, tmp_path):
    # The router probes every partition's database for keys that are mostly absent. With the
    # filters in the block cache, the data blocks of a long history evicted them and each probe
    # read from disk again (CPU per routed event grew with the history).
    options = app.Table("probed", default=None, partitions=1, options=dict(TABLE_OPTIONS)).data.rocksdb_options
    db = options.open(tmp_path / "db")
    keys = 20_000
    for n in range(keys):
        db[n.to_bytes(4, "big")] = b"v" * 200
    db.flush()
    db.close()
    db = options.open(tmp_path / "db")
    hits = sum((n.to_bytes(4, "big") in db) for n in range(keys, keys + 5_000))
    assert hits == 0
    # the filter (10 bits a key) is held with the open table file, not in the shared cache
    assert db.property_int_value("rocksdb.estimate-table-readers-mem") >= keys * table_store.FILTER_BITS_PER_KEY // 8
    db.close()
