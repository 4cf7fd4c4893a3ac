"""AgencyHandler contract: an agency's system completes or rejects a work item, idempotently by
item id — a redelivered item (also to a restarted handler) gets the first answer again and
changes nothing; a correction is an item of its own; a rejection stays a rejection.

Runs against :class:`hub.memory.InMemoryAgency`, a
:class:`~consumers.reference_agencies.ReferenceAgency` (SQLite register), the webhook adapter
delivering to a reference agency's signed HTTP app, the SQL table adapter (SQLite) and the
file-drop adapter. Each adapter's own behaviour (retries, signatures, file layout, columns) is
tested in its unit tests.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from adapters.filedrop import FileDropAdapter
from adapters.sql import SqlTableAdapter
from adapters.webhook import WebhookAdapter
from consumers.reference_agencies import ReferenceAgency
from consumers.reference_agencies.http import agency_webhook_app
from hub.domain.departments import Department
from hub.domain.envelope import EventType
from hub.domain.outcomes import Completed, Rejected
from hub.domain.ports import AgencyHandler
from hub.domain.routing import ItemChange, WorkItem
from hub.memory import InMemoryAgency
from tests.builders import correction_of, routed

# The adapter passes a per-request timeout, which Starlette's TestClient ignores with a warning.
pytestmark = pytest.mark.filterwarnings("ignore:You should not use the 'timeout' argument")

SECRET = "contract-webhook-secret"


def retirement(seed: int) -> WorkItem:
    """The provident fund's item of a retirement (a new event id each call; ``seed``: the person)."""
    return routed(EventType.RETIREMENT_APPROVED, seed)[0]


@dataclass
class Agency:
    """A handler under test; ``effects()``: how many things it has recorded so far;
    ``reopened()``: the handler a restarted process builds on the same storage;
    ``rejected()``: an item it refuses on its merits (None if it never refuses one)."""

    handler: AgencyHandler
    effects: Callable[[], int]
    reopened: Callable[[], AgencyHandler]
    rejected: Callable[[], WorkItem | None] = lambda: None


def _in_memory(tmp_path, opened) -> Agency:
    agency = InMemoryAgency()

    def rejected() -> WorkItem:
        item = retirement(50)
        agency.reject(item.item_id, "no such person in the register")
        return item

    return Agency(agency, lambda: len(agency.applied), lambda: agency, rejected)


def _register(tmp_path, opened) -> tuple[Callable[[], ReferenceAgency], Callable[[], int]]:
    """A reference agency's register: how to open it, and how many decisions it holds."""
    path = tmp_path / "PROVIDENT_FUND.sqlite3"

    def open_agency() -> ReferenceAgency:
        opened.append(ReferenceAgency(Department.PROVIDENT_FUND, path))
        return opened[-1]

    def decided() -> int:
        with closing(sqlite3.connect(path)) as db:
            return db.execute("SELECT count(*) FROM changes").fetchone()[0]

    return open_agency, decided


def _second_registration(handler: AgencyHandler) -> WorkItem:
    """The same person's retirement again, under a new event: refused (already paid)."""
    handler(retirement(50))
    return retirement(50)


def _reference_agency(tmp_path, opened) -> Agency:
    open_agency, decided = _register(tmp_path, opened)
    agency = open_agency()
    return Agency(agency, decided, open_agency, lambda: _second_registration(agency))


def _webhook(tmp_path, opened) -> Agency:
    open_agency, decided = _register(tmp_path, opened)
    client = TestClient(agency_webhook_app(open_agency(), SECRET))
    opened.append(client)

    def adapter() -> WebhookAdapter:
        return WebhookAdapter("http://testserver/webhook", SECRET, client=client, sleep=lambda s: None)

    handler = adapter()
    return Agency(handler, decided, adapter, lambda: _second_registration(handler))


def _sql(tmp_path, opened) -> Agency:
    url = f"sqlite:///{tmp_path / 'agency.db'}"

    def rows() -> int:
        with closing(sqlite3.connect(tmp_path / "agency.db")) as db:
            return db.execute("SELECT count(*) FROM work_items").fetchone()[0]

    def adapter() -> SqlTableAdapter:
        made = SqlTableAdapter.from_url(url, "work_items")
        opened.append(made.engine)
        return made

    return Agency(adapter(), rows, adapter)


def _file_drop(tmp_path, opened) -> Agency:
    folder = tmp_path / "drop"

    def lines() -> int:
        return sum(len(p.read_text(encoding="utf-8").splitlines()) for p in folder.rglob("*.jsonl"))

    return Agency(FileDropAdapter(folder), lines, lambda: FileDropAdapter(folder))


HANDLERS = {"in-memory": _in_memory, "reference-agency": _reference_agency, "webhook": _webhook,
            "sql": _sql, "file-drop": _file_drop}


@pytest.fixture(params=list(HANDLERS))
def agency(request, tmp_path):
    opened: list = []
    yield HANDLERS[request.param](tmp_path, opened)
    for thing in reversed(opened):
        (thing.dispose if hasattr(thing, "dispose") else thing.close)()


def test_it_is_an_agency_handler(agency):
    assert isinstance(agency.handler, AgencyHandler)


def test_the_same_item_twice_gets_the_same_answer_and_one_side_effect(agency):
    item = retirement(1)
    first = agency.handler(item)
    assert isinstance(first, Completed) and agency.effects() == 1
    assert agency.handler(item) == first
    assert agency.reopened()(item) == first  # a restarted handler remembers it too
    assert agency.effects() == 1


def test_distinct_items_are_distinct_side_effects(agency):
    answers = [agency.handler(retirement(seed)) for seed in (1, 2, 3)]
    assert all(isinstance(a, Completed) for a in answers) and len({a.reference for a in answers}) == 3
    assert agency.effects() == 3


def test_a_correction_is_an_item_of_its_own_applied_once(agency):
    original = retirement(1)
    correction = correction_of(original)
    assert (correction.change, correction.refers_to_item_id) == (ItemChange.CORRECTION, original.item_id)
    agency.handler(original)
    corrected = agency.handler(correction)
    assert isinstance(corrected, Completed) and agency.effects() == 2
    assert agency.handler(correction) == corrected and agency.reopened()(correction) == corrected
    assert agency.effects() == 2


def test_a_rejection_stays_a_rejection(agency):
    item = agency.rejected()
    if item is None:
        pytest.skip("this handler stores every item; it refuses none on its merits")
    refused = agency.handler(item)
    assert isinstance(refused, Rejected) and refused.reason
    effects = agency.effects()
    assert agency.handler(item) == refused and agency.reopened()(item) == refused
    assert agency.effects() == effects
