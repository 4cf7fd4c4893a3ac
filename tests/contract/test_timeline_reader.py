"""TimelineReader contract: who has a subject's data and why, as the audit trail tells it.

Runs against :class:`hub.memory.InMemoryTimeline` and
:class:`hub.projections.timeline.TimelineProjection` (SQLite, reading chained records of the
audit topic: in memory, and on the stack).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from hub.domain.audit_entries import decision_entry, item_entry, outcome_entry, source
from hub.domain.departments import Department
from hub.domain.envelope import EventType
from hub.domain.outcomes import Outcome, OutcomeStatus
from hub.domain.ports import TimelineReader
from hub.domain.timeline import is_empty
from hub.errors import Unavailable
from hub.memory import InMemoryTimeline
from hub.projections.timeline import TimelineProjection
from tests.contract.harness import IN_MEMORY, KINDS, REAL
from hub.domain.routing import DecisionKind, decision_for, route, withheld
from tests.builders import PSEUDONYMS, RULES, T0, about, decided, event_of, marriage_audit


@pytest.fixture(params=KINDS)
def timeline(request, reader_feed):
    return reader_feed(request.param, InMemoryTimeline, TimelineProjection)


def fed(feed, trail) -> int:
    """Add ``(partition, content)`` in order and catch up; how many records were applied."""
    for partition, content in trail:
        feed.add(content, partition=partition)
    return feed.reader.catch_up()


def test_it_is_a_timeline_reader(timeline):
    assert isinstance(timeline.reader, TimelineReader)


def test_nothing_is_known_until_caught_up(timeline):
    trail, decision, _ = marriage_audit()
    timeline.add(trail[0][1], partition=trail[0][0])
    assert is_empty(about(timeline.reader, decision.subject_ids[0]))
    assert timeline.reader.catch_up() == 1 and timeline.reader.catch_up() == 0
    [event] = about(timeline.reader, decision.subject_ids[0])["events"]
    assert (event["case_id"], event["audit"]) == (decision.case_id, "1@0")


def test_a_subject_timeline_names_every_recipient_field_basis_outcome_and_query(timeline):
    trail, decision, items = marriage_audit()
    assert fed(timeline, trail) == len(trail)
    spouse_a, spouse_b = decision.subject_ids
    answer = about(timeline.reader, spouse_a)
    [event] = answer["events"]
    assert (event["event_id"], event["decision"], event["source_department"]) == (
        decision.event_id, "ROUTED", decision.source_department)
    assert {i["item_id"] for i in event["items"]} == {i.item_id for i in items}
    by_item = {r["item_id"]: r for r in answer["recipients"]}
    assert set(by_item) == {i.item_id for i in items}
    for n, item in enumerate(items):
        got = by_item[item.item_id]
        assert [f["field"] for f in got["fields"]] == sorted(item.data)
        for f in got["fields"]:  # a leaf of a granted record carries the record's basis
            assert f["basis"] == next(g.basis for g in item.grants
                                      if f["field"] == g.field or f["field"].startswith(g.field + "."))
        assert (got["department"], got["status"], got["sent_at"]) == (
            item.department.value, "COMPLETED", f"2026-05-01T02:00:0{1 + n}.000Z")
        assert [(o["status"], o["reference"]) for o in got["outcomes"]] == [
            ("DELIVERED", None), ("COMPLETED", f"REF-{n}")]
    assert [(r["replay_id"], r["requested_by"]) for r in by_item[items[0].item_id]["replays"]] == [
        ("r-1", "ops@hub")]
    assert {d["department"] for d in answer["departments"]} == {i.department.value for i in items}
    assert [(q["query_id"], q["allowed"], q["audit"]) for q in answer["fact_queries"]] == [("q-1", False, "0@0")]
    other = about(timeline.reader, spouse_b)
    assert other["recipients"] == answer["recipients"] and other["fact_queries"] == []
    assert is_empty(about(timeline.reader, "nobody"))


def test_unreadable_content_is_skipped_and_counted_never_stalling(timeline):
    decision, items = decided(event_of(EventType.DEATH_CERTIFIED, 3))
    broken = decision_entry(decision, source("p.routing", 0, 1), PSEUDONYMS.of)
    del broken["subject_refs"]
    unknown = {"kind": "something_new", "at": "2026-05-01T00:00:00.000Z"}
    good = decision_entry(decision, source("p.routing", 0, 2), PSEUDONYMS.of)
    assert fed(timeline, [(0, broken), (0, unknown), (0, good)]) == 3
    assert timeline.reader.skipped == 2
    [event] = about(timeline.reader, decision.subject_ids[0])["events"]
    assert event["audit"] == "0@2"


def test_an_outcome_before_its_send_and_a_redelivered_outcome(timeline):
    decision, items = decided(event_of(EventType.DEATH_CERTIFIED, 3))
    completed = outcome_entry(Outcome.for_item(items[0], OutcomeStatus.COMPLETED, T0 + timedelta(seconds=5),
                                               reference="X"), source("p.outcomes", 0, 1))
    fed(timeline, [(0, completed), (0, completed), (0, decision_entry(decision, source("p.routing", 0, 0), PSEUDONYMS.of))])
    [recipient] = about(timeline.reader, decision.subject_ids[0])["recipients"]
    assert (recipient["sent_at"], recipient["fields"], recipient["status"]) == (None, [], "COMPLETED")
    assert [o["status"] for o in recipient["outcomes"]] == ["COMPLETED"]


def test_a_log_that_cannot_be_read_is_unavailable(timeline):
    timeline.cut_off()
    with pytest.raises(Unavailable):
        timeline.reader.catch_up()


def test_the_projection_and_the_in_memory_reader_agree(reader_feed):
    trail, decision, items = marriage_audit()
    broken = decision_entry(decision, source("p.routing", 0, 9), PSEUDONYMS.of)
    broken["items"] = "not a list"
    trail += [(0, broken), (0, {"kind": "outcome", "at": "2026-05-01T00:00:00.000Z"})]
    subjects = sorted({s for _, c in trail for s in c.get("subject_ids") or ()})
    answers = []
    for kind in (IN_MEMORY, REAL):
        feed = reader_feed(kind, InMemoryTimeline, TimelineProjection)
        fed(feed, trail)
        answers.append(({s: about(feed.reader, s) for s in subjects}, feed.reader.skipped))
    assert answers[0] == answers[1] and answers[0][1] == 2


def test_a_department_cannot_report_on_another_departments_item(timeline):
    """From its own outcome topic (the only one it may write), a department names another's
    item: neither as the other department nor as itself does it reach the timeline."""
    decision, items = decided(event_of(EventType.DEATH_CERTIFIED, 4))
    victim = items[0]
    attacker = next(d for d in Department if d is not victim.department)
    own_topic = f"p.outcomes.{attacker.value.lower()}"
    as_victim = Outcome.for_item(victim, OutcomeStatus.COMPLETED, T0 + timedelta(seconds=5),
                                 reference="FORGED")
    as_itself = as_victim.model_copy(update={"department": attacker, "outcome_id": "forged-2"})
    fed(timeline, [(0, decision_entry(decision, source("p.routing", 0, 0), PSEUDONYMS.of)),
                   (0, item_entry(victim, source(f"p.inbox.{victim.department.value.lower()}", 0, 0), T0)),
                   (0, outcome_entry(as_victim, source(own_topic, 0, 0))),
                   (0, outcome_entry(as_itself, source(own_topic, 0, 1)))])
    recipients = about(timeline.reader, decision.subject_ids[0])["recipients"]
    mine = [r for r in recipients if r["item_id"] == victim.item_id]
    assert [(r["department"], r["status"], r["outcomes"]) for r in mine] == [
        (victim.department.value, "SENT", [])]


def test_records_written_before_pseudonyms_are_still_found_by_the_number(timeline):
    decision, _ = decided(event_of(EventType.DEATH_CERTIFIED, 5))
    legacy = decision_entry(decision, source("p.routing", 0, 0), PSEUDONYMS.of)
    legacy["subject_ids"] = list(decision.subject_ids)  # as the auditor wrote it before
    del legacy["subject_refs"]
    newer, _ = decided(event_of(EventType.DEATH_CERTIFIED, 5))
    assert fed(timeline, [(0, legacy), (0, decision_entry(newer, source("p.routing", 0, 1), PSEUDONYMS.of))]) == 2
    subject = decision.subject_ids[0]
    assert newer.subject_ids[0] == subject  # the same person, before and after the change
    assert [e["audit"] for e in about(timeline.reader, subject)["events"]] == ["0@0", "0@1"]
    assert is_empty(timeline.reader.subject_timeline(subject, [PSEUDONYMS.of("someone else")]))


def test_an_item_not_shared_for_want_of_consent_is_on_the_timeline_with_its_reason(timeline):
    event = event_of(EventType.MARRIAGE_REGISTERED, 6)
    items = route(event, RULES)
    decision = decision_for(event, DecisionKind.ROUTED, items, withheld_items=withheld(event, RULES, items))
    assert fed(timeline, [(0, decision_entry(decision, source("p.routing", 0, 0), PSEUDONYMS.of))]) == 1
    [entry] = about(timeline.reader, decision.subject_ids[0])["events"]
    assert entry["withheld"] == [{"department": "PROVIDENT_FUND", "item": "marriage_housing_loan_notice",
                                  "name_zh": "新婚家庭公积金贷款政策告知（本人同意）",
                                  "reason": "not shared: no consent"}]
    assert "marriage_housing_loan_notice" not in {i["item"] for i in entry["items"]}
