"""How many refused unauthenticated queries each caller may have audited one by one.

Every refused shared-data query is audited, so a caller without a token could otherwise write
to the audit trail as fast as it can send requests. Up to ``limit`` refusals per window and
caller address are audited one by one; past that the caller gets 429 with nothing written, and
how many were refused that way goes into its next audited refusal, so the trail still says
how hard it knocked. The counting window is the ``limits`` library's (fixed window, in memory:
one process's view; a fleet of servers behind a balancer allows ``limit`` per server).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from limits import RateLimitItem, parse, storage, strategies

MAX_CALLERS = 10_000  # callers whose untold count is remembered (least recently seen forgotten)


@dataclass(frozen=True)
class Admission:
    audit: bool  # audit this refusal now (else: 429, counted)
    untold: int  # refusals of this caller not audited one by one since its last audited one
    retry_after_s: int


class RefusalThrottle:
    def __init__(self, limit: str = "20/minute"):
        self.item: RateLimitItem = parse(limit)  # e.g. "20/minute"; ValueError names a bad one
        self._limiter = strategies.FixedWindowRateLimiter(storage.MemoryStorage())
        self._untold: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()

    def admit(self, caller: str) -> Admission:
        with self._lock:
            if self._limiter.hit(self.item, caller):
                return Admission(True, self._untold.pop(caller, 0), 0)
            untold = self._untold[caller] = self._untold.pop(caller, 0) + 1  # now most recent
            if len(self._untold) > MAX_CALLERS:
                self._untold.popitem(last=False)
            reset = self._limiter.get_window_stats(self.item, caller).reset_time
            return Admission(False, untold, max(1, round(reset - time.time())))
