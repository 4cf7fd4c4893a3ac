"""Key files on disk: written whole (never half), readable by their owner only (mode 0600).

The audit's pseudonym keys and the hub's master key live in such files: outside Kafka, so whoever
reads the log does not also hold what protects it. In production the file is a mounted secret.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_secret_file(path: Path, body: bytes, exclusive: bool, mode: int = 0o600) -> None:
    """Write ``body`` to ``path``, whole: it is written to a temporary file of its own beside
    ``path`` first, so a reader (or a second writer, in another thread or process) never sees
    half a file. ``exclusive``: the file appears only if none is there yet, else
    :class:`FileExistsError` (two processes starting together then share one key); otherwise
    it replaces what is there."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as out:
            out.write(body)
            out.flush()
            os.fsync(out.fileno())
        if exclusive:
            os.link(temporary, path)  # atomic, and refuses an existing file
        else:
            os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
