"""The ACLs the hub needs, derived from the catalogue, the rules and the topic names.

Least privilege, one principal at a time (``hub acl plan`` prints this table):

- a department writes the event topics it publishes (the catalogue's owner or co-publisher), its
  own key intake (the keys of the people it publishes about) and its own outcome topic; if the rules send it follow-on items, it reads its own inbox with its
  own consumer group (``<prefix>.agency.<department>``), and parks items it cannot take;
- the router reads the event topics and writes the inboxes, the routing log, the dead letters
  and the OVERDUE flags (``<prefix>.deadlines``); it reads the key intakes and, of the
  services, alone writes the people's keys (``<prefix>.subject-keys``); its faust app keeps its
  internal topics under ``<prefix>-router-``;
- the auditor reads what was disclosed and the intake, and alone writes the audit chain;
- the projections only read; the gateway (HTTP API) writes event topics for the department its
  token names, notes into the audit intake, and reads what its views read;
- the operator is a super user of the broker: only it creates, deletes or alters topics and
  groups, applies these ACLs, replays, and erases a person (``hub erase``: the tombstones on
  ``<prefix>.subject-keys``, the ERASURE items on the inboxes).

Nothing here talks to Kafka: ``hub.kafka.acls`` applies a plan.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum

from hub.domain.departments import Department
from hub.domain.rules import RuleBook
from hub.kafka.topic_names import TopicNames
from hub.security.principals import Service, department_principal


class Resource(StrEnum):
    TOPIC = "TOPIC"
    GROUP = "GROUP"


class Pattern(StrEnum):
    LITERAL = "LITERAL"
    PREFIXED = "PREFIXED"


class Operation(StrEnum):
    READ = "READ"
    WRITE = "WRITE"
    CREATE = "CREATE"
    DESCRIBE = "DESCRIBE"  # offsets and metadata only: no record is read


@dataclass(frozen=True, order=True)
class Permission:
    """ALLOW ``operation`` on ``resource`` ``name`` (matched as ``pattern``) to ``User:principal``
    from any host. Every ACL the hub makes is an ALLOW: what no ACL allows is refused."""

    principal: str
    resource: Resource
    name: str
    operation: Operation
    pattern: Pattern = Pattern.LITERAL
    why: str = ""

    def key(self) -> tuple[str, str, str, str, str]:
        """Identity on the broker (``why`` is ours only)."""
        return (self.principal, self.resource.value, self.name, self.pattern.value,
                self.operation.value)


def inbox_group(prefix: str, department: Department) -> str:
    """The consumer group a department's Inbox commits in (see ``consumers.inbox``)."""
    return f"{prefix}.agency.{department.value.lower()}"


def router_app_id(prefix: str) -> str:
    return f"{prefix}-router"


def auditor_group(prefix: str) -> str:
    return f"{prefix}-auditor"


def _topics(principal: str, operation: Operation, topics: Iterable[str], why: str
            ) -> Iterator[Permission]:
    for topic in topics:
        yield Permission(principal, Resource.TOPIC, topic, operation, why=why)


def _department(names: TopicNames, rules: RuleBook, department: Department) -> Iterator[Permission]:
    me = department_principal(department)
    yield from _topics(me, Operation.WRITE, names.event_topics_of(department),
                       "publishes the event types the catalogue gives it")
    if names.event_topics_of(department):
        yield from _topics(me, Operation.WRITE, [names.key_intake(department)],
                           "hands the hub the keys of the people it publishes about")
    receives = any(item.department == department
                   for items in rules.event_types.values() for item in items)
    if receives:
        yield from _topics(me, Operation.READ, [names.inbox(department)], "reads its own items")
        yield Permission(me, Resource.GROUP, inbox_group(names.prefix, department), Operation.READ,
                         why="commits its inbox progress in its own group")
        yield from _topics(me, Operation.WRITE, [names.outcomes_of(department)],
                           "reports outcomes of its own items")
        yield from _topics(me, Operation.WRITE, [names.dead_letters_of(department)],
                           "parks an item its handler cannot take, on its own dead-letter topic")


