"""CPU over a timed pass, from ``/proc``: the publishing process, the load generator, the broker
and the whole machine, read at the first send and at the last answer."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bench.route.measures import machine_ticks, process_ticks

TICK_HZ = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class CpuSnap:
    """utime + stime ticks so far of each named process, and the machine's (busy, total)."""

    at_ns: int  # time.perf_counter_ns()
    ticks: Mapping[str, int | None]
    machine: tuple[int | None, int | None]


def snap(pids: Mapping[str, int | None]) -> CpuSnap:
    """Now, for each of ``pids`` (name → pid; None: not measured)."""
    return CpuSnap(time.perf_counter_ns(), {name: process_ticks(pid) for name, pid in pids.items()},
                   machine_ticks())


def cpu_use(a: CpuSnap, b: CpuSnap, events: int, tick_hz: float = TICK_HZ) -> dict[str, Any]:
    """Between two snaps, for each process: CPU seconds, % of one core, ms per event; and the
    machine's busy share in % of all its cores (``machine_busy_pct``). None where unknown.

    /proc counts in ticks (10 ms at 100 Hz): a pass of a few seconds reads to about 1%.
    """
    wall_s = (b.at_ns - a.at_ns) / 1e9
    out: dict[str, Any] = {}
    for name, before in a.ticks.items():
        after = b.ticks.get(name)
        if before is None or after is None or wall_s <= 0:
            out[name] = None
            continue
        cpu_s = (after - before) / tick_hz
        out[name] = {"cpu_s": round(cpu_s, 3), "pct_of_core": 100 * cpu_s / wall_s,
                     "ms_per_event": 1000 * cpu_s / events if events else None}
    (busy0, total0), (busy1, total1) = a.machine, b.machine
    out["machine_busy_pct"] = (100 * (busy1 - busy0) / (total1 - total0)
                               if None not in (busy0, total0, busy1, total1) and total1 > total0
                               else None)
    return out
