"""HdrHistogram construction and the percentile summaries the result files carry."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from hdrh.histogram import HdrHistogram

SIG_FIGS = 3
US_HIGHEST = 120_000_000  # latencies in µs: two minutes is a failure, not a latency
NS_HIGHEST = 60_000_000_000  # in-process stages, ns

T = TypeVar("T")


def new_histogram(highest: int = US_HIGHEST) -> HdrHistogram:
    return HdrHistogram(1, highest, SIG_FIGS)


def record_us(hist: HdrHistogram, delta_ns: int) -> None:
    """Record a duration given in ns as µs (at least 1: the histogram's floor)."""
    hist.record_value(max(delta_ns // 1000, 1))


def timed_us(hist: HdrHistogram, call: Callable[[], T]) -> T:
    """Call, record how long it took in µs, return what it returned."""
    started = time.perf_counter_ns()
    value = call()
    record_us(hist, time.perf_counter_ns() - started)
    return value


def quantiles(hist: HdrHistogram, named: Mapping[str, float], divisor: float = 1) -> dict[str, float]:
    """``{name: value at that percentile ÷ divisor}``."""
    return {name: hist.get_value_at_percentile(q) / divisor for name, q in named.items()}


def ms_summary(hist: HdrHistogram, percentiles: Iterable[float], extremes: bool = True
               ) -> dict[str, Any]:
    """A µs histogram in ms: count, ``p<q>_ms`` for each percentile, then max and mean."""
    out: dict[str, Any] = {"count": hist.get_total_count(),
                           **quantiles(hist, {f"p{q:g}_ms": q for q in percentiles}, 1000)}
    if extremes:
        out |= {"max_ms": hist.get_max_value() / 1000, "mean_ms": hist.get_mean_value() / 1000}
    return out


def stage_summary(hists: Mapping[str, HdrHistogram]) -> dict[str, dict[str, float]]:
    """In-process stage costs (ns histograms) as µs: p50, p99, mean."""
    return {name: {**quantiles(h, {"p50": 50, "p99": 99}, 1000), "mean": h.get_mean_value() / 1000}
            for name, h in hists.items()}
