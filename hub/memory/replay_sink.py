"""The replay sink in memory: the items a replay emitted, visible only once it is committed."""

from __future__ import annotations

import threading

from hub.domain.replay import ReplayedItem
from hub.domain.routing import WorkItem


class InMemoryReplaySink:
    """:class:`~hub.domain.ports.ReplaySink` in a list, behaving like
    :class:`~hub.replay.sinks.FileSink`: what is emitted is held back until ``commit`` (the
    replay was audited) makes it visible in ``committed``, and ``abort`` (it was not) drops it.
    Nothing can be emitted once the sink is finished; an abort after a commit changes nothing."""

    def __init__(self, replay_id: str = "replay"):
        self.replay_id = replay_id
        self.committed: list[ReplayedItem] = []
        self.state = "open"  # open -> finished -> committed | aborted
        self._held: list[ReplayedItem] = []
        self._lock = threading.Lock()

    def emit(self, replayed: ReplayedItem) -> None:
        with self._lock:
            if self.state != "open":
                raise ValueError(f"replay {self.replay_id}: cannot emit to a sink that is {self.state}")
            self._held.append(replayed)

    def finish(self) -> None:
        with self._lock:
            if self.state == "open":
                self.state = "finished"

    def commit(self) -> None:
        with self._lock:
            if self.state in ("open", "finished"):
                self.committed, self._held = self.committed + self._held, []
                self.state = "committed"

    def abort(self) -> None:
        with self._lock:
            if self.state != "committed":
                self._held = []
                self.state = "aborted"

    @property
    def items(self) -> list[WorkItem]:
        """The work items of the committed output, in the order they were emitted."""
        return [r.item for r in self.committed]
