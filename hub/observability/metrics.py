"""The hub's Prometheus metrics (prometheus-client): every metric of every process, named here.

Names follow Prometheus conventions: the ``oncehub_`` namespace, base units in the name
(``_seconds``, ``_records``), ``_total`` on counters. Labels carry departments, event types,
statuses, consumer groups and topics — never a person, a case or an item id (unbounded and
personal). Which process exposes what (README, "Metrics"):

- ``hub serve`` at ``GET /metrics``: ingest counters, and — computed when scraped — the case
  figures (trips saved, 按时办结率, overdue items per department, item completion times), consumer
  lag per group and partition, and dead letters parked (:mod:`hub.api.metrics_routes`);
- ``hub worker --metrics-port``: routing counters and latency by stage;
- ``hub agencies run --metrics-port`` (and any :class:`~consumers.inbox.Inbox`): outcomes reported
  and handler time per department;
- ``hub audit run --metrics-port``: records chained and the chain's last anchored head.

A process's metrics live in prometheus-client's default registry; :func:`serve_metrics`
exposes them on a loopback port for the processes without an HTTP server of their own.
"""

from __future__ import annotations

import logging

from prometheus_client import Counter, Gauge, Histogram, start_http_server

log = logging.getLogger(__name__)

# Seconds: from a few milliseconds (a quiet router) to minutes (a backlog, a broker restart).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15,
                   0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0)
# Seconds from an item's request to its completion: minutes in the demo, days by the rules.
COMPLETION_BUCKETS = (1.0, 10.0, 60.0, 600.0, 3600.0, 6 * 3600.0, 86_400.0, 3 * 86_400.0,
                      7 * 86_400.0, 15 * 86_400.0, 30 * 86_400.0)

# -- ingest (hub serve) ------------------------------------------------------------------------
EVENTS_ACCEPTED = Counter(
    "oncehub_events_accepted_total", "Events accepted by HTTP ingest and written to their topic.",
    ["event_type", "department"])
EVENTS_REFUSED = Counter(
    "oncehub_events_refused_total", "Events refused by HTTP ingest, by the rule they broke "
    "(invalid, forbidden, unauthenticated, too_large, unknown_type, unavailable).",
    ["event_type", "department", "rule"])

# -- routing (hub worker) ----------------------------------------------------------------------
EVENTS_ROUTED = Counter(
    "oncehub_events_routed_total", "Events the router handled (routed, held or dead-lettered).",
    ["event_type"])
ITEMS_ROUTED = Counter(
    "oncehub_items_routed_total", "Work items the router wrote to a department's inbox.",
    ["department"])
DEAD_LETTERS = Counter(
    "oncehub_dead_letters_total", "Records parked on a dead-letter topic, by the stage that parked them.",
    ["stage"])
ROUTING_LATENCY = Histogram(
    "oncehub_routing_latency_seconds", "From an event's timestamp (its publisher's clock) to its "
    "outputs acknowledged by Kafka.", buckets=LATENCY_BUCKETS)
ROUTER_STAGE = Histogram(
    "oncehub_router_stage_seconds", "The router's time by stage: wait (event timestamp → taken by "
    "the router, per event), prepare (decode, route, encode; per batch), send (outputs "
    "acknowledged; per batch).", ["stage"], buckets=LATENCY_BUCKETS)

# -- inboxes (hub agencies run, the inbox SDK) -------------------------------------------------
OUTCOMES_REPORTED = Counter(
    "oncehub_outcomes_reported_total", "Outcomes an inbox reported for its department's items.",
    ["department", "status"])
HANDLER_SECONDS = Histogram(
    "oncehub_inbox_handler_seconds", "Time in the agency's handler per call (one item, or a poll's "
    "items for a batch handler).", ["department"], buckets=LATENCY_BUCKETS)

# -- audit (hub audit run) ---------------------------------------------------------------------
AUDIT_RECORDS = Counter("oncehub_audit_records_total", "Records the auditor appended to the chain.")
AUDIT_HEAD_OFFSET = Gauge(
    "oncehub_audit_chain_anchored_offset", "Offset of the chain's last anchored head, per partition.",
    ["partition"])
AUDIT_HEAD_TIME = Gauge(
    "oncehub_audit_chain_anchored_timestamp_seconds", "When the chain's head was last anchored (Unix time).")
# -- the chain verified (hub serve: the console's "verify now") ------------------------------
AUDIT_VERIFIED_OFFSET = Gauge(
    "oncehub_audit_chain_verified_offset", "Offset of the chain's head at its last verification that "
    "found it intact, per partition.", ["partition"])
AUDIT_VERIFIED_TIME = Gauge(
    "oncehub_audit_chain_verified_timestamp_seconds", "When the chain was last verified intact (Unix time).")
AUDIT_VERIFIED_OK = Gauge(
    "oncehub_audit_chain_intact", "1 if the chain's last verification found it intact, 0 if broken.")


def serve_metrics(port: int | None, host: str = "127.0.0.1") -> None:
    """Expose this process's metrics at ``http://host:port/metrics`` (loopback by default);
    nothing when ``port`` is None."""
    if port is None:
        return
    start_http_server(port, addr=host)
    log.info("metrics on http://%s:%d/metrics", host, port)
