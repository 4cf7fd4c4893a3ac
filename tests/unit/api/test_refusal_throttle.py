"""The per-caller allowance of refusals audited one by one (the window is the limits library's)."""

from __future__ import annotations

import pytest

from hub.api import refusal_throttle
from hub.api.refusal_throttle import RefusalThrottle


def test_each_caller_has_its_own_allowance_and_untold_count():
    throttle = RefusalThrottle("2/minute")
    assert [throttle.admit("a").audit for _ in range(4)] == [True, True, False, False]
    assert throttle.admit("b").audit  # another address is not held back by the first
    refused = throttle.admit("a")
    assert (refused.audit, refused.untold) == (False, 3) and 1 <= refused.retry_after_s <= 60


def test_untold_counts_are_kept_for_a_bounded_number_of_callers(monkeypatch):
    monkeypatch.setattr(refusal_throttle, "MAX_CALLERS", 2)
    throttle = RefusalThrottle("1/minute")
    for caller in ("a", "b", "c"):
        throttle.admit(caller)
        throttle.admit(caller)  # one untold each
    assert list(throttle._untold) == ["b", "c"]  # the least recently seen is forgotten


def test_a_bad_limit_is_refused():
    with pytest.raises(ValueError):
        RefusalThrottle("often")
