"""The per-token limit on reads of personal data (the `limits` library's moving window)."""

from __future__ import annotations

import time

import pytest

from hub.api.read_limit import DEFAULT_READ_LIMIT, ReadLimiter


def test_each_token_gets_its_own_allowance():
    limiter = ReadLimiter("3/minute")
    assert [limiter.admit("a") for _ in range(3)] == [None, None, None]
    wait = limiter.admit("a")
    assert wait is not None and 1 <= wait <= 60
    assert limiter.admit("b") is None
    assert limiter.describe() == "3 per 1 minute"


def test_the_allowance_comes_back_when_the_window_moves_on():
    limiter = ReadLimiter("2/second")
    assert limiter.admit("a") is None and limiter.admit("a") is None
    assert limiter.admit("a") == 1
    time.sleep(1.05)
    assert limiter.admit("a") is None


def test_the_default_is_120_a_minute():
    assert DEFAULT_READ_LIMIT == "120/minute"
    limiter = ReadLimiter()
    assert all(limiter.admit("t") is None for _ in range(120)) and limiter.admit("t") is not None


@pytest.mark.parametrize("limit", ["lots", "0/minute"])
def test_a_bad_limit_is_refused(limit):
    with pytest.raises(ValueError):
        ReadLimiter(limit)
