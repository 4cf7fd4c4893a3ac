"""Key files on disk: written whole (never half), readable by their owner only (mode 0600).

The audit's pseudonym keys and the hub's master key live in such files: outside Kafka, so whoever
reads the log does not also hold what protects it. In production the file is a mounted secret.
"""

from __future__ import annotations

import os
from pathlib import Path


def write_secret_file(path: Path, body: bytes, exclusive: bool, mode: int = 0o600) -> None:
    """Write ``body`` to ``path``. ``exclusive``: create it, failing with :class:`FileExistsError`
    if another process did first (two processes starting together then share one key); else
    write beside and replace, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    target = path if exclusive else path.with_suffix(path.suffix + ".tmp")
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(target, flags, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(body)
        out.flush()
        os.fsync(out.fileno())
    if not exclusive:
        os.replace(target, path)
