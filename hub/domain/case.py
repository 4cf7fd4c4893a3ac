"""The case (一件事): one registration and all the follow-on items it caused, as a state machine.

State is derived from the log only: routing decisions open and extend a case, outcomes move
its items forward. Items go REQUESTED → DELIVERED → COMPLETED | REJECTED | FAILED and never
backwards (except FAILED → COMPLETED | REJECTED, when a parked item is redriven and succeeds),
so records applied twice or out of order across topics give the same state.

Owned (:mod:`hub.domain.ownership`): the department whose decision opened the case is the only
one whose later decisions join it, and an outcome counts only from the department its item was
routed to. An outcome read before its item's decision is kept aside (``early_outcomes``, not
shown) and applied when the decision comes, if the item went to the outcome's department.
Refused records change nothing; ``apply_*`` return the reason.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from statistics import median

from pydantic import BaseModel, ConfigDict

from hub.domain.outcomes import Outcome, OutcomeStatus
from hub.domain.ownership import case_refusal, outcome_refusal
from hub.domain.routing import DecisionKind, RoutingDecision


class ItemStatus(StrEnum):
    REQUESTED = "REQUESTED"
    DELIVERED = "DELIVERED"
    COMPLETED = "COMPLETED"
    REJECTED = "REJECTED"
    FAILED = "FAILED"


_RANK = {ItemStatus.REQUESTED: 0, ItemStatus.DELIVERED: 1, ItemStatus.COMPLETED: 2,
         ItemStatus.REJECTED: 2, ItemStatus.FAILED: 2}
FINAL = {ItemStatus.COMPLETED, ItemStatus.REJECTED, ItemStatus.FAILED}


class CaseStatus(StrEnum):
    PENDING_SUPPLEMENT = "PENDING_SUPPLEMENT"  # 容缺受理: waiting for a missing document
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"


class ItemState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item_id: str
    department: str
    item: str = ""
    name_zh: str = ""
    name_en: str = ""
    change: str = "NEW"
    status: ItemStatus = ItemStatus.REQUESTED
    deadline_at: datetime | None = None
    requested_at: datetime | None = None
    delivered_at: datetime | None = None
    done_at: datetime | None = None
    overdue: bool = False
    reference: str | None = None
    reason: str | None = None
    granted_fields: list[str] = []

    @property
    def final(self) -> bool:
        return self.status in FINAL

    def on_time(self) -> bool | None:
        """True/False once done (None while open or without a deadline)."""
        if not self.final or self.deadline_at is None or self.done_at is None:
            return None
        return self.done_at <= self.deadline_at

    def late_at(self, now: datetime) -> bool:
        return not self.final and self.deadline_at is not None and now > self.deadline_at


class CaseState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    case_id: str
    event_type: str = ""
    source_department: str = ""
    subject_ids: list[str] = []
    event_ids: list[str] = []
    opened_at: datetime | None = None
    pending_documents: list[str] = []
    items: dict[str, ItemState] = {}
    completed_at: datetime | None = None
    early_outcomes: list[Outcome] = []  # read before their item's decision: applied with it

    @property
    def status(self) -> CaseStatus:
        if self.pending_documents:
            return CaseStatus.PENDING_SUPPLEMENT
        if self.items and all(i.final for i in self.items.values()):
            return CaseStatus.COMPLETED
        return CaseStatus.IN_PROGRESS

    def next_deadline(self) -> datetime | None:
        """The earliest deadline of an item still open and not yet flagged overdue: the moment
        the deadline check next has something to do for this case (None: nothing to watch)."""
        due = [i.deadline_at for i in self.items.values()
               if not i.final and not i.overdue and i.deadline_at is not None]
        return min(due) if due else None

    def as_json(self) -> dict:
        """The case as JSON-ready data, its derived ``status`` included (HTTP and ``--json``)."""
        return {**self.model_dump(mode="json", exclude={"early_outcomes"}), "status": self.status.value}

    def apply_decision(self, decision: RoutingDecision) -> str | None:
        """Apply a routing decision; a decision of another department than the case's opener
        is refused (the reason returned, nothing changed)."""
        refusal = case_refusal(self.case_id, decision.source_department, self.source_department)
        if refusal is not None:
            return refusal
        if decision.event_id not in self.event_ids:
            self.event_ids.append(decision.event_id)
        if self.opened_at is None or decision.decided_at < self.opened_at:
            self.opened_at = decision.decided_at
            self.event_type, self.source_department = decision.event_type, decision.source_department
        self.subject_ids = list(dict.fromkeys(self.subject_ids + decision.subject_ids))
        self.pending_documents = decision.pending_documents if decision.kind is DecisionKind.HELD else []
        for planned in decision.items:
            state = self.items.get(planned.item_id) or ItemState(item_id=planned.item_id,
                                                                 department=planned.department.value)
            state.item, state.name_zh, state.name_en = planned.item, planned.name_zh, planned.name_en
            state.change, state.deadline_at = planned.change.value, planned.deadline_at
            state.requested_at = decision.decided_at
            state.granted_fields = [g.field for g in planned.grants]
            self.items[planned.item_id] = state
        early, self.early_outcomes = self.early_outcomes, []
        for outcome in early:
            if outcome.item_id in self.items:
                self.apply_outcome(outcome)  # refused if its item went to another department
            else:
                self.early_outcomes.append(outcome)
        self._settle()
        return None

    def apply_outcome(self, outcome: Outcome) -> str | None:
        """Apply an outcome; one from another department than the item's is refused (the
        reason returned, nothing changed). One for an item not decided yet is kept aside."""
        state = self.items.get(outcome.item_id)
        if state is None:
            # (a forged one with the same id must not push the genuine one out)
            if all((o.outcome_id, o.department) != (outcome.outcome_id, outcome.department)
                   for o in self.early_outcomes):
                self.early_outcomes.append(outcome)
            return None
        refusal = outcome_refusal(outcome.department.value, outcome.item_id, state.department)
        if refusal is not None:
            return refusal
        if outcome.status is OutcomeStatus.OVERDUE:
            state.overdue = True
        elif outcome.status is OutcomeStatus.DELIVERED:
            state.delivered_at = state.delivered_at or outcome.occurred_at
            self._advance(state, ItemStatus.DELIVERED)
        else:
            if self._advance(state, ItemStatus(outcome.status.value)):
                state.done_at, state.reference, state.reason = (
                    outcome.occurred_at, outcome.reference, outcome.reason)
        self._settle()
        return None

    @staticmethod
    def _advance(state: ItemState, status: ItemStatus) -> bool:
        if state.status is ItemStatus.FAILED and status in (ItemStatus.COMPLETED, ItemStatus.REJECTED):
            state.status = status  # a parked item, redriven, was completed after all
            return True
        if _RANK[status] <= _RANK[state.status] and state.status in FINAL:
            return False  # a final state is never replaced (redelivered outcomes)
        if _RANK[status] < _RANK[state.status]:
            return False
        state.status = status
        return True

    def _settle(self) -> None:
        done = self.status is CaseStatus.COMPLETED
        self.completed_at = max(i.done_at for i in self.items.values() if i.done_at) if done else None


def on_time_rate(cases: list[CaseState]) -> float | None:
    """按时办结率: the share of finished items finished by their deadline."""
    verdicts = [i.on_time() for c in cases for i in c.items.values() if i.on_time() is not None]
    return sum(verdicts) / len(verdicts) if verdicts else None


def median_completion_s(cases: list[CaseState]) -> float | None:
    """Median seconds from the registration to the case's last item being done."""
    spans = [(c.completed_at - c.opened_at).total_seconds() for c in cases
             if c.completed_at and c.opened_at]
    return median(spans) if spans else None
