"""Run the six reference agencies against their inboxes, one thread each (demo, tests and
``hub agencies run``).

A thread whose inbox stops on an error is not left dead: an inbox already waits out Kafka and
registry failures itself, so what reaches here is unexpected (a handler's bug, the broker
refusing the department's credentials). The fleet logs it — the department, the error's type
and message with identity numbers masked — and starts that inbox again after a backoff that
doubles up to a minute, counting the restarts in :attr:`AgencyFleet.restarts`. A long-running
``hub agencies run`` is what an operator expects to keep working the other five departments and
to recover this one once the cause is fixed, with the log saying why it is not working meanwhile;
it stops only when told to (Ctrl-C, SIGTERM).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from adapters.common import redact
from consumers.reference_agencies import reference_agencies
from consumers.inbox import Inbox, InboxStats, RetryPolicy
from hub.config import HubSettings
from hub.domain.departments import Department
from hub.kafka.clients import Clients

log = logging.getLogger(__name__)

RESTART_INITIAL_S = 1.0
RESTART_MAX_S = 60.0


class AgencyFleet:
    """``with AgencyFleet(settings, base_dir) as fleet: ...`` — agencies work until the block ends.

    ``clients``: one :class:`~hub.kafka.clients.Clients` per department (tests give in-memory
    ones); by default each inbox builds its own as the department's principal. ``departments``:
    run only these agencies (by default all six) — one agency per process is how a single
    agency is taken down in the fault drills."""

    def __init__(self, settings: HubSettings, base_dir: Path, retry: RetryPolicy = RetryPolicy(),
                 *, clients: dict[Department, Clients] | None = None,
                 restart_initial_s: float = RESTART_INITIAL_S,
                 departments: frozenset[Department] | None = None):
        self.agencies = reference_agencies(base_dir)
        if departments is not None:
            unknown = departments - set(self.agencies)
            if unknown:
                raise ValueError(f"no reference agency for {', '.join(sorted(d.value for d in unknown))}")
            for department in set(self.agencies) - departments:
                self.agencies.pop(department).close()
        self._stop = threading.Event()
        self.inboxes = {d: Inbox(d, settings, retry=retry, clients=(clients or {}).get(d))
                        for d in self.agencies}
        self.restarts: dict[Department, int] = {d: 0 for d in self.agencies}
        self._restart_initial_s = restart_initial_s
        self._threads = [threading.Thread(target=self._work, args=(d,),
                                          name=f"inbox-{d.value.lower()}", daemon=True)
                         for d in self.agencies]

    def _work(self, department: Department) -> None:
        """Run one inbox until the fleet stops, restarting it after anything it dies of."""
        inbox, agency = self.inboxes[department], self.agencies[department]
        delay = self._restart_initial_s
        while not self._stop.is_set():
            try:
                inbox.run(agency, self._stop.is_set)
                return  # stopped as asked
            except Exception as exc:  # noqa: BLE001 - logged and restarted, never silent
                self.restarts[department] += 1
                log.error("inbox %s died (%s: %s); restart %d in %.0fs", department.value,
                          type(exc).__name__, redact(str(exc)), self.restarts[department], delay)
            self._stop.wait(delay)
            delay = min(delay * 2, RESTART_MAX_S)

    def __enter__(self) -> "AgencyFleet":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
        for agency in self.agencies.values():
            agency.close()

    def stats(self) -> dict[str, InboxStats]:
        return {d.value: inbox.stats for d, inbox in self.inboxes.items()}
