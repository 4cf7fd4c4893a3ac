"""The router's tables in RocksDB under one memory budget for the whole process.

faust opens a RocksDB database per table and partition (three tables on six partitions: 18), and
its rocksdict options give every database a block cache and memtables of its own. Each fills
as the history grows, so the router's memory rose with every database that warmed up (about
11 MB per 100,000 events in the memory benchmark, heading past 300 MB at a million). Here all of
them share one LRU block cache for data blocks and one write-buffer manager that flushes memtables
once their total passes its limit.

Index and filter blocks are kept outside the cache, resident with each open table file. They were
charged to the cache first; but the router probes every partition's database for keys that are
mostly absent (an event id seen before, a held supplement), and as the data blocks of a growing
history pushed the filters out, each probe went to disk: CPU per routed event rose from 4.1 to
6.5 ms over 300,000 events. Resident, with 10 bits per key (about 1 % false positives rather
than faust's 3 bits' 25 %), they cost about 1.25 bytes per key: some 4 MB at a million events.

The store is registered with faust under the URL scheme ``budgeted-rocksdb``; the options a table
passes (write buffer size, number) are faust's own and still apply per database.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import rocksdict
from faust.stores import STORES
from faust.stores.rocksdb import RocksDBOptions
from faust.stores.rocksdb import Store as RocksDBStore

SCHEME = "budgeted-rocksdb"
BLOCK_CACHE_BYTES = 16 * 1024 * 1024
WRITE_BUFFER_BYTES = 16 * 1024 * 1024
FILTER_BITS_PER_KEY = 10


@lru_cache(maxsize=1)
def shared_block_cache() -> rocksdict.Cache:
    return rocksdict.Cache(BLOCK_CACHE_BYTES)


@lru_cache(maxsize=1)
def shared_write_buffers() -> rocksdict.WriteBufferManager:
    # allow_stall=False: past the limit RocksDB flushes sooner; writers are never blocked.
    return rocksdict.WriteBufferManager(WRITE_BUFFER_BYTES, False)


class BudgetedOptions(RocksDBOptions):
    """faust's rocksdict options, with the process-wide cache and write-buffer manager."""

    def as_options(self) -> rocksdict.Options:
        options = rocksdict.Options(raw_mode=True)
        options.create_if_missing(True)
        options.set_max_open_files(self.max_open_files)
        options.set_write_buffer_size(self.write_buffer_size)
        options.set_max_write_buffer_number(self.max_write_buffer_number)
        options.set_target_file_size_base(self.target_file_size_base)
        options.set_write_buffer_manager(shared_write_buffers())
        table = rocksdict.BlockBasedOptions()
        table.set_bloom_filter(max(self.bloom_filter_size, FILTER_BITS_PER_KEY), False)
        table.set_block_cache(shared_block_cache())
        # Resident filters: an absent key is answered from memory, never from an evicted block.
        table.set_cache_index_and_filter_blocks(False)
        table.set_index_type(rocksdict.BlockBasedIndexType.binary_search())
        options.set_block_based_table_factory(table)
        return options

    def open(self, path: Path, *, read_only: bool = False) -> rocksdict.Rdict:
        # Told no column families, rocksdict reopens an existing database with the options saved
        # in its OPTIONS file: after a restart every database had a block cache of its own again
        # (8 MB each, 18 of them), and the router grew with the history until it reached them.
        # An empty mapping keeps the options given here; faust's tables use only the default one.
        access = rocksdict.AccessType.read_write() if self.ttl is None else rocksdict.AccessType.with_ttl(self.ttl)
        db = rocksdict.Rdict(str(path), options=self.as_options(), column_families={}, access_type=access)
        db.set_read_options(rocksdict.ReadOptions())
        return db


class BudgetedStore(RocksDBStore):
    """faust's RocksDB store (rocksdict driver) opening its databases with :class:`BudgetedOptions`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # faust has popped its own keys (driver, read_only) from the table's options by now.
        self.use_rocksdict = True
        self.rocksdb_options = BudgetedOptions(**self.options, use_rocksdict=True)


def register() -> str:
    """Make ``budgeted-rocksdb://`` a faust store URL; returns the URL to give the app."""
    STORES.setdefault(SCHEME, f"{__name__}:BudgetedStore")
    return f"{SCHEME}://"
