"""Audit records on the wire: canonical JSON, so an auditor needs no schema registry to check them."""

from __future__ import annotations

import json

from hub.domain.audit import AuditRecord, canonical


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