def _router(names: TopicNames) -> Iterator[Permission]:
    me, app_id = Service.ROUTER.value, router_app_id(names.prefix)
    yield from _topics(me, Operation.READ, names.all_events(), "routes every event")
    yield from _topics(me, Operation.WRITE, [*names.all_inboxes(), names.routing_log,
                                             names.dead_letters], "sends items, decisions, dead letters")
    yield from _topics(me, Operation.READ, [names.routing_log, *names.all_outcomes(), names.deadlines],
                       "its deadline watch reads the cases")
    yield from _topics(me, Operation.WRITE, [names.deadlines], "flags items past their deadline")
    yield from _topics(me, Operation.READ, [*names.all_key_intakes(), names.subject_keys],
                       "reads people's keys to open their fields")
    yield from _topics(me, Operation.WRITE, [names.subject_keys],
                       "keeps people's keys: copies them from the intakes (the operator's `hub erase` tombstones them)")
    yield Permission(me, Resource.GROUP, app_id, Operation.READ, why="the faust app's group")
    for operation in (Operation.CREATE, Operation.READ, Operation.WRITE):
        yield Permission(me, Resource.TOPIC, f"{app_id}-", operation, Pattern.PREFIXED,
                         "faust's leader, changelog and repartition topics")


def _auditor(names: TopicNames) -> Iterator[Permission]:
    me = Service.AUDITOR.value
    disclosed = [names.routing_log, *names.all_outcomes(), names.deadlines, *names.all_inboxes()]
    yield from _topics(me, Operation.READ, [*disclosed, names.audit_intake],
                       "audits every disclosure and every note")
    yield from _topics(me, Operation.WRITE, [names.dead_letters], "parks a record it cannot read")
    yield from _topics(me, Operation.READ, [names.audit, names.audit_anchors], "resumes its chain")
    yield from _topics(me, Operation.WRITE, [names.audit, names.audit_anchors],
                       "alone writes the audit chain")
    yield Permission(me, Resource.GROUP, auditor_group(names.prefix), Operation.READ,
                     why="commits how far each source is audited")


def _views(me: str, names: TopicNames) -> Iterator[Permission]:
    yield from _topics(me, Operation.READ, [names.routing_log, *names.all_outcomes(), names.deadlines,
                                            *names.all_events(), names.audit, names.subject_keys,
                                            *names.all_key_intakes()],
                       "case, facts and timeline views (people's keys: to open their fields)")


def _gateway(names: TopicNames) -> Iterator[Permission]:
    me = Service.GATEWAY.value
    yield from _topics(me, Operation.WRITE, [*names.all_events(), *names.all_key_intakes()],
                       "publishes for the department its bearer token names (events and keys)")
    yield from _topics(me, Operation.WRITE, [names.audit_intake], "audits every read it serves")
    yield from _views(me, names)
    # The console's and /metrics' consumer lag and dead-letter depth: offsets, never records.
    yield from _topics(me, Operation.DESCRIBE, [names.audit_intake],
                       "consumer lag, for the console and /metrics (offsets only)")
    # The console's dead-letter desk (operator sessions only, each re-drive audited) lists the
    # letters and re-drives parked *events* (topics it already reads and writes). Only the router
    # writes inboxes, so an agency's parked item is re-driven by the operator (`hub dlq redrive`).
    yield from _topics(me, Operation.READ, names.all_dead_letters(),
                       "the console lists dead letters (coordinates and reasons, no content)")
    yield from _topics(me, Operation.READ, [names.audit_anchors],
                       "the console checks the audit chain against its published anchors")
    for head in (f"{names.prefix}.", f"{names.prefix}-"):
        yield Permission(me, Resource.GROUP, head, Operation.DESCRIBE, Pattern.PREFIXED,
                         "reads the hub's consumer groups' committed offsets (lag), never joins them")


def plan(names: TopicNames, rules: RuleBook) -> list[Permission]:
    """Every ACL for one topic prefix, sorted, without duplicates (the operator needs none)."""
    permissions: dict[tuple, Permission] = {}
    for source in (*(_department(names, rules, d) for d in Department), _router(names),
                   _auditor(names), _views(Service.PROJECTIONS.value, names), _gateway(names)):
        for permission in source:
            permissions.setdefault(permission.key(), permission)
    return sorted(permissions.values())


def owned_by_prefix(prefix: str, name: str) -> bool:
    """Whether an ACL's resource belongs to the hub's topics and groups of ``prefix`` (only
    those are ever deleted by ``hub acl apply``)."""
    return name.startswith((f"{prefix}.", f"{prefix}-"))
