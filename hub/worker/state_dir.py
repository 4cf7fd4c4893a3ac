"""Where a router process keeps its tables on disk (RocksDB), one directory per process.

The router's tables live in RocksDB files under the state directory, so memory stays bounded
however long the history, and a restart reads only the changelog written since the files were
last flushed instead of the whole history. RocksDB allows one process per database, so two
routers on one machine must not share a directory: each takes the first free numbered slot
(``router-0``, ``router-1``, …), held by an exclusive lock for the life of the process. A
restarted router usually finds its old slot free and its files still current.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

MAX_SLOTS = 64


class StateSlot:
    """The directory this process owns; ``release()`` (or process exit) frees it."""

    def __init__(self, path: Path, lock: IO[bytes]):
        self.path, self._lock = path, lock

    def release(self) -> None:
        self._lock.close()  # closing the file drops the flock


def claim_slot(root: Path, name: str = "router") -> StateSlot:
    """Lock and return the first free ``<root>/<name>-<n>`` directory."""
    root.mkdir(parents=True, exist_ok=True)
    for n in range(MAX_SLOTS):
        lock = open(root / f"{name}-{n}.lock", "ab")  # noqa: SIM115 - held for the process's life
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        path = root / f"{name}-{n}"
        path.mkdir(exist_ok=True)
        os.set_inheritable(lock.fileno(), False)
        return StateSlot(path, lock)
    raise RuntimeError(f"{MAX_SLOTS} {name} processes already hold state directories under {root}")
