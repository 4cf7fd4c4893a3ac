"""The audit note of a read (ReadNote) travels through the audit intake and the auditor like the
other notes: decoded back as itself, keyed by token, chained without a subject id in clear."""

from __future__ import annotations

from hub.audit.intake import decode_note, encode_note, note_key
from hub.domain.audit_entries import ReadNote, note_entry, source
from hub.domain.identifiers import mask_id
from tests.builders import T0

SUBJECT = "330106199001011234"


def test_a_read_note_round_trips_through_the_intake_and_is_keyed_by_its_token():
    note = ReadNote(read_id="r-1", at=T0, token_id="ab12cd34", role="department",
                    department="PUBLIC_SECURITY", route="subject_cases", subject_ref="t1:0123456789abcdef0123456789abcdef",
                    case_ids=["case-1"], disclosed=True)
    assert decode_note(encode_note(note)) == note
    assert note_key(note) == b"ab12cd34"
    entry = note_entry(note, source("p.audit.intake", 0, 5))
    assert entry["kind"] == "personal_read" and entry["case_ids"] == ["case-1"]
    assert "subject_ids" not in entry and SUBJECT not in str(entry) and mask_id(SUBJECT) not in str(entry)
    assert entry["at"].endswith("Z")
