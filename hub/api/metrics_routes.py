"""``GET /metrics`` on ``hub serve``: Prometheus exposition, for operator tokens.

What it holds (names and units: :mod:`hub.observability.metrics`, README "Metrics"): the
process's own counters (events accepted and refused per type, department and rule), and,
computed when scraped — at most every ``min_interval_s``, so a busy Prometheus does not read
the log on every scrape — the hub's figures from the cases (trips saved, 按时办结率 and overdue
items per department, cases by status, item completion times) and from the broker (consumer lag
per group and partition, dead letters parked per topic).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timezone

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from hub.api.responses import authenticate, problem
from hub.api.tokens import Role, TokenStore
from hub.domain.case import CaseState, ItemStatus
from hub.domain.catalogue import CATALOGUE
from hub.domain.figures import headline
from hub.kafka.lag import PartitionLag
from hub.observability import metrics

log = logging.getLogger(__name__)

# What the broker says: consumer lag rows, and records parked per dead-letter topic.
BrokerFigures = Callable[[], tuple[list[PartitionLag], dict[str, int]]]

_KNOWN_TYPES = {spec.event_type.value for spec in CATALOGUE.values()}
# An ingest refusal's status → the rule label (a small fixed set: the path's text is never a label).
REFUSAL_RULES = {400: "invalid", 401: "unauthenticated", 403: "forbidden", 404: "unknown_type",
                 413: "too_large", 422: "invalid", 429: "throttled", 503: "unavailable"}


def count_ingest(event_type: str, department: str, status: int) -> None:
    """One ingest request answered with ``status``: accepted (202) or refused, by rule."""
    label = event_type if event_type in _KNOWN_TYPES else "unknown"
    if status == 202:
        metrics.EVENTS_ACCEPTED.labels(label, department).inc()
    else:
        metrics.EVENTS_REFUSED.labels(label, department, REFUSAL_RULES.get(status, "error")).inc()


class HubFigures:
    """A prometheus-client collector of the figures computed from the cases and the broker."""

    def __init__(self, cases, broker: BrokerFigures | None, min_interval_s: float = 5.0,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        self._cases, self._broker, self._clock = cases, broker, clock
        self._min_interval_s = min_interval_s
        self._lock = threading.Lock()
        self._taken_at, self._families = -float("inf"), []

    def collect(self) -> Iterable:
        with self._lock:
            if time.monotonic() - self._taken_at >= self._min_interval_s:
                self._families = list(self._compute())
                self._taken_at = time.monotonic()
            return list(self._families)

    def _compute(self) -> Iterable:
        if self._cases is not None:
            self._cases.catch_up()
            yield from case_families(self._cases.all_cases(), self._clock())
        if self._broker is not None:
            try:
                lags, parked = self._broker()
            except Exception as exc:  # noqa: BLE001 - the cases' figures still stand; these are left out
                log.warning("/metrics: the broker's figures are left out this time (%s)", type(exc).__name__)
            else:
                yield from broker_families(lags, parked)


def case_families(cases: list[CaseState], now: datetime) -> Iterable:
    h = headline(cases, now)
    trips = CounterMetricFamily("oncehub_items_completed_in_back_office",
                                "Follow-on items completed in the back office: the visits citizens did not make.",
                                labels=["department"])
    items = GaugeMetricFamily("oncehub_items", "Follow-on items by department and state (open ones "
                              "past their deadline are also counted as overdue).", labels=["department", "state"])
    overdue = GaugeMetricFamily("oncehub_items_overdue", "Open items past their deadline now.",
                                labels=["department"])
    on_time = GaugeMetricFamily("oncehub_on_time_ratio", "按时办结率: the share of finished items finished "
                                "by their deadline (department \"all\": every department).", labels=["department"])
    for d in h.departments:
        trips.add_metric([d.department], d.completed)
        overdue.add_metric([d.department], d.overdue)
        for state in ("open", "overdue", "completed", "rejected", "failed"):
            items.add_metric([d.department, state], getattr(d, state))
        if d.on_time_rate is not None:
            on_time.add_metric([d.department], d.on_time_rate)
    if h.on_time_rate is not None:
        on_time.add_metric(["all"], h.on_time_rate)
    by_status = GaugeMetricFamily("oncehub_cases", "Cases (一件事) by status.", labels=["status"])
    for status, n in (("COMPLETED", h.cases_completed), ("IN_PROGRESS", h.cases_in_progress),
                      ("PENDING_SUPPLEMENT", h.cases_pending_supplement)):
        by_status.add_metric([status], n)
    yield from (trips, items, overdue, on_time, by_status, _completion_histogram(cases))


def _completion_histogram(cases: list[CaseState]) -> HistogramMetricFamily:
    """Seconds from each completed item's request to its completion (end to end: the
    registration's publication to the agency's reference)."""
    spans = sorted((item.done_at - item.requested_at).total_seconds()
                   for case in cases for item in case.items.values()
                   if item.status is ItemStatus.COMPLETED and item.done_at and item.requested_at)
    buckets, at = [], 0
    for bound in metrics.COMPLETION_BUCKETS:
        while at < len(spans) and spans[at] <= bound:
            at += 1
        buckets.append((repr(float(bound)), at))
    buckets.append(("+Inf", len(spans)))
    family = HistogramMetricFamily("oncehub_item_completion_seconds",
                                   "From an item's request (its event routed) to its completion.")
    family.add_metric([], buckets, sum_value=sum(spans))
    return family


def broker_families(lags: list[PartitionLag], parked: dict[str, int]) -> Iterable:
    lag = GaugeMetricFamily("oncehub_consumer_lag_records", "Records a consumer group has not "
                            "committed yet, per partition.", labels=["group", "topic", "partition"])
    for row in lags:
        lag.add_metric([row.group, row.topic, str(row.partition)], row.lag)
    letters = GaugeMetricFamily("oncehub_dead_letters_parked", "Records held on each dead-letter topic.",
                                labels=["topic"])
    for topic, n in sorted(parked.items()):
        letters.add_metric([topic], n)
    yield from (lag, letters)


def install_metrics_route(app: FastAPI, tokens: TokenStore, cases, broker: BrokerFigures | None) -> None:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HubFigures(cases, broker))

    @app.get("/metrics", summary="Prometheus metrics (operator token)", include_in_schema=True,
             response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}, 401: {}, 403: {}})
    def scrape(request: Request) -> Response:
        caller = authenticate(tokens, request)
        if isinstance(caller, JSONResponse):
            return caller
        if caller.role is not Role.OPERATOR:
            return problem(403, "role", "metrics are for operator tokens")
        return Response(generate_latest(REGISTRY) + generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
