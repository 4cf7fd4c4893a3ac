"""How many reads of personal data each token may make: a per-token rate limit.

Every read of a case, of a subject's cases, of a timeline or of a subject's facts counts against
the token that made it (by token id, whatever its role); past ``limit`` in the window the read is
refused with 429 and ``Retry-After``, before anything is read or audited. The counting window is
the ``limits`` library's moving window, in memory: one process's view (a fleet of servers behind
a balancer allows ``limit`` per server).
"""

from __future__ import annotations

import math
import threading
import time

from limits import RateLimitItem, parse, storage, strategies

DEFAULT_READ_LIMIT = "120/minute"


class ReadLimiter:
    def __init__(self, limit: str = DEFAULT_READ_LIMIT):
        self.item: RateLimitItem = parse(limit)  # e.g. "120/minute"; ValueError names a bad one
        if self.item.amount < 1:
            raise ValueError(f"{limit!r} allows no read at all")
        self._limiter = strategies.MovingWindowRateLimiter(storage.MemoryStorage())
        self._lock = threading.Lock()

    def admit(self, token_id: str) -> int | None:
        """None if ``token_id`` may read now (the read is counted); else seconds to wait."""
        with self._lock:
            if self._limiter.hit(self.item, token_id):
                return None
            reset = self._limiter.get_window_stats(self.item, token_id).reset_time
            return max(1, math.ceil(reset - time.time()))

    def describe(self) -> str:
        return str(self.item)  # "120 per 1 minute"
