"""What the routing benchmark reads off a run: rates from record timestamps, CPU from /proc."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.config import HubSettings

SNAP_S = 0.2  # how often offsets or outcomes are looked at while something runs
TRACE_S = 0.02  # how often a running mode's CPU is read from /proc
ns = time.time_ns  # wall clock throughout: compared with Kafka timestamps and occurred_at


@dataclass(frozen=True)
class Rate:
    """Records per second on an output topic, from the records' own timestamps (ms)."""

    records: int
    first_ms: int | None
    last_ms: int | None
    per_s: float | None  # (records − 1) ÷ (last − first)
    middle_per_s: float | None  # the same between the 10th and the 90th percentile record
    longest_pause_ms: int | None  # largest gap between consecutive records

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


NO_RATE = Rate(0, None, None, None, None, None)


def rate_of(timestamps_ms: Iterable[int], trim: float = 0.1) -> Rate:
    ts = sorted(timestamps_ms)
    n = len(ts)
    if n < 2:
        return Rate(n, ts[0] if ts else None, ts[-1] if ts else None, None, None, None)

    def per_s(lo: int, hi: int) -> float | None:
        span = (ts[hi] - ts[lo]) / 1000
        return (hi - lo) / span if span > 0 else None

    lo, hi = int(trim * (n - 1)), int(round((1 - trim) * (n - 1)))
    return Rate(n, ts[0], ts[-1], per_s(0, n - 1), per_s(lo, hi) if hi > lo else None,
                max(b - a for a, b in zip(ts, ts[1:])))


@dataclass(frozen=True)
class CpuSample:
    """CPU ticks so far of the measured process and of the broker, and the machine's busy/total."""

    at: float  # time.monotonic()
    process: int | None
    broker: int | None
    machine_busy: int | None
    machine_total: int | None
    wall_ms: float | None = None  # time.time_ns() in ms: lined up with the records' timestamps


def process_ticks(pid: int | None) -> int | None:
    """utime + stime of ``pid`` (all its threads) in clock ticks, from /proc; None if unknown."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[11]) + int(fields[12])


def machine_ticks() -> tuple[int | None, int | None]:
    """(busy, total) ticks of all CPUs since boot, from /proc/stat; busy excludes idle and iowait."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return None, None
    total = sum(values[:8])  # user nice system idle iowait irq softirq steal
    return total - values[3] - values[4], total


def broker_pid() -> int | None:
    """The dev stack's Kafka pid (``hub dev up`` writes it), to read its CPU time; None if unknown."""
    from hub.devstack.procs import read_pid

    return read_pid(Path(HubSettings().state_dir) / "run" / "kafka.pid")


def cpu_sample(pid: int | None, broker: int | None) -> CpuSample:
    return CpuSample(time.monotonic(), process_ticks(pid), process_ticks(broker), *machine_ticks(),
                     wall_ms=ns() / 1e6)


class CpuTrace:
    """``cpu_sample`` every ``TRACE_S`` on a thread while a mode runs, so that its CPU can be
    taken over the window its output records' timestamps span (:func:`window_samples`), not
    between two looks at the offsets: a raw pass-through on librdkafka writes a 2,000-event
    backlog in about 0.1 s, inside one ``SNAP_S``."""

    def __init__(self, pid: int | None, broker: int | None, every_s: float = TRACE_S):
        self.pid, self.broker, self.every_s = pid, broker, every_s
        self.samples: list[CpuSample] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cpu-trace", daemon=True)

    def _run(self) -> None:
        while True:
            self.samples.append(cpu_sample(self.pid, self.broker))
            if self._stop.wait(self.every_s):
                return

    def start(self) -> "CpuTrace":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def window_samples(samples: Sequence[CpuSample], first_ms: float | None, last_ms: float | None
                   ) -> tuple[CpuSample, CpuSample] | None:
    """The samples nearest to the window's first and last record; None if they are the same
    sample (a window shorter than the sampling interval) or there is no window."""
    timed = [s for s in samples if s.wall_ms is not None]
    if not timed or first_ms is None or last_ms is None:
        return None
    a = min(timed, key=lambda s: abs(s.wall_ms - first_ms))
    b = min(timed, key=lambda s: abs(s.wall_ms - last_ms))
    return (a, b) if b.at > a.at else None


def cpu_shares(a: CpuSample, b: CpuSample, tick_hz: float, cpus: int) -> dict[str, float | None]:
    """Between two samples: the process's and the broker's CPU in % of one core, the machine's
    busy share in % of all its cores."""
    wall = b.at - a.at

    def pct(x: int | None, y: int | None) -> float | None:
        return 100 * (y - x) / tick_hz / wall if x is not None and y is not None and wall > 0 else None

    machine = None
    if a.machine_total is not None and b.machine_total is not None and b.machine_total > a.machine_total:
        machine = 100 * (b.machine_busy - a.machine_busy) / (b.machine_total - a.machine_total)
    return {"process_cpu_pct": pct(a.process, b.process), "broker_cpu_pct": pct(a.broker, b.broker),
            "machine_busy_pct": machine, "cpus": cpus}
