"""The second half of ``make demo``: the data runs, the citizen doesn't.

With the published registrations in the log, the router (`hub worker`, a child process) sends
each follow-on item to its department's inbox, the six reference agencies complete them in
their own databases, and the case projection shows each case (一件事) completing in the
background — with a timeline per case and the reform's own figures: items completed without a
visit, on-time rate (按时办结率), median time from registration to completion.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timezone
from collections.abc import Callable
from pathlib import Path

from consumers.reference_agencies.fleet import AgencyFleet
from hub.audit.auditor import Auditor
from hub.kafka.clients import Clients
from hub.domain.case import CaseState, CaseStatus, median_completion_s, on_time_rate
from hub.domain.common import CHINA_TZ
from hub.domain.departments import Department
from hub.errors import HubError
from hub.projections.cases import CaseProjection
from hub.domain.case_views import case_lines
from hub.security.principals import Service
from hub.worker.process import WorkerProcess
from producers.publisher import Publisher

Echo = Callable[[str], None]


def wait_for_cases(projection: CaseProjection, case_ids: list[str], timeout_s: float,
                   alive: Callable[[], None] = lambda: None) -> list[CaseState]:
    """Catch the projection up until every case is COMPLETED, or raise with what is missing."""
    deadline = time.monotonic() + timeout_s
    while True:
        alive()
        projection.catch_up()
        cases = [projection.case(c) for c in case_ids]
        if all(c is not None and c.status is CaseStatus.COMPLETED for c in cases):
            return cases  # type: ignore[return-value]
        if time.monotonic() > deadline:
            open_ = [c for c, s in zip(case_ids, cases) if s is None or s.status is not CaseStatus.COMPLETED]
            raise HubError(f"{len(open_)} case(s) not completed within {timeout_s:.0f}s: {open_[:5]}")
        time.sleep(0.3)


class BackOffice:
    """The router and the six reference agencies, running for the duration of a ``with``.

    Started before the departments publish, so the times measured are the pipeline's own.
    """

    def __init__(self, clients: Clients, echo: Echo = print):
        self.clients, self.echo = clients, echo
        self.settings = settings = clients.settings
        self.agencies_dir = Path(settings.state_dir) / "demo-agencies" / uuid.uuid4().hex[:8]
        # Each part as its own principal (unless the settings name one): the router, the
        # auditor, the projections, and every agency's inbox as its department.
        self._worker = WorkerProcess(settings.for_service(Service.ROUTER))
        self._fleet = AgencyFleet(settings, self.agencies_dir)
        self._views = Clients(settings.for_service(Service.PROJECTIONS))
        self._auditor_clients = Clients(settings.for_service(Service.AUDITOR))
        self.projection = CaseProjection(self._views)
        self.auditor = Auditor(self._auditor_clients, anchor_every_s=3600.0)
        self._auditing = self.auditor.running()

    def __enter__(self) -> "BackOffice":
        self.echo(f"router, auditor and reference agencies starting "
                  f"(agency databases in {self.agencies_dir})")
        self._worker.start()
        self._auditing.__enter__()
        self._fleet.__enter__()
        return self

    def __exit__(self, *exc_info) -> None:
        self._fleet.__exit__(*exc_info)
        self._worker.stop()
        self._auditing.__exit__(*exc_info)
        self.projection.close()
        self._views.close()
        self._auditor_clients.close()

    def audit(self) -> None:
        """Let the auditor catch up, anchor the chain heads and verify the whole chain."""
        from hub.audit.verify import stored_anchors, verify_chain

        self.auditor.wait_idle(60)
        anchors = self.auditor.anchor()
        verdict = verify_chain(self.clients, anchors=stored_anchors(self.clients))
        self.echo(f"\naudit chain (`hub audit verify`): {verdict}")
        for anchor in anchors:
            self.echo(f"  {anchor}")

    def supplement(self, receipt, documents: list[str], timeout_s: float = 120.0) -> None:
        """Show a held case waiting (容缺受理), then provide the documents and let it go on."""
        case = self._case_once(receipt.case_id, lambda c: c.status is CaseStatus.PENDING_SUPPLEMENT,
                               timeout_s, f"case {receipt.case_id} was not held for its documents")
        self.echo(f"\n{case.case_id} accepted with documents missing (容缺受理): "
                  f"{case.status.value}, waiting for {', '.join(case.pending_documents)}")
        with Publisher(Department(case.source_department), self.settings) as publisher:
            publisher.publish_raw("documents_supplemented", {
                "occurred_at": datetime.now(timezone.utc).isoformat(),
                "payload": {"supplements_event_id": receipt.event_id,
                            "subject_id": case.subject_ids[0], "documents": documents}})
        self.echo("  documents supplied; the held items go out now")

    def withdraw_consent(self, receipt, items: list[str], timeout_s: float = 120.0) -> CaseState:
        """The couple withdraws the consent given at the window (撤回同意): the recipient is told
        to erase what it holds on that consent; show the case once it has done so."""
        case = self._case_once(receipt.case_id, lambda c: True, timeout_s, f"case {receipt.case_id} is unknown")
        with Publisher(Department(case.source_department), self.settings) as publisher:
            withdrawal = publisher.publish_raw("consent_withdrawn", {
                "occurred_at": datetime.now(timezone.utc).isoformat(), "case_id": receipt.case_id,
                "payload": {"withdraws_consent_of": receipt.event_id, "subject_id": case.subject_ids[0],
                            "items": items, "withdrawn_on": datetime.now(CHINA_TZ).date().isoformat()}})
        self.echo(f"\n{receipt.case_id}: consent to {', '.join(items)} withdrawn (撤回同意)")

        def told(case: CaseState) -> bool:
            notices = [i for i in case.items.values() if i.item in items and i.change == "ANNULMENT"]
            return withdrawal.event_id in case.event_ids and bool(notices) and all(i.final for i in notices)

        case = self._case_once(receipt.case_id, told, timeout_s,
                               f"the consent withdrawal of case {receipt.case_id} was not handled "
                               f"within {timeout_s:.0f}s")
        for line in case_lines(case):
            self.echo(line)
        return case

    def erase(self, receipt, subject_id: str, timeout_s: float = 120.0) -> None:
        """Erase a person (``hub erase``), then show each department's register once it has
        erased what the person's items brought."""
        from consumers.reference_agencies import reference_agencies
        from hub.domain.identifiers import mask_id
        from hub.erasure.run import run_erasure

        result = run_erasure(self.clients, subject_id, "PIPL art. 47(1): the purpose is achieved",
                             requested_by="demo")
        self.echo(f"\n{receipt.case_id}: its legal representative {mask_id(subject_id)} erased "
                  f"(`hub erase`): {result}")
        agencies = reference_agencies(self.agencies_dir)
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                self._worker.check_alive()
                rows = {i.item_id: agencies[i.department].get(i.refers_to_item_id) for i in result.items}
                if all(r is not None and r.subject == "erased" for r in rows.values()):
                    break
                if time.monotonic() > deadline:
                    raise HubError(f"the ERASURE items of case {receipt.case_id} were not handled "
                                   f"within {timeout_s:.0f}s")
                time.sleep(0.3)
        finally:
            for agency in agencies.values():
                agency.close()
        for item in result.items:
            row = rows[item.item_id]
            self.echo(f"  {item.department.value:32} {item.item:34} {row.reference}: {row.status}, "
                      f"data {row.data or 'erased'}")

    def _case_once(self, case_id: str, ready: Callable[[CaseState], bool], timeout_s: float,
                   failure: str) -> CaseState:
        """The case, once the projection shows it ``ready``; a :class:`HubError` saying
        ``failure`` after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while True:
            self._worker.check_alive()
            self.projection.catch_up()
            case = self.projection.case(case_id)
            if case is not None and ready(case):
                return case
            if time.monotonic() > deadline:
                raise HubError(failure)
            time.sleep(0.3)

    def complete(self, case_ids: list[str], timeout_s: float = 180.0) -> list[CaseState]:
        """Wait for every case to complete, then print timelines and the summary."""
        cases = wait_for_cases(self.projection, case_ids, timeout_s, self._worker.check_alive)
        for case in cases:
            self.echo("")
            for line in case_lines(case):
                self.echo(line)
        _summary(cases, self.echo)
        return cases


def _summary(cases: list[CaseState], echo: Echo) -> None:
    items = [i for c in cases for i in c.items.values()]
    completed = sum(i.status.value == "COMPLETED" for i in items)
    rate, median_s = on_time_rate(cases), median_completion_s(cases)
    echo("\nsummary (数据多跑路，群众少跑腿):")
    echo(f"  cases completed:                      {len(cases)}")
    echo(f"  items completed in the back office:   {completed} of {len(items)} "
         f"(visits the citizens did not have to make)")
    echo(f"  on-time rate (按时办结率):             {rate:.0%}" if rate is not None else "  on-time rate: -")
    echo(f"  median registration → case complete:  {median_s:.1f}s" if median_s is not None else "")
