"""After a mode has run: read its output back, check it is complete, and take its rates.

A mode's rate comes from its output records' own timestamps, so what is read back here is the
measurement as well as the check.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from bench.route.children import LAST
from bench.route.measures import NO_RATE, rate_of
from bench.route.modes import FINAL, ModeRun, Round
from hub.domain.outcomes import Outcome, OutcomeStatus
from hub.domain.routing import RoutingDecision
from hub.kafka.clients import Clients
from hub.kafka.log_reader import read_from_start
from hub.wire.serde import model_deserializer


@dataclass(frozen=True)
class Out:
    """One record read back from an output topic."""

    topic: str
    timestamp_ms: int
    key: bytes | None
    value: bytes | None
    headers: frozenset = frozenset()  # header names only


def read_back(clients: Clients, topics: Sequence[str]) -> list[Out]:
    """Every record on ``topics``, from the beginning to the current end."""
    return [Out(m.topic, m.timestamp, m.key, m.value, frozenset(k for k, _ in m.headers or ()))
            for m in read_from_start(clients, list(topics))]


def startup_s(out: Sequence[Out], started_ms: int) -> float | None:
    """From the process's start to its first output record."""
    first = min((o.timestamp_ms for o in out), default=None)
    return (first - started_ms) / 1000 if first is not None else None


def check_router(rnd: Round, started_ms: int, problems: list[str]) -> ModeRun:
    """Read the router's outputs back: a decision per event, the expected items, no dead letters."""
    names, n = rnd.names, len(rnd.records)
    out = read_back(rnd.clients, [names.routing_log, names.dead_letters, *names.all_inboxes()])
    decode = model_deserializer(rnd.clients.registry, "RoutingDecision", RoutingDecision)
    decisions = [o for o in out if o.topic == names.routing_log]
    inbox = [o for o in out if o.topic != names.routing_log and o.topic != names.dead_letters]
    letters = sum(o.topic == names.dead_letters for o in out)
    decoded = [decode(o.value, o.topic) for o in decisions]
    routed = {d.event_id for d in decoded}
    published = {r.event_id for r in rnd.records}
    if routed != published:
        problems.append(f"router: {len(published - routed)} event(s) without a decision, "
                        f"{len(routed - published)} unknown")
    if len(decisions) != len(routed):
        problems.append(f"router: {len(decisions) - len(routed)} duplicate decision(s) (re-routed)")
    planned = sum(len(d.items) for d in decoded)
    if planned != rnd.expected_items or len(inbox) != rnd.expected_items:
        problems.append(f"router: {len(inbox)} inbox records, {planned} planned items, "
                        f"{rnd.expected_items} expected")
    if letters:
        problems.append(f"router: {letters} dead letter(s)")
    events_in = rate_of(o.timestamp_ms for o in decisions)
    startup = startup_s([o for o in out if o.topic != names.dead_letters], started_ms)
    return ModeRun("router", rnd.number, n, startup, events_in,
                   rate_of(o.timestamp_ms for o in inbox), problems=problems)


def check_fleet(rnd: Round, started_ms: int, problems: list[str]) -> ModeRun:
    """Read the outcomes back: one final outcome per item; the rate counts final outcomes."""
    names = rnd.names
    out = read_back(rnd.clients, names.all_outcomes())
    decode = model_deserializer(rnd.clients.registry, "Outcome", Outcome)
    finals: dict[str, tuple[str, int]] = {}
    for o in out:
        outcome = decode(o.value, o.topic)
        if outcome.status.value in FINAL:
            finals.setdefault(outcome.item_id, (outcome.status.value, o.timestamp_ms))
    statuses = Counter(status for status, _ in finals.values())
    if len(finals) != rnd.expected_items:
        problems.append(f"inbox_fleet: {len(finals)} items with a final outcome, "
                        f"{rnd.expected_items} expected")
    if statuses.get(OutcomeStatus.FAILED.value):
        problems.append(f"inbox_fleet: {statuses[OutcomeStatus.FAILED.value]} item(s) FAILED")
    items_out = rate_of(ts for _, ts in finals.values())
    run_ = ModeRun("inbox_fleet", rnd.number, len(rnd.records), startup_s(out, started_ms), NO_RATE,
                   items_out, problems=problems)
    run_.statuses = dict(statuses)
    return run_


def check_passthrough(mode: str, rnd: Round, started_ms: int, problems: list[str]) -> ModeRun:
    """Read the sink back: the very value bytes published, each once (fan-out: items + 1 times)."""
    out = read_back(rnd.clients, [rnd.sink(mode)])
    fanout = mode == "faust_fanout"
    got = Counter((o.key if not fanout else o.key[:-1], o.value) for o in out)
    want = Counter({(r.key, r.value): (k + 1 if fanout else 1) for r, k in zip(rnd.records, rnd.items)})
    if got != want:
        problems.append(f"{mode}: the sink holds {len(out)} records; "
                        f"{sum((want - got).values())} missing, {sum((got - want).values())} extra")
    lasts = [o for o in out if LAST in o.headers] if fanout else out
    events_in = rate_of(o.timestamp_ms for o in lasts)
    items_out = rate_of(o.timestamp_ms for o in out if LAST not in o.headers) if fanout else None
    return ModeRun(mode, rnd.number, len(rnd.records), startup_s(out, started_ms), events_in,
                   items_out, problems=problems)
