"""The headline figures: trips saved, 按时办结率 and overdue items per department, from cases."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hub.domain.case import CaseState, ItemState, ItemStatus
from hub.domain.figures import headline

NOW = datetime(2026, 12, 4, 8, 0, tzinfo=timezone.utc)
DAY = timedelta(days=1)


def _item(n: int, department: str, status: ItemStatus, *, due: timedelta, done: timedelta | None = None,
          overdue: bool = False) -> ItemState:
    return ItemState(item_id=f"i{n}", department=department, status=status, deadline_at=NOW + due,
                     done_at=None if done is None else NOW + done, overdue=overdue)


def _case(n: int, opened: timedelta, *items: ItemState, pending: list[str] | None = None) -> CaseState:
    case = CaseState(case_id=f"c{n}", opened_at=NOW + opened, items={i.item_id: i for i in items},
                     pending_documents=pending or [])
    return case


CASES = [
    _case(1, -2 * DAY,  # done: one on time, one late
          _item(1, "TAX", ItemStatus.COMPLETED, due=-DAY, done=-1.5 * DAY),
          _item(2, "PROVIDENT_FUND", ItemStatus.COMPLETED, due=-DAY, done=-0.5 * DAY)),
    _case(2, -DAY / 2,  # open: one past its deadline, one not yet
          _item(3, "TAX", ItemStatus.DELIVERED, due=-timedelta(hours=1)),
          _item(4, "TAX", ItemStatus.REQUESTED, due=DAY),
          _item(5, "PROVIDENT_FUND", ItemStatus.REJECTED, due=DAY, done=-timedelta(hours=2))),
    _case(3, -timedelta(hours=1), pending=["marriage_certificate"]),
]


def test_trips_saved_are_the_items_completed_in_the_back_office():
    h = headline(CASES, NOW)
    assert (h.cases, h.cases_completed, h.cases_in_progress, h.cases_pending_supplement) == (3, 1, 1, 1)
    assert (h.items, h.items_completed, h.trips_saved, h.items_overdue) == (5, 2, 2, 1)
    assert h.on_time_rate == 2 / 3  # of three finished items, the late one is the provident fund's first


def test_per_department_open_overdue_and_on_time():
    by = {d.department: d for d in headline(CASES, NOW).departments}
    assert [d for d in by] == ["PROVIDENT_FUND", "TAX"]
    tax, fund = by["TAX"], by["PROVIDENT_FUND"]
    assert (tax.items, tax.open, tax.overdue, tax.completed, tax.on_time_rate) == (3, 2, 1, 1, 1.0)
    assert (fund.items, fund.open, fund.completed, fund.rejected, fund.on_time, fund.late) == (2, 0, 1, 1, 1, 1)
    assert fund.on_time_rate == 0.5


def test_an_item_flagged_overdue_counts_until_it_is_done_and_since_filters_by_opening():
    flagged = _case(9, -DAY, _item(9, "TAX", ItemStatus.DELIVERED, due=DAY, overdue=True))
    assert headline([flagged], NOW).items_overdue == 1
    today = headline(CASES, NOW, since=NOW - DAY)
    assert today.cases == 2 and today.items == 3 and today.on_time_rate == 1.0


def test_no_cases_no_rates():
    h = headline([], NOW)
    assert (h.cases, h.items, h.on_time_rate, h.median_completion_s, h.departments) == (0, 0, None, None, [])
    assert h.as_json()["trips_saved"] == 0
