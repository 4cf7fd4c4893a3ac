"""The audit chain detects a changed, removed, inserted or reordered record, naming where."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

import pytest

from hub.domain.audit import GENESIS, AuditRecord, StoredAudit, canonical, verify


def _chain(partition: int, n: int) -> list[StoredAudit]:
    out, prev = [], GENESIS
    for offset in range(n):
        record = AuditRecord.after(prev, {
            "kind": "ROUTING_DECISION", "department": "TAX", "seq": offset,
            "fields": ["payload.uscc", "payload.organisation_name"],
            "basis": "《税收征收管理法》第十五条",
            "at": datetime(2026, 11, 1, 8, offset, tzinfo=timezone.utc)})
        out.append(StoredAudit(partition, offset, record))
        prev = record.hash
    return out


def _log():
    return _chain(0, 5) + _chain(1, 4)


def test_an_intact_log_verifies_and_reports_the_heads():
    verdict = verify(_log())
    assert verdict.ok and verdict.count == 9
    assert verdict.heads == {0: (4, _log()[4].record.hash), 1: (3, _log()[8].record.hash)}


def test_canonical_encoding_ignores_key_order_and_pins_times_to_utc():
    local = datetime(2026, 11, 1, 16, 0, tzinfo=timezone.utc).astimezone()
    assert canonical({"b": 1, "a": "税"}) == canonical({"a": "税", "b": 1}) == '{"a":"税","b":1}'.encode()
    assert canonical({"t": local}) == b'{"t":"2026-11-01T16:00:00+00:00"}'


def test_an_altered_record_is_named():
    log = _log()
    altered = replace(log[2].record, content={**log[2].record.content, "department": "COMMERCE"})
    log[2] = replace(log[2], record=altered)
    verdict = verify(log)
    assert (verdict.ok, verdict.partition, verdict.offset) == (False, 0, 2)
    assert "altered" in verdict.reason


@pytest.mark.parametrize("tamper", ["remove", "insert", "reorder"])
def test_removed_inserted_or_reordered_records_break_the_link(tamper):
    log = _chain(0, 5)
    if tamper == "remove":
        del log[2]
        log = [replace(s, offset=i) for i, s in enumerate(log)]
    elif tamper == "insert":
        forged = AuditRecord.after(log[1].record.hash, {"kind": "FORGED"})
        log = log[:2] + [forged_at(2, forged)] + [replace(s, offset=s.offset + 1) for s in log[2:]]
    else:
        log[1], log[2] = replace(log[2], offset=1), replace(log[1], offset=2)
    verdict = verify(log)
    assert not verdict.ok and verdict.partition == 0
    expected_offset = {"remove": 2, "insert": 3, "reorder": 1}[tamper]
    assert verdict.offset == expected_offset, verdict


def forged_at(offset: int, record: AuditRecord) -> StoredAudit:
    return StoredAudit(0, offset, record)


def test_a_consistently_rewritten_chain_is_caught_by_an_anchor():
    original = _chain(0, 3)
    anchors = {(0, 2): original[2].record.hash}
    rewritten, prev = [], GENESIS
    for s in original:  # every hash recomputed: internally consistent, but not what was anchored
        record = AuditRecord.after(prev, {**s.record.content, "department": "COMMERCE"})
        rewritten.append(replace(s, record=record))
        prev = record.hash
    assert verify(rewritten).ok
    verdict = verify(rewritten, anchors)
    assert (verdict.ok, verdict.offset) == (False, 2) and "anchored" in verdict.reason


def test_a_window_links_to_the_seed_hash_of_the_record_before_it():
    from hub.domain.audit import ChainWalker

    log = _chain(0, 6)
    walker = ChainWalker(seed={0: log[2].record.hash})
    assert all(walker.feed(s) for s in log[3:])
    assert walker.verdict().ok and walker.verdict().count == 3
    wrong = ChainWalker(seed={0: log[1].record.hash})
    assert not wrong.feed(log[3])
    assert (wrong.verdict().partition, wrong.verdict().offset) == (0, 3)


def test_an_unreadable_record_and_a_missing_anchor_break_the_chain_where_they_are():
    from hub.domain.audit import ChainWalker

    walker = ChainWalker()
    walker.feed(_chain(0, 1)[0])
    walker.unreadable(0, 1, "not an audit record: invalid JSON")
    assert str(walker.verdict()) == "BROKEN at partition 0 offset 1: not an audit record: invalid JSON"
    missing = ChainWalker({(0, 9): "ab" * 32})
    missing.missing_anchor(0, 9)
    assert "anchored record is missing" in missing.verdict().reason
