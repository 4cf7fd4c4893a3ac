"""The audit chain (issue 4 groundwork): tamper-evident records of who received what, and why.

Each record carries the hash of the previous record of its partition and its own content hash,
SHA-256 over a canonical encoding (sorted keys, no whitespace, UTF-8, ISO 8601 UTC times). A
changed record breaks its own hash; a removed, inserted or reordered record breaks the link to
its predecessor. Verification names the first broken partition and offset, and why.

Pure: producing and reading the audit topic live at the edges.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

GENESIS = "0" * 64  # the "previous hash" of every partition's first record


def _default(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    raise TypeError(f"cannot encode {type(value).__name__} in an audit record")


def canonical(content: dict) -> bytes:
    """The one byte string an audit record's content hashes to, whoever encodes it."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=_default).encode("utf-8")


def content_hash(prev_hash: str, content: dict) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + canonical(content)).hexdigest()


@dataclass(frozen=True)
class AuditRecord:
    """One link of a partition's chain."""

    content: dict
    prev_hash: str
    hash: str

    @classmethod
    def after(cls, prev_hash: str, content: dict) -> "AuditRecord":
        return cls(content, prev_hash, content_hash(prev_hash, content))


@dataclass(frozen=True)
class StoredAudit:
    """An audit record as found in the log."""

    partition: int
    offset: int
    record: AuditRecord


@dataclass(frozen=True)
class Verdict:
    ok: bool
    count: int
    partition: int | None = None
    offset: int | None = None
    reason: str = ""
    heads: dict[int, str] | None = None  # last hash per partition: what an auditor anchors

    def __str__(self) -> str:
        if self.ok:
            return f"OK: {self.count} audit record(s) verified"
        return f"BROKEN at partition {self.partition} offset {self.offset}: {self.reason}"


def verify(stored: Iterable[StoredAudit], anchors: dict[tuple[int, int], str] | None = None) -> Verdict:
    """Walk every partition's chain in offset order; stop at the first break.

    ``anchors`` maps ``(partition, offset)`` to a hash kept outside the system: the record there
    must still carry it, so even a consistently rewritten chain is caught.
    """
    last: dict[int, str] = {}
    count = 0
    for item in sorted(stored, key=lambda s: (s.partition, s.offset)):
        rec, where = item.record, (item.partition, item.offset)
        if rec.hash != content_hash(rec.prev_hash, rec.content):
            return Verdict(False, count, *where, "content does not match its hash (record altered)")
        expected_prev = last.get(item.partition, GENESIS)
        if rec.prev_hash != expected_prev:
            return Verdict(False, count, *where, "does not link to the previous record's hash "
                                                 "(a record was removed, inserted or reordered)")
        if anchors and where in anchors and anchors[where] != rec.hash:
            return Verdict(False, count, *where, "differs from the anchored chain head")
        last[item.partition] = rec.hash
        count += 1
    return Verdict(True, count, heads=dict(last))
