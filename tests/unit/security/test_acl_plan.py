"""The ACL plan: least privilege for every principal, derived from catalogue and rules."""

from __future__ import annotations

from collections import defaultdict

import pytest

from hub.domain.catalogue import CATALOGUE
from hub.domain.departments import Department
from hub.kafka.topic_names import TopicNames
from hub.rules import load_rules
from hub.security.acl_plan import Operation, Pattern, Resource, inbox_group, owned_by_prefix, plan
from hub.security.principals import Service, department_principal

NAMES = TopicNames("p")
PLAN = plan(NAMES, load_rules())


def allowed(operation: Operation, resource: Resource = Resource.TOPIC) -> dict[str, set[str]]:
    """resource name -> principals allowed ``operation`` on it."""
    out: dict[str, set[str]] = defaultdict(set)
    for p in PLAN:
        if p.operation is operation and p.resource is resource:
            out[p.name].add(p.principal)
    return out


WRITE, READ = allowed(Operation.WRITE), allowed(Operation.READ)
GROUPS = allowed(Operation.READ, Resource.GROUP)
SERVICES = {s.value for s in Service}


@pytest.mark.parametrize("department", list(Department))
def test_a_department_writes_only_the_event_topics_it_publishes(department):
    me = department_principal(department)
    written = {t for t, who in WRITE.items() if me in who and ".events." in t}
    expected = {NAMES.events(s, department) for s in CATALOGUE.values() if department in s.publishers}
    assert written == expected


@pytest.mark.parametrize("department", list(Department))
def test_a_department_reads_only_its_own_inbox_in_its_own_group(department):
    me = department_principal(department)
    assert {t for t, who in READ.items() if me in who} <= {NAMES.inbox(department)}
    assert {g for g, who in GROUPS.items() if me in who} <= {inbox_group("p", department)}
    assert {t for t, who in WRITE.items() if me in who and ".outcomes" in t} <= {NAMES.outcomes_of(department)}


@pytest.mark.parametrize("department", list(Department))
def test_a_departments_outcome_and_dead_letter_topics_have_it_as_their_only_writer(department):
    for topic in (NAMES.outcomes_of(department), NAMES.dead_letters_of(department)):
        assert WRITE.get(topic, set()) <= {department_principal(department)}


def test_no_department_writes_the_hubs_dead_letters():
    assert WRITE[NAMES.dead_letters] == {Service.ROUTER.value, Service.AUDITOR.value}


def test_each_event_topic_has_exactly_one_department_writer():
    for topic in NAMES.all_events():
        departments = WRITE[topic] - SERVICES
        assert len(departments) == 1, (topic, departments)


def test_only_the_router_writes_inboxes_the_routing_log_and_deadline_flags():
    for topic in [*NAMES.all_inboxes(), NAMES.routing_log, NAMES.deadlines]:
        assert WRITE[topic] == {Service.ROUTER.value}, topic


def test_only_the_auditor_writes_the_audit_chain_and_no_department_the_intake():
    assert WRITE[NAMES.audit] == WRITE[NAMES.audit_anchors] == {Service.AUDITOR.value}
    assert WRITE[NAMES.audit_intake] <= SERVICES


def test_nobody_but_the_router_creates_and_only_its_own_faust_topics():
    creates = [p for p in PLAN if p.operation is Operation.CREATE]
    assert creates and all(p.principal == Service.ROUTER.value and p.pattern is Pattern.PREFIXED
                           and p.name == "p-router-" for p in creates)
    assert not any(p.principal == Service.OPERATOR.value for p in PLAN)  # a super user


def test_apply_only_ever_removes_the_prefixes_own_resources():
    assert owned_by_prefix("p", "p.inbox.tax") and owned_by_prefix("p", "p-router-")
    assert not owned_by_prefix("p", "pq.inbox.tax") and not owned_by_prefix("p", "other")


def test_people_s_keys_are_kept_by_the_router_alone_each_intake_written_by_its_department():
    assert WRITE[NAMES.subject_keys] == {Service.ROUTER.value}
    assert READ[NAMES.subject_keys] == {Service.ROUTER.value, Service.PROJECTIONS.value, Service.GATEWAY.value}
    for department in Department:
        intake = NAMES.key_intake(department)
        publishes = bool(NAMES.event_topics_of(department))
        assert WRITE[intake] - SERVICES == ({department_principal(department)} if publishes else set())
        assert READ[intake] <= SERVICES  # no department reads another's keys
