"""Audit records on the wire and audit entries: JSON-native, hash-stable, no field values."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from hub.audit.codec import decode_record, encode_record
from hub.audit.verify import parse_anchor
from hub.domain.audit import GENESIS, AuditRecord, content_hash
from hub.domain.audit_entries import FactQueryNote, note_entry


def test_a_record_survives_the_wire_with_its_hash_still_valid():
    record = AuditRecord.after(GENESIS, {"kind": "outcome", "at": "2026-11-22T01:02:03.000Z",
                                         "department": "TAX", "reference": "税-1"})
    back = decode_record(encode_record(record))
    assert back == record and content_hash(back.prev_hash, back.content) == back.hash


@pytest.mark.parametrize("value, reason", [
    (b"\xff", "invalid JSON"), (b"[]", "no 'content'"), (None, "tombstone"),
    (json.dumps({"content": {}, "prev_hash": "x", "hash": "0" * 64}).encode(), "'prev_hash'"),
])
def test_anything_else_is_refused_saying_why(value, reason):
    with pytest.raises(ValueError, match=reason):
        decode_record(value)


def test_a_fact_query_note_becomes_json_native_content_with_its_subject():
    note = FactQueryNote(query_id="q1", at=datetime(2026, 11, 22, 8, 0, tzinfo=timezone.utc),
                         department="PROVIDENT_FUND", subject_ref="t1:s1", allowed=False, reason="no grant")
    content = note_entry(note, {"topic": "t", "partition": 0, "offset": 3})
    assert content["at"] == "2026-11-22T08:00:00.000Z" and content["subject_refs"] == ["t1:s1"] and "subject_ref" not in content
    assert json.loads(json.dumps(content)) == content


def test_anchors_parse_as_printed_and_bad_ones_say_the_format():
    assert parse_anchor(f"2@17=sha256:{'ab' * 32}") == ((2, 17), "ab" * 32)
    with pytest.raises(ValueError, match="PARTITION@OFFSET=SHA256"):
        parse_anchor("2:17:abc")
