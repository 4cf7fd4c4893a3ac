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
import json.encoder
import json.scanner
from collections.abc import Callable, Iterable
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


def _text_encoder() -> Callable[[Any], str]:
    """``canonical`` before its UTF-8 step, made once: ``json.dumps`` builds a new encoder for
    every call. The same C encoder with the same arguments as ``json.dumps`` in ``canonical``
    (no circularity check: what ``json`` decodes has no cycles); the plain ``JSONEncoder``
    where the interpreter has no C encoder."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                                default=_default).encode
    encode = make(None, _default, json.encoder.encode_basestring, None, ":", ",", True, False, True)
    return lambda value: "".join(encode(value, 0))


_scan = json.scanner.make_scanner(json.JSONDecoder())
_encode_text = _text_encoder()


def is_canonical_object(encoded: bytes) -> bool:
    """Whether ``encoded`` is exactly ``canonical(content)`` for the ``content`` that
    ``json.loads(encoded)`` gives, and that is an object: one JSON value and nothing around it,
    keys sorted, no whitespace, nothing escaped that need not be, numbers as Python writes them.

    True makes the stored bytes as good as the re-encoding for hashing, so a verifier can hash
    what it read (:meth:`ChainWalker.feed_canonical`); False says nothing about the record (it
    may still be an audit record whose hash holds: decode it and :meth:`ChainWalker.feed` it)."""
    try:
        text = encoded.decode("utf-8")
        content, end = _scan(text, 0)
    except (UnicodeDecodeError, StopIteration, ValueError, RecursionError):
        return False
    return end == len(text) and type(content) is dict and _encode_text(content) == text


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
    heads: dict[int, tuple[int, str]] | None = None  # partition → (offset, hash): what to anchor

    def __str__(self) -> str:
        if self.ok:
            return f"OK: {self.count} audit record(s) verified"
        return f"BROKEN at partition {self.partition} offset {self.offset}: {self.reason}"


class ChainWalker:
    """Verifies records fed one at a time, each partition in offset order; stops at the first break.

    ``anchors`` maps ``(partition, offset)`` to a hash kept outside the system: the record there
    must still carry it, so even a consistently rewritten chain is caught. ``seed`` gives, per
    partition, the hash the first fed record must link to (the record just before a verified
    window); without it the first record must link to GENESIS.
    """

    def __init__(self, anchors: dict[tuple[int, int], str] | None = None,
                 seed: dict[int, str] | None = None):
        self.anchors = dict(anchors or {})
        self.last: dict[int, str] = dict(seed or {})
        self.last_offset: dict[int, int] = {}
        self.count = 0
        self.broken: Verdict | None = None

    def feed(self, item: StoredAudit) -> bool:
        """Check one record; False once the chain is broken (the verdict says where and why)."""
        if self.broken:
            return False
        rec = item.record
        return self.feed_canonical(item.partition, item.offset, rec.prev_hash, rec.hash,
                                   canonical(rec.content))

    def feed_canonical(self, partition: int, offset: int, prev_hash: str, hash: str,
                       encoded: bytes) -> bool:
        """:meth:`feed` for a record given by its links and ``encoded``, the canonical encoding of
        its content (the bytes its hash covers): a verifier hashes the bytes it read once
        :func:`is_canonical_object` holds for them, instead of decoding and re-encoding."""
        if self.broken:
            return False
        where = (partition, offset)
        if hash != hashlib.sha256(prev_hash.encode("ascii") + encoded).hexdigest():
            return self._break(where, "content does not match its hash (record altered or forged)")
        if prev_hash != self.last.get(partition, GENESIS):
            return self._break(where, "does not link to the previous record's hash "
                                      "(a record was removed, inserted or reordered)")
        if where in self.anchors and self.anchors[where] != hash:
            return self._break(where, f"differs from the anchored hash {self.anchors[where][:16]}…")
        self.last[partition] = hash
        self.last_offset[partition] = offset
        self.count += 1
        return True

    def unreadable(self, partition: int, offset: int, reason: str) -> bool:
        """A record that is not an audit record at all breaks the chain where it stands."""
        return False if self.broken else self._break((partition, offset), reason)

    def missing_anchor(self, partition: int, offset: int) -> bool:
        return self._break((partition, offset), "the anchored record is missing "
                                                "(the topic was truncated or rewritten)")

    def _break(self, where: tuple[int, int], reason: str) -> bool:
        self.broken = Verdict(False, self.count, *where, reason)
        return False

    def verdict(self) -> Verdict:
        heads = {p: (self.last_offset[p], self.last[p]) for p in self.last_offset}
        return self.broken or Verdict(True, self.count, heads=heads)


def verify(stored: Iterable[StoredAudit], anchors: dict[tuple[int, int], str] | None = None) -> Verdict:
    """Walk every partition's chain in offset order; stop at the first break."""
    walker = ChainWalker(anchors)
    for item in sorted(stored, key=lambda s: (s.partition, s.offset)):
        if not walker.feed(item):
            break
    return walker.verdict()
