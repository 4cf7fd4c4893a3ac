"""A re-drive's note on the audit intake: keyed by its id, read back whole, chained as an entry."""

from datetime import datetime, timezone

from hub.audit.intake import decode_note, encode_note, note_key
from hub.domain.audit_entries import RedriveNote, note_entry

AT = datetime(2026, 12, 4, 9, 30, tzinfo=timezone.utc)


def test_a_redrive_note_round_trips_and_becomes_an_audit_entry():
    note = RedriveNote(redrive_id="r-1", at=AT, requested_by="token:t-1", via="console",
                       dead_letter_ids=["d-1", "d-2"], sent=2, gone=0)
    assert note_key(note) == b"r-1"
    assert decode_note(encode_note(note)) == note
    entry = note_entry(note, {"topic": "p.audit.intake", "partition": 0, "offset": 5})
    assert entry["kind"] == "redrive" and entry["dead_letter_ids"] == ["d-1", "d-2"]
    assert entry["at"].startswith("2026-12-04T09:30") and entry["source"]["offset"] == 5
