"""The router's own view of the latency run: its ``/metrics`` (``hub worker --metrics-port``)
scraped after the warm-up and at the end, and the difference summarised per stage.

The stages are the router's (:mod:`hub.worker.metering`): *wait* (an event's timestamp → the
router takes it, per event), *prepare* (decode, route, encode, per batch), *send* (the batch's
outputs acknowledged) and the whole routing latency (timestamp → acknowledged, per event).
Percentiles come from the histogram's buckets, so they are bounds ("≤ 20 ms"), not values.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Mapping
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

STAGES = {"wait": "event timestamp → taken by the router (per event)",
          "prepare": "decode, route, encode (per batch)",
          "send": "outputs acknowledged (per batch)",
          "routing": "event timestamp → outputs acknowledged (per event)"}
Buckets = dict[str, dict[float, float]]  # stage → upper bound → cumulative count ("+Inf": inf)


def scrape(port: int) -> tuple[Buckets, dict[str, float]]:
    """The router's stage histograms now: cumulative buckets and sums, per stage."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    buckets: Buckets = {}
    sums: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name not in ("oncehub_router_stage_seconds", "oncehub_routing_latency_seconds"):
            continue
        for sample in family.samples:
            stage = sample.labels.get("stage", "routing")
            if sample.name.endswith("_bucket"):
                buckets.setdefault(stage, {})[float(sample.labels["le"])] = sample.value
            elif sample.name.endswith("_sum"):
                sums[stage] = sample.value
    return buckets, sums


def summarise(before: tuple[Buckets, dict[str, float]], after: tuple[Buckets, dict[str, float]]
              ) -> dict[str, dict[str, Any]]:
    """Per stage, what happened between the two scrapes: count, mean ms, and the bucket bounds
    that hold the 50th and 99th percentiles."""
    out = {}
    for stage in STAGES:
        now, then = after[0].get(stage, {}), before[0].get(stage, {})
        delta = {bound: now[bound] - then.get(bound, 0.0) for bound in sorted(now)}
        count = delta.get(float("inf"), 0.0)
        if not count:
            continue
        total = after[1].get(stage, 0.0) - before[1].get(stage, 0.0)
        out[stage] = {"count": int(count), "mean_ms": round(1000 * total / count, 2),
                      "p50_le_ms": _bound(delta, count, 0.50), "p99_le_ms": _bound(delta, count, 0.99)}
    return out


def _bound(cumulative: Mapping[float, float], count: float, q: float) -> float | None:
    """The smallest bucket bound holding the ``q`` quantile (ms; None: past the last bound)."""
    bound = next(b for b, n in cumulative.items() if n >= q * count)
    return None if bound == float("inf") else round(1000 * bound, 1)


def table_lines(stages: Mapping[str, Mapping[str, Any]]) -> list[str]:
    from bench.harness.tables import markdown_table

    def shown(v):
        return "> last bucket" if v is None else f"≤ {v:g}"

    return ["The router's own stage times over the measured events (its `/metrics`, histogram "
            "buckets: percentiles are bucket bounds):", "",
            markdown_table(["router stage", "count", "mean ms", "p50 ms", "p99 ms"],
                           ([f"{stage}: {STAGES[stage]}", f"{s['count']:,}", f"{s['mean_ms']:.2f}",
                             shown(s["p50_le_ms"]), shown(s["p99_le_ms"])] for stage, s in stages.items())),
            ""]
