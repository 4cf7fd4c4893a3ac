"""Audit records on the wire: canonical JSON, so an auditor needs no schema registry to check them."""

from __future__ import annotations

import json
import re

from hub.domain.audit import AuditRecord, canonical, is_canonical_object

# What encode_record writes around the content: its keys sorted, the two hashes last.
_HEAD = b'{"content":'
_TAIL = re.compile(rb',"hash":"([0-9a-f]{64})","prev_hash":"([0-9a-f]{64})"\}')
_TAIL_LEN = 154


def encode_record(record: AuditRecord) -> bytes:
    return canonical({"content": record.content, "prev_hash": record.prev_hash, "hash": record.hash})


def decode_record(value: bytes | None) -> AuditRecord:
    """The record in ``value``; ValueError saying what is wrong if it is not an audit record."""
    if value is None:
        raise ValueError("not an audit record: no value (tombstone)")
    try:
        body = json.loads(value)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"not an audit record: invalid JSON ({exc})") from None
    if not isinstance(body, dict) or not isinstance(body.get("content"), dict):
        raise ValueError("not an audit record: no 'content' object")
    for key in ("prev_hash", "hash"):
        if not (isinstance(body.get(key), str) and len(body[key]) == 64):
            raise ValueError(f"not an audit record: '{key}' is not a SHA-256 hex digest")
    return AuditRecord(body["content"], body["prev_hash"], body["hash"])


def canonical_parts(value: bytes | None) -> tuple[str, str, bytes] | None:
    """``(prev_hash, hash, content)`` of a record stored exactly as :func:`encode_record` writes
    one, ``content`` being the canonical encoding of its content as stored: the bytes its hash
    covers, to hash without decoding the record. None for anything else, which
    :func:`decode_record` may still read (keys in another order, spaces, escapes…) or refuse."""
    if value is None or len(value) <= len(_HEAD) + _TAIL_LEN or not value.startswith(_HEAD):
        return None
    tail = _TAIL.fullmatch(value, len(value) - _TAIL_LEN)
    if tail is None:
        return None
    content = value[len(_HEAD):-_TAIL_LEN]
    if not is_canonical_object(content):
        return None
    return tail[2].decode("ascii"), tail[1].decode("ascii"), content
