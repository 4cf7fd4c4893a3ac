"""Run the six reference agencies against their inboxes, one thread each (demo and tests)."""

from __future__ import annotations

import threading
from pathlib import Path

from consumers.reference_agencies import reference_agencies
from consumers.inbox import Inbox, InboxStats, RetryPolicy
from hub.config import HubSettings


class AgencyFleet:
    """``with AgencyFleet(settings, base_dir) as fleet: ...`` — agencies work until the block ends."""

    def __init__(self, settings: HubSettings, base_dir: Path, retry: RetryPolicy = RetryPolicy()):
        self.agencies = reference_agencies(base_dir)
        self._stop = threading.Event()
        self.inboxes = {d: Inbox(d, settings, retry=retry) for d in self.agencies}
        self._threads = [
            threading.Thread(target=self.inboxes[d].run, args=(agency, self._stop.is_set),
                             name=f"inbox-{d.value.lower()}", daemon=True)
            for d, agency in self.agencies.items()
        ]

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
