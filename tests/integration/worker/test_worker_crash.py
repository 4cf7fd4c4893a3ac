"""kill -9 the router in the middle of 1,000 events and restart it: every item is delivered, and
no agency registers anything twice.

The router commits an event's offset only after its outputs are durable, so a SIGKILL makes it
route some events again after the restart: the inbox topics then hold duplicates (at-least-once,
expected). What must hold is at the agencies: exactly one row per item, and every item there.

A killed member keeps its place in the router's consumer group until its session expires, so the
restarted router gets the partitions only after the group session timeout.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from consumers.reference_agencies.fleet import AgencyFleet
from hub.kafka.clients import Clients
from hub.demo.back_office import wait_for_cases
from hub.domain.case import ItemStatus
from hub.kafka.topic_names import TopicNames
from hub.projections.cases import CaseProjection
from hub.worker.process import WorkerProcess
from tests.integration.flow_helpers import (
    RULES,
    SEED_TYPES,
    Departments,
    expected_items,
    inbox_items,
    unique_mix,
    wait_until,
)

EVENTS = 1_000
FIRST_BATCH = 300


class Progress:
    """How far the router got: records in the inbox topics (their end offsets), and event
    offsets its consumer group has committed — from long-lived clients, cheap to poll."""

    def __init__(self, settings):
        self._consumer = KafkaConsumer(**Clients(settings).connection(),
                                       enable_auto_commit=False, group_id=None)
        self._admin = KafkaAdminClient(**Clients(settings).connection())
        self._group = f"{settings.topic_prefix}-router"  # the faust app id
        self._partitions = [TopicPartition(t, p) for t in TopicNames(settings.topic_prefix).all_inboxes()
                            for p in sorted(self._consumer.partitions_for_topic(t) or ())]
        assert self._partitions

    def inbox_records(self) -> int:
        return sum(self._consumer.end_offsets(self._partitions).values())

    def committed_events(self) -> int:
        try:
            offsets = self._admin.list_group_offsets(self._group).get(self._group, {})
        except KafkaError:  # the group's coordinator is still loading: nothing to count yet
            return 0
        return sum(meta.offset for tp, meta in offsets.items() if ".events." in tp.topic and meta.offset > 0)

    def close(self) -> None:
        self._consumer.close()
        self._admin.close()


def _publish_all(departments: Departments, batch, receipts: list, errors: list) -> None:
    try:
        for event_type, submission in batch:
            receipts.append((event_type, submission, departments.publish(event_type, submission)))
    except Exception as exc:  # noqa: BLE001 - re-raised in the test thread
        errors.append(exc)


def test_kill_minus_nine_mid_stream_loses_and_duplicates_nothing(settings, clients, tmp_path):
    """1,000 events: the router routes and commits the first 300, then — while the other 700
    stream in — is killed with about 40% of the items in the inboxes, so the restart resumes
    from committed offsets in the middle of the partitions and re-routes the uncommitted tail."""
    started = time.monotonic()
    mix = unique_mix(EVENTS, random.Random(1999))
    total_items = sum(1 for t, sub in mix for rule in RULES.items_for(t)
                      if rule.applies_to({"payload": sub["payload"]}) and rule.basis_kind == "law")
    assert total_items > 2 * EVENTS  # ~2.4 items per event
    assert Counter(t for t, _ in mix) == {t: EVENTS // 6 + (i < EVENTS % 6) for i, t in enumerate(SEED_TYPES)}

    progress = Progress(settings)
    first = WorkerProcess(settings, log_file=tmp_path / "worker-1.log")
    second = WorkerProcess(settings, log_file=tmp_path / "worker-2.log")
    projection = CaseProjection(clients)
    receipts: list = []
    errors: list = []
    publisher = threading.Thread(target=lambda: None)
    try:
        with Departments(settings) as departments, AgencyFleet(settings, tmp_path / "agencies") as fleet:
            _publish_all(departments, mix[:FIRST_BATCH], receipts, errors)
            assert not errors and len(receipts) == FIRST_BATCH
            first.start()
            wait_until(lambda: progress.committed_events() >= FIRST_BATCH, 90,
                       f"the router to commit the first {FIRST_BATCH} events",
                       describe=progress.committed_events)
            publisher = threading.Thread(target=_publish_all, name="publish-rest", daemon=True,
                                         args=(departments, mix[FIRST_BATCH:], receipts, errors))
            publisher.start()
            def mid_stream() -> int:
                records = progress.inbox_records()
                return records if records >= total_items * 0.4 else 0

            at_kill = wait_until(mid_stream, 90, "40% of the items in the inboxes", every_s=0.05,
                                 describe=progress.inbox_records)
            first.kill()  # SIGKILL: no shutdown, no final commit
            assert not first.running
            committed_at_kill, after_kill = progress.committed_events(), progress.inbox_records()
            publisher.join(timeout=60)
            assert not publisher.is_alive() and not errors, errors
            assert len(receipts) == EVENTS

            expected = [e for event_type, submission, receipt in receipts
                        for e in expected_items(event_type, receipt, submission["payload"])]
            expected_ids = {e.item_id for e in expected}
            assert len(expected_ids) == len(expected) == total_items
            delivered_before_restart = {w.item_id for records in inbox_items(settings).values()
                                        for _, w in records}
            # The kill really interrupted the run: it came after commits, with items still missing.
            assert FIRST_BATCH <= committed_at_kill < EVENTS
            assert 0 < len(delivered_before_restart) < len(expected_ids), (at_kill, after_kill)
            assert delivered_before_restart <= expected_ids

            second.start()
            agencies = fleet.agencies
            want = Counter(e.department for e in expected)

            def registered() -> bool:
                return all(agencies[d].count() >= n for d, n in want.items())

            wait_until(registered, 150, "every expected item registered at its agency",
                       describe=lambda: {d.value: (agencies[d].count(), n) for d, n in want.items()})
            # Every case is done, as the case projection (routing log + outcomes) sees it.
            cases = wait_for_cases(projection, sorted({e.case_id for e in expected}), 60)

            for department, agency in agencies.items():
                rows = agency.rows()
                ids = Counter(r.item_id for r in rows)
                duplicated = [i for i, n in ids.items() if n > 1]
                assert not duplicated, f"{department.value}: items registered twice: {duplicated[:5]}"
                assert set(ids) == {e.item_id for e in expected if e.department is department}, department
                assert agency.count() == want[department]
                references = Counter(r.reference for r in rows)
                assert max(references.values()) == 1  # each registration its own reference number
                assert {r.status for r in rows} == {"ACTIVE"}
        by_case: dict[str, set[str]] = {}
        for e in expected:
            by_case.setdefault(e.case_id, set()).add(e.item_id)
        for case in cases:
            assert set(case.items) == by_case[case.case_id]
            assert all(i.status is ItemStatus.COMPLETED for i in case.items.values())
    finally:
        first.kill()
        second.stop(timeout_s=20)
        publisher.join(timeout=30)
        projection.close()
        progress.close()

    inbox_records = sum(len(r) for r in inbox_items(settings).values())
    assert inbox_records >= len(expected)  # duplicates allowed (at-least-once), losses not
    print(f"\n{EVENTS} events, {len(expected)} items; killed at {at_kill}-{after_kill} inbox records "
          f"with {committed_at_kill} events committed; inbox records in the end {inbox_records} "
          f"({inbox_records - len(expected)} re-routed); {time.monotonic() - started:.1f}s")
