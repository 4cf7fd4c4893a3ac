"""The worker's memory, read from /proc, and the curve it draws against events routed.

Pure but for :func:`tree_rss_kb` and :func:`dir_size_mb` (which read /proc and the disk): the
curve's rows and its summary are computed from plain :class:`Sample` lists, so they are tested
without a broker.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Sample:
    """One look: seconds since the run started, events the router has committed so far, the
    router process's resident memory, its state directory on disk, which worker process it was
    (1 before the first restart, 2 after, …), its CPU ticks, and the resident memory of its
    children at that moment (the deadline check's child process, while one runs)."""

    t_s: float
    routed: int
    rss_kb: int
    disk_mb: float | None = None
    worker: int = 1
    cpu_ticks: int | None = None
    children_kb: int = 0

    @property
    def rss_mb(self) -> float:
        return self.rss_kb / 1024

    @property
    def total_mb(self) -> float:
        return (self.rss_kb + self.children_kb) / 1024

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_vmrss_kb(status: str) -> int | None:
    """``VmRSS:   123456 kB`` from a /proc/<pid>/status text; None for a zombie or kernel thread."""
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None


def children_of(pid: int, proc: Path = Path("/proc")) -> list[int]:
    """``pid``'s child processes: /proc/<pid>/task/*/children, else a scan of every stat's ppid."""
    kids: list[int] = []
    try:
        for task in (proc / str(pid) / "task").iterdir():
            kids += [int(k) for k in (task / "children").read_text().split()]
        return kids
    except OSError:
        pass
    for entry in proc.iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[1]) == pid:
                kids.append(int(entry.name))
    return kids


def process_tree(pid: int, proc: Path = Path("/proc")) -> list[int]:
    """``pid`` and all its descendants."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children_of(p, proc)
    return out


def own_rss_kb(pid: int, proc: Path = Path("/proc")) -> int | None:
    """Resident memory of ``pid`` alone, kB (None if it is gone)."""
    try:
        return parse_vmrss_kb((proc / str(pid) / "status").read_text())
    except OSError:
        return None


def tree_rss_kb(pid: int, proc: Path = Path("/proc")) -> int | None:
    """Resident memory of ``pid`` and its descendants, kB (None if ``pid`` is gone)."""
    total, found = 0, False
    for p in process_tree(pid, proc):
        try:
            kb = parse_vmrss_kb((proc / str(p) / "status").read_text())
        except OSError:
            continue
        if kb is not None:
            total, found = total + kb, True
    return total if found else None


def dir_size_mb(path: Path) -> float | None:
    """Bytes of every file under ``path``, in MiB (files that vanish meanwhile are skipped)."""
    if not path.exists():
        return None
    size = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                size += os.stat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return size / 2**20


def rate_between(a: Sample, b: Sample) -> float | None:
    """Events routed per second from ``a`` to ``b``."""
    return (b.routed - a.routed) / (b.t_s - a.t_s) if b.t_s > a.t_s else None


def curve_rows(samples: Sequence[Sample], step: int) -> list[dict[str, Any]]:
    """The curve at every ``step`` events: the first sample at or past each multiple of ``step``
    (and the last sample, if it is past the last multiple), with the rate since the row before.

    The first row is the first sample with anything routed (the worker's start-up size)."""
    ordered = sorted(samples, key=lambda s: (s.t_s, s.routed))
    started = [s for s in ordered if s.routed > 0]
    if not started:
        return []
    chosen = [started[0]]
    mark = (started[0].routed // step + 1) * step
    for s in started[1:]:
        if s.routed >= mark:
            chosen.append(s)
            mark = (s.routed // step + 1) * step
    if chosen[-1] is not started[-1] and started[-1].routed > chosen[-1].routed:
        chosen.append(started[-1])
    rows = []
    for i, s in enumerate(chosen):
        rows.append({"routed": s.routed, "rss_mb": round(s.rss_mb, 1), "worker": s.worker,
                     "disk_mb": None if s.disk_mb is None else round(s.disk_mb, 1),
                     "events_per_s": None if i == 0 else _rounded(rate_between(chosen[i - 1], s)),
                     "t_s": round(s.t_s, 1)})
    return rows


def slope_mb_per_100k(samples: Sequence[Sample]) -> float | None:
    """Least-squares slope of RSS (MB) against events routed, per 100,000 events."""
    pts = [(s.routed, s.rss_mb) for s in samples]
    if len(pts) < 2:
        return None
    n = len(pts)
    mx = sum(x for x, _ in pts) / n
    my = sum(y for _, y in pts) / n
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    if sxx == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in pts) / sxx * 100_000


def main_worker(samples: Sequence[Sample]) -> int | None:
    """The worker process that routed the most events while sampled (the longest segment)."""
    spans: dict[int, tuple[int, int]] = {}
    for s in samples:
        lo, hi = spans.get(s.worker, (s.routed, s.routed))
        spans[s.worker] = (min(lo, s.routed), max(hi, s.routed))
    return max(spans, key=lambda w: (spans[w][1] - spans[w][0], w)) if spans else None


def steady(samples: Sequence[Sample], warmup: float = 0.1) -> list[Sample]:
    """The main worker's samples after its first ``warmup`` share of the events it routed:
    one process, past its start-up (caches and buffers filling)."""
    if not samples:
        return []
    main = main_worker(samples)
    mine = sorted((s for s in samples if s.worker == main and s.routed > 0), key=lambda s: s.t_s)
    if not mine:
        return []
    lo, hi = mine[0].routed, mine[-1].routed
    cut = lo + warmup * (hi - lo)
    return [s for s in mine if s.routed >= cut]


def summarise(samples: Sequence[Sample], limit_mb: float) -> dict[str, Any]:
    """Max RSS, the main worker's RSS at its end, and how flat its curve is once it is warm: its
    first and last RSS, the difference, the slope per 100k events, and the range in between."""
    if not samples:
        return {"samples": 0}
    top = max(samples, key=lambda s: s.rss_kb)
    top_total = max(samples, key=lambda s: s.rss_kb + s.children_kb)
    warm = steady(samples)
    main = main_worker(samples)
    ordered = sorted((s for s in samples if s.worker == main), key=lambda s: s.t_s)
    out: dict[str, Any] = {
        "samples": len(samples),
        "max_rss_mb": round(top.rss_mb, 1),
        "max_rss_at_routed": top.routed,
        "end_rss_mb": round(ordered[-1].rss_mb, 1),
        "end_at_routed": ordered[-1].routed,
        "max_children_mb": round(max(s.children_kb for s in samples) / 1024, 1),
        "max_with_children_mb": round(top_total.total_mb, 1),
        "limit_mb": limit_mb,
        "within_limit": top.rss_mb <= limit_mb,
    }
    if warm:
        rss = [s.rss_mb for s in warm]
        out["steady"] = {
            "worker": warm[0].worker,
            "from_routed": warm[0].routed, "to_routed": warm[-1].routed,
            "first_rss_mb": round(rss[0], 1), "last_rss_mb": round(rss[-1], 1),
            "growth_mb": round(rss[-1] - rss[0], 1),
            "min_rss_mb": round(min(rss), 1), "max_rss_mb": round(max(rss), 1),
            "slope_mb_per_100k": _rounded(slope_mb_per_100k(warm), 2),
            "events_per_s": _rounded(rate_between(warm[0], warm[-1])),
        }
    return out


def _rounded(x: float | None, digits: int = 0) -> float | None:
    return None if x is None else round(x, digits)
