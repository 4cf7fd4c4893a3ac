"""The auditor resumes exactly after a crash mid-batch (issue 12: "the auditor can skip a fact").

A batch's records of one source partition go to several audit partitions (by case). If the
writes to one audit partition landed and those to another did not, a restart must audit the
missing fact — not resume after the highest source offset it finds audited — and must not audit
the landed ones again.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest
from kafka.errors import KafkaTimeoutError

from hub.audit.auditor import Auditor
from hub.audit.codec import decode_record
from hub.audit.intake import encode_note, note_key
from hub.audit.verify import verify_chain
from hub.config import HubSettings
from hub.domain.audit_entries import FactQueryNote
from hub.kafka.partitioner import partition_for
from hub.kafka.topic_names import TopicNames
from hub.memory.kafka import InMemoryClients, _Sent


@pytest.fixture
def clients(tmp_path):
    return InMemoryClients.provisioned(HubSettings(topic_prefix="audit", state_dir=tmp_path))


def _note(subject_id: str) -> FactQueryNote:
    return FactQueryNote(query_id=str(uuid.uuid4()), at=datetime.now(timezone.utc),
                         department="PROVIDENT_FUND", subject_ref=subject_id, allowed=True, fields=[])


def _subjects_on(partition: int, count: int, partitions: int) -> list[str]:
    """Subject ids whose notes the auditor chains on audit ``partition``."""
    found, n = [], 0
    while len(found) < count:
        subject = f"S{n:05d}"
        if partition_for(subject.encode(), partitions) == partition:
            found.append(subject)
        n += 1
    return found


def _post(clients, subjects: list[str]) -> None:
    """Notes on intake partition 0, in this order: one source partition feeding every audit one."""
    intake = TopicNames(clients.settings.topic_prefix).audit_intake
    producer = clients.producer()
    for subject in subjects:
        note = _note(subject)
        producer.send(intake, key=note_key(note), value=encode_note(note), partition=0)


def _audited_offsets(clients) -> list[int]:
    names = TopicNames(clients.settings.topic_prefix)
    sources = [decode_record(r.value).content["source"] for r in clients.broker.records(names.audit)]
    assert {s["topic"] for s in sources} == {names.audit_intake}
    return sorted(s["offset"] for s in sources)


@pytest.mark.parametrize("committed_before", [False, True])
def test_a_fact_whose_audit_write_was_lost_is_audited_on_restart(clients, committed_before):
    audit = TopicNames(clients.settings.topic_prefix).audit
    partitions = clients.broker.partition_count(audit)
    a, b = _subjects_on(0, 3, partitions), _subjects_on(1, 1, partitions)
    first = Auditor(clients, anchor_every_s=3600)
    first.start()
    if committed_before:  # a batch fully audited and committed first
        _post(clients, a[2:])
        assert first.step(timeout_ms=10) == 1
    # The crashing batch: source offsets k (audit partition 0), k+1 (partition 1), k+2 (partition 0).
    _post(clients, [a[0], b[0], a[1]])
    send = first._producer.send

    def partition_1_unreachable(topic, *args, partition=None, **kwargs):
        if topic == audit and partition == 1:
            return _Sent(error=KafkaTimeoutError("partition 1's leader is unreachable"))
        return send(topic, *args, partition=partition, **kwargs)

    first._producer.send = partition_1_unreachable
    with pytest.raises(KafkaTimeoutError):
        first.step(timeout_ms=10)
    first.close()
    before = 1 if committed_before else 0
    assert _audited_offsets(clients) == sorted([*range(before), before, before + 2])  # k+1 missing

    survivor = Auditor(clients, anchor_every_s=3600)
    survivor.start()
    while survivor.step(timeout_ms=10):
        pass
    survivor.close()
    assert _audited_offsets(clients) == list(range(before + 3))  # the lost one audited, none twice
    verdict = verify_chain(clients)
    assert verdict.ok and verdict.count == before + 3
