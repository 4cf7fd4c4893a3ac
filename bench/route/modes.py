"""A throughput round and its modes: what each mode's run yields, and the figures over rounds."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.route.measures import Rate
from bench.workload import WireRecord
from hub.domain.outcomes import OutcomeStatus
from hub.kafka.clients import Clients
from hub.kafka.topic_names import TopicNames

MODES = ("router", "faust_raw", "faust_fanout", "inbox_fleet", "quix_raw", "kafka_python_raw")
SINKS = {"faust_raw": "passthrough-faust", "faust_fanout": "passthrough-fanout",
         "quix_raw": "passthrough-quix", "kafka_python_raw": "passthrough-kafka-python"}
FINAL = {OutcomeStatus.COMPLETED.value, OutcomeStatus.REJECTED.value, OutcomeStatus.FAILED.value}


@dataclass
class Round:
    """One round's prefix (its clients) and the events published to it before anything is timed."""

    number: int
    clients: Clients
    records: list[WireRecord]
    items: list[int]  # work items per record

    @property
    def settings(self):
        return self.clients.settings

    @property
    def expected_items(self) -> int:
        return sum(self.items)

    @property
    def names(self) -> TopicNames:
        return TopicNames(self.settings.topic_prefix)

    def sink(self, mode: str) -> str:
        return f"{self.settings.topic_prefix}.{SINKS[mode]}"


@dataclass
class ModeRun:
    mode: str
    round: int
    events: int
    startup_s: float | None  # process start → first output record
    events_in: Rate
    items_out: Rate | None
    cpu: dict[str, float | None] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)  # inbox_fleet: final outcomes by status

    def output_window_ms(self) -> tuple[int | None, int | None]:
        """The first and the last output record's timestamp, over what its rates count."""
        rates = [r for r in (self.events_in, self.items_out) if r and r.first_ms is not None]
        if not rates:
            return None, None
        return min(r.first_ms for r in rates), max(r.last_ms for r in rates)

    def cpu_ms_per_unit(self) -> float | None:
        """The process's CPU per event in (per item out for the fleet), over the measured window."""
        cpu = self.cpu.get("process_cpu_pct")
        rate = self.items_out.per_s if self.mode == "inbox_fleet" and self.items_out else self.events_in.per_s
        return 10 * cpu / rate if cpu is not None and rate else None

    def summary(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "events_per_s": self.events_in.per_s,
            "events_per_s_middle": self.events_in.middle_per_s,
            "items_per_s": self.items_out.per_s if self.items_out else None,
            "items": self.items_out.records if self.items_out else None,
            "longest_pause_ms": (self.items_out.longest_pause_ms
                                 if self.mode == "inbox_fleet" and self.items_out
                                 else self.events_in.longest_pause_ms),
            "startup_s": self.startup_s,
            "span_s": ((self.events_in.last_ms - self.events_in.first_ms) / 1000
                       if self.events_in.first_ms is not None else None),
            "process_cpu_pct": self.cpu.get("process_cpu_pct"),
            "process_cpu_ms_per_unit": self.cpu_ms_per_unit(),
            "broker_cpu_pct": self.cpu.get("broker_cpu_pct"),
            "machine_busy_pct": self.cpu.get("machine_busy_pct"),
        }

    def as_dict(self) -> dict[str, Any]:
        """One round's entry in the result file."""
        return {"round": self.round, **self.summary(), "events_in": self.events_in.as_dict(),
                "items_out": self.items_out.as_dict() if self.items_out else None,
                "statuses": self.statuses, "problems": self.problems}


def mode_order(number: int, kafka_python: bool, quix: bool = True) -> list[str]:
    """The faust modes reverse their order every other round; the other libraries' pass-throughs
    (Quix Streams, kafka-python) run after them, and swap places every other round too."""
    faust_modes = ["router", "faust_raw", "faust_fanout"]
    ordered = faust_modes if number % 2 else faust_modes[::-1]
    # The fleet drains the inboxes the router filled, so it comes after all the faust modes; it
    # has no ratio to pair, and a drain takes ~40 s, so it runs in the first round only.
    others = [m for m, wanted in (("quix_raw", quix), ("kafka_python_raw", kafka_python)) if wanted]
    return ordered + (["inbox_fleet"] if number == 1 else []) + (others if number % 2 else others[::-1])


def median_summary(runs: Sequence[ModeRun]) -> dict[str, Any]:
    """Median over rounds of each figure (the longest pause: the maximum)."""
    summaries = [r.summary() for r in runs]
    out: dict[str, Any] = {}
    for key in summaries[0]:
        values = [s[key] for s in summaries if s[key] is not None]
        out[key] = statistics.median(values) if values else None
    pauses = [s["longest_pause_ms"] for s in summaries if s["longest_pause_ms"] is not None]
    out["longest_pause_ms"] = max(pauses, default=None)
    return out


def paired_ratio(runs: Sequence[ModeRun], baseline: Sequence[ModeRun]) -> dict[str, Any]:
    """events/s ÷ baseline's, per round (same backlog, minutes apart), then the median."""
    per_round = [a.events_in.per_s / b.events_in.per_s for a, b in zip(runs, baseline)
                 if a.events_in.per_s and b.events_in.per_s]
    return {"ratio": statistics.median(per_round) if per_round else None, "per_round": per_round}
