"""File-drop delivery for batch agencies: daily JSONL and CSV files in a shared directory.

Layout: ``<dir>/<DEPARTMENT>/<YYYY-MM-DD>.jsonl`` and ``.csv``, one line/row per work item, the
day being the item's ``requested_at`` in China Standard Time (UTC+8), the agencies' working day.

- JSONL: one ``item.model_dump(mode="json")`` object per line (UTF-8, keys sorted).
- CSV (RFC 4180, UTF-8 without BOM, header row): ``item_id, case_id, event_id, item, change,
  refers_to_item_id, requested_at, deadline_at, data``. ``data`` is one column holding the
  granted fields as a JSON object (keys sorted), because one department's file mixes item types
  with different fields and a fixed header is what batch loaders can rely on.

Guarantees: a file is only ever replaced whole (temp file in the same directory, fsync,
``os.replace``, directory fsync), so a reader sees the old or the new version, never a partial
one; an item already present in a file is not appended again, so redelivery is harmless; each
file is checked on its own, so a crash between the JSONL and CSV writes heals on redelivery.
Writers serialise on ``<dir>/<DEPARTMENT>/.lock`` (``fcntl.flock``); readers need no lock.
Each write copies the day's file, which suits batch volumes (thousands of items a day).
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from adapters.common import SinkUnavailable, describe, redact
from hub.domain.common import CHINA_TZ
from hub.domain.outcomes import Completed, HandlerResult
from hub.domain.routing import WorkItem

log = logging.getLogger(__name__)

CSV_COLUMNS = ("item_id", "case_id", "event_id", "item", "change", "refers_to_item_id",
               "requested_at", "deadline_at", "data")


def jsonl_line(item: WorkItem) -> str:
    return json.dumps(item.model_dump(mode="json"), ensure_ascii=False, sort_keys=True) + "\n"


def csv_row(item: WorkItem) -> str:
    values = item.model_dump(mode="json")
    values["data"] = json.dumps(item.data, ensure_ascii=False, sort_keys=True)
    out = io.StringIO()
    csv.writer(out).writerow(["" if values[c] is None else values[c] for c in CSV_COLUMNS])
    return out.getvalue()


def _read(path: Path) -> str:
    # newline="": keep CSV's CRLF row ends byte for byte when the file is copied forward.
    with path.open(encoding="utf-8", newline="") as handle:
        return handle.read()


def _jsonl_ids(text: str) -> set[str]:
    return {json.loads(line)["item_id"] for line in text.splitlines() if line.strip()}


def _csv_ids(text: str) -> set[str]:
    return {row["item_id"] for row in csv.DictReader(io.StringIO(text, newline=""))}


def _csv_header() -> str:
    out = io.StringIO()
    csv.writer(out).writerow(CSV_COLUMNS)
    return out.getvalue()


def replace_atomically(path: Path, text: str) -> None:
    """Make ``path`` hold ``text``, all or nothing, durably."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    # The rename itself is durable only once the directory entry is on disk.
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class FileDropAdapter:
    """Append work items to daily JSONL and CSV files under ``directory``; a Handler."""

    def __init__(self, directory: str | os.PathLike[str]):
        self.directory = Path(directory)

    def paths_for(self, item: WorkItem) -> tuple[Path, Path]:
        """The day's ``(jsonl, csv)`` files for ``item``."""
        day = item.requested_at.astimezone(CHINA_TZ).date().isoformat()
        folder = self.directory / item.department.value
        return folder / f"{day}.jsonl", folder / f"{day}.csv"

    def __call__(self, item: WorkItem) -> HandlerResult:
        jsonl, csv_path = self.paths_for(item)
        try:
            jsonl.parent.mkdir(parents=True, exist_ok=True)
            with self._locked(jsonl.parent):
                self._add(jsonl, item, "", jsonl_line, _jsonl_ids)
                self._add(csv_path, item, _csv_header(), csv_row, _csv_ids)
        except (OSError, ValueError, KeyError) as exc:
            # ValueError/KeyError: a file someone edited by hand no longer parses; we do not
            # overwrite it, an operator looks at it and re-drives the parked item.
            log.warning("filedrop %s: could not store %s: %s", jsonl.parent, describe(item), type(exc).__name__)
            raise SinkUnavailable(f"file drop {jsonl.parent}", f"{type(exc).__name__}: {redact(str(exc))}") from exc
        return Completed(reference=f"file:{item.department.value}/{jsonl.stem}:{item.item_id}")

    @staticmethod
    def _add(path: Path, item: WorkItem, header: str, render, ids_in) -> None:
        old = _read(path) if path.exists() else header
        if item.item_id in ids_in(old):
            log.info("filedrop %s already holds %s", path, describe(item))
            return
        replace_atomically(path, old + render(item))
        log.info("filedrop %s: added %s", path, describe(item))

    @staticmethod
    @contextmanager
    def _locked(folder: Path) -> Iterator[None]:
        with open(folder / ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
