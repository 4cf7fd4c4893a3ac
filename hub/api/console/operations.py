"""What the console runs on the operator's behalf, on ``hub serve``'s own clients (the gateway):
the audit chain's verification against its published anchors, and a replay dry run (audited by
the replay itself, like ``hub replay --dry-run``)."""

from __future__ import annotations

import time

from hub.audit.verify import stored_anchors, verify_chain
from hub.domain.audit import Verdict
from hub.domain.replay import ReplayRequest, ReplayWindow
from hub.kafka.clients import Clients
from hub.observability import metrics
from hub.replay.run import run_replay


class ConsoleOperations:
    def __init__(self, clients: Clients):
        self._clients = clients

    def verify(self) -> tuple[Verdict, dict[tuple[int, int], str]]:
        """The chain walked now, and the anchors checked; the verdict goes to ``/metrics``."""
        anchors = stored_anchors(self._clients)
        verdict = verify_chain(self._clients, anchors=anchors)
        metrics.AUDIT_VERIFIED_OK.set(1 if verdict.ok else 0)
        if verdict.ok:
            for partition, (offset, _digest) in (verdict.heads or {}).items():
                metrics.AUDIT_VERIFIED_OFFSET.labels(str(partition)).set(offset)
            metrics.AUDIT_VERIFIED_TIME.set(time.time())
        return verdict, anchors

    def dry_run(self, window: ReplayWindow, requested_by: str) -> list[str]:
        summary = run_replay(self._clients, ReplayRequest(window, dry_run=True), requested_by=requested_by)
        return summary.lines()
