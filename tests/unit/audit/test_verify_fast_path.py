"""`hub audit verify` hashes a record's content as stored only when those bytes are exactly its
canonical encoding; every other record is decoded and judged as before, so each verdict — OK, or
broken at the same partition, offset and reason — is the one the decode-and-re-encode walk gives.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

import pytest

from hub.audit.codec import canonical_parts, decode_record, encode_record
from hub.audit.verify import verify_chain
from hub.config import HubSettings
from hub.domain.audit import (
    GENESIS,
    AuditRecord,
    ChainWalker,
    StoredAudit,
    Verdict,
    canonical,
    is_canonical_object,
)
from hub.kafka.topic_names import TopicNames
from hub.memory.kafka import InMemoryClients

AWKWARD = {  # what the canonical encoding must get exactly right
    "kind": "ROUTING_DECISION", "department": "TAX", "basis": "《税收征收管理法》第十五条",
    "escapes": "quote \" backslash \\ slash / \b\f\n\r\t \x00\x0b\x1f \x7f \u2028 \U0001d11e",
    "numbers": [0, -1, 2**70, 1.0, -0.0, 0.1, 1e16, 1e-05, 123.456, 5e-324, 1.7976931348623157e308],
    "nested": {"z": [], "a": {}, "m": [{"b": True, "a": None}, False]},
    "at": "2026-11-01T08:00:00.000Z", "": "empty key", "Ä": 1, "a": 2, "𝄞": 3,
}


def _record(prev: str, seq: int, **extra) -> AuditRecord:
    return AuditRecord.after(prev, {"kind": "outcome", "department": "TAX", "seq": seq,
                                    "reference": f"税-{seq}", **extra})


def _chain(n: int) -> list[bytes]:
    values, prev = [], GENESIS
    for seq in range(n):
        record = _record(prev, seq)
        values.append(encode_record(record))
        prev = record.hash
    return values


def _forged(prev: str, content_bytes: bytes) -> bytes:
    """A record whose hash is computed over ``content_bytes`` as they stand (canonical or not)."""
    digest = hashlib.sha256(prev.encode("ascii") + content_bytes).hexdigest()
    return b'{"content":' + content_bytes + f',"hash":"{digest}","prev_hash":"{prev}"}}'.encode()


def _by_decoding(values: list[bytes | None], anchors=None) -> Verdict:
    """The reference: every record decoded, re-encoded and hashed (the walk before the fast path)."""
    walker = ChainWalker(anchors)
    for offset, value in enumerate(values):
        try:
            record = decode_record(value)
        except ValueError as exc:
            walker.unreadable(0, offset, str(exc))
            break
        if not walker.feed(StoredAudit(0, offset, record)):
            break
    if not walker.broken:
        for (partition, offset) in sorted(anchors or {}):
            if offset >= len(values):
                walker.missing_anchor(partition, offset)
                break
    return walker.verdict()


def _verified(values: list[bytes | None], tmp_path, anchors=None) -> Verdict:
    clients = InMemoryClients(HubSettings(topic_prefix="fast", state_dir=tmp_path, topic_partitions=1))
    topic = TopicNames("fast").audit
    clients.broker.create_topic(topic, 1)
    for value in values:
        clients.broker.append(topic, None, value, partition=0)
    return verify_chain(clients, anchors=anchors)


def test_the_fast_check_agrees_with_the_canonical_encoding_on_awkward_content():
    assert is_canonical_object(canonical(AWKWARD))
    assert is_canonical_object(canonical({}))
    record = AuditRecord.after(GENESIS, AWKWARD)
    assert canonical_parts(encode_record(record)) == (GENESIS, record.hash, canonical(AWKWARD))


@pytest.mark.parametrize("variant", [
    json.dumps(AWKWARD, sort_keys=True, ensure_ascii=False),  # spaces
    json.dumps(AWKWARD, separators=(",", ":"), ensure_ascii=False),  # keys unsorted
    json.dumps(AWKWARD, sort_keys=True, separators=(",", ":")),  # non-ASCII escaped
    canonical(AWKWARD).decode().replace("slash /", "slash \\/"),
    canonical(AWKWARD).decode().replace("[0,-1,", "[-0,-1,"),
    canonical(AWKWARD).decode().replace("1e+16", "1E16"),
    canonical(AWKWARD).decode().replace("1.0,", "1.00,"),
    canonical(AWKWARD).decode().replace('"a":2,', '"a":2,"a":2,'),  # a key twice
    canonical(AWKWARD).decode() + " ",
    canonical(AWKWARD).decode() + ',{"a":1}',  # two values
    '["not an object"]', "",
])
def test_content_not_exactly_canonical_is_left_to_decoding(variant):
    assert not is_canonical_object(variant.encode())
    assert canonical_parts(_forged(GENESIS, variant.encode())) is None


@pytest.mark.parametrize("value", [
    None, b"", b"\xff", b"[]", b'\xef\xbb\xbf' + _chain(1)[0],  # tombstone, junk, a BOM
    _chain(1)[0].replace(b'"hash":"', b'"hash": "'),
    _chain(1)[0][:-145] + _chain(1)[0][-145:-81].upper() + _chain(1)[0][-81:],  # hash in capitals
    _chain(1)[0].replace(b'"}', b'","x":1}'),
    _chain(1)[0].replace(b"\xe7\xa8\x8e", b"\xed\xa0\x80"),  # a surrogate, not UTF-8
])
def test_anything_but_the_written_layout_is_left_to_decoding(value):
    assert canonical_parts(value) is None


def test_a_canonical_record_is_hashed_as_stored():
    value = _chain(1)[0]
    prev, digest, content = canonical_parts(value)
    assert (prev, digest) == (GENESIS, decode_record(value).hash)
    assert content == canonical(decode_record(value).content)


def _swap(values, i, j):
    values[i], values[j] = values[j], values[i]
    return values


def _replace(values, i, value):
    values[i] = value
    return values


def _content(value: bytes) -> bytes:
    return value[len(b'{"content":'):-154]


def _flip(value: bytes, at: int) -> bytes:
    """``value`` with the hex digit at ``at`` changed (the hash's last: -82, prev_hash's: -3)."""
    digit = value[at:at + 1]
    return value[:at] + (b"1" if digit == b"0" else b"0") + value[at + 1:]


TAMPERED = {
    "intact": lambda v: v,
    # content altered in place, still canonical, hash left: caught on the fast path
    "field altered, hash left": lambda v: _replace(v, 3, v[3].replace(b'"TAX"', b'"PSB"')),
    "digit altered, hash left": lambda v: _replace(v, 4, v[4].replace(b'"seq":4', b'"seq":9')),
    "hash altered": lambda v: _replace(v, 2, _flip(v[2], -82)),
    "prev hash altered": lambda v: _replace(v, 2, _flip(v[2], -3)),
    "removed": lambda v: v[:2] + v[3:],
    "reordered": lambda v: _swap(v, 1, 2),
    "wrong link, hash consistent": lambda v: _replace(
        v, 3, encode_record(_record(decode_record(v[1]).hash, 3))),
    # the same content re-encoded with spaces, hash left: decoded, re-encoded, still holds
    "re-encoded loosely": lambda v: _replace(v, 3, json.dumps(json.loads(v[3])).encode()),
    # hashed over loose (non-canonical) bytes: the canonical hash does not match
    "hashed over loose bytes": lambda v: _replace(v, 3, _forged(
        decode_record(v[3]).prev_hash, json.dumps(decode_record(v[3]).content).encode())),
    "hashed over invalid JSON": lambda v: _replace(v, 3, _forged(
        decode_record(v[3]).prev_hash, _content(v[3]).replace(b'"seq"', b'seq'))),
    "tombstone": lambda v: _replace(v, 3, None),
    "not JSON": lambda v: _replace(v, 3, b"\xff\xfe"),
    "truncated": lambda v: _replace(v, 3, v[3][:-1]),
}


@pytest.mark.parametrize("tamper", TAMPERED)
def test_every_verdict_is_the_decoding_walks_verdict(tamper, tmp_path):
    values = TAMPERED[tamper](_chain(6))
    expected = _by_decoding(values)
    assert _verified(values, tmp_path) == expected
    assert expected.ok == (tamper in ("intact", "re-encoded loosely")), expected


def test_an_altered_field_with_its_hash_left_is_caught_on_the_fast_path(tmp_path):
    values = _chain(5)
    values[3] = values[3].replace(b'"TAX"', b'"PSB"')
    assert canonical_parts(values[3]) is not None  # still exactly the written layout
    verdict = _verified(values, tmp_path)
    assert (verdict.ok, verdict.partition, verdict.offset) == (False, 0, 3)
    assert "altered" in verdict.reason


@pytest.mark.parametrize("anchor", ["kept", "mismatched", "missing"])
def test_anchors_are_checked_the_same_way(anchor, tmp_path):
    values = _chain(5)
    head = decode_record(values[4]).hash
    anchors = {"kept": {(0, 4): head}, "mismatched": {(0, 2): head},
               "missing": {(0, 9): head}}[anchor]
    verdict = _verified(values, tmp_path, anchors)
    assert verdict == _by_decoding(values, anchors)
    assert verdict.ok == (anchor == "kept")


def test_times_in_content_are_hashed_as_written(tmp_path):
    content = {"kind": "outcome", "at": datetime(2026, 11, 1, 8, tzinfo=timezone.utc)}
    record = AuditRecord.after(GENESIS, content)
    value = encode_record(record)
    assert canonical_parts(value) == (GENESIS, record.hash, canonical(content))
    assert _verified([value], tmp_path).ok


def test_records_as_the_hub_writes_them_are_never_decoded(monkeypatch, tmp_path):
    def refuse(value):
        raise AssertionError("decoded a record written by the hub")

    monkeypatch.setattr("hub.audit.verify.decode_record", refuse)
    verdict = _verified(_chain(5) + [encode_record(AuditRecord.after(GENESIS, AWKWARD))], tmp_path)
    assert (verdict.ok, verdict.offset) == (False, 5)  # judged on the fast path: a wrong link
    assert "does not link" in verdict.reason


@pytest.mark.parametrize("content", [b'{"note":"\\ud800"}', b'{"n":' + b"[" * 100_000 + b"]" * 100_000 + b"}"],
                         ids=["lone surrogate", "absurd nesting"])
def test_content_that_cannot_be_read_or_rehashed_is_a_verdict_not_a_crash(content, tmp_path):
    chain = _chain(2)
    prev = decode_record(chain[-1]).hash
    verdict = _verified([*chain, _forged(prev, content)], tmp_path)
    assert not verdict.ok and (verdict.partition, verdict.offset) == (0, 2)
