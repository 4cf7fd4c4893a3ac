"""The run: one router, fed at its own pace, its memory sampled; restarts timed; checks."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress

from bench.route.measures import process_ticks
from bench.rss.feed import Feeder, to_send
from bench.rss.sampling import Sample, dir_size_mb, main_worker, own_rss_kb, tree_rss_kb
from bench.rss.watch import RouterWatch
from hub.errors import HubError
from hub.kafka.clients import Clients
from hub.worker.process import WorkerProcess

# Set by SIGUSR1 (``kill -USR1 <pid>``): stop feeding, finish the run with what was fed.
STOP_FEEDING = threading.Event()
TICK_S = 1.0  # how often the feeder looks at the router's committed offsets
STALL_S = 300.0  # no commit for this long: the run gives up


class Stalled(RuntimeError):
    pass


@dataclass
class RunState:
    """What the loop shares with the restarts: the worker, its number, the samples so far."""

    clients: Clients
    watch: RouterWatch
    feeder: Feeder
    logs: Path
    tables_dir: Path
    started: float = field(default_factory=time.monotonic)
    worker: WorkerProcess | None = None
    worker_no: int = 0
    samples: list[Sample] = field(default_factory=list)
    routed: int = 0
    samples_file: Path | None = None  # every sample appended as it is taken (JSON lines)
    stop_feeding_at: float | None = None  # monotonic time after which nothing more is fed

    def start_worker(self) -> WorkerProcess:
        self.worker_no += 1
        self.worker = WorkerProcess(self.clients.settings,
                                    log_file=self.logs / f"worker-{self.worker_no}.log").start()
        return self.worker

    @property
    def pid(self) -> int | None:
        proc = self.worker._proc if self.worker else None
        return proc.pid if proc else None

    def sample(self) -> Sample | None:
        pid = self.pid
        # The router's own memory is the curve; its children (a deadline-check round, which
        # exits when done) are recorded beside it.
        rss, tree = (own_rss_kb(pid), tree_rss_kb(pid)) if pid else (None, None)
        if rss is None:
            return None
        s = Sample(round(time.monotonic() - self.started, 2), self.routed, rss,
                   dir_size_mb(self.tables_dir), self.worker_no, process_ticks(pid),
                   children_kb=max(0, (tree or rss) - rss))
        self.samples.append(s)
        if self.samples_file is not None:
            with self.samples_file.open("a") as out:
                out.write(json.dumps(s.as_dict()) + "\n")
        return s

    @property
    def out_of_time(self) -> bool:
        return STOP_FEEDING.is_set() or (self.stop_feeding_at is not None
                                         and time.monotonic() > self.stop_feeding_at)

    def look(self) -> int:
        """The router's committed count now (kept if the coordinator cannot say this instant)."""
        committed = self.watch.committed()
        if committed is not None:
            self.routed = committed
        return self.routed


def feed_until(state: RunState, target: int, backlog: int, sample_s: float, progress: Progress,
               task: int, on_sample: Callable[[Sample], None]) -> None:
    """Feed and sample until the router has committed ``target`` events in all (every event
    published so far counts, markers included), all of them routed."""
    last_sample = last_progress_at = 0.0
    last_routed = -1
    while True:
        assert state.worker is not None
        state.worker.check_alive()  # raises with the log's tail
        routed = state.look()
        now = time.monotonic()
        if routed != last_routed:
            last_routed, last_progress_at = routed, now
        elif now - last_progress_at > STALL_S and routed < state.feeder.published:
            raise Stalled(f"no event committed for {STALL_S:.0f}s at {routed:,} of "
                          f"{state.feeder.published:,} published (see {state.worker.log_file})")
        progress.update(task, completed=routed)
        if now - last_sample >= sample_s:
            last_sample = now
            s = state.sample()
            if s is not None:
                on_sample(s)
        if state.out_of_time:
            target = min(target, state.feeder.published)  # the time budget is spent: drain
        if routed >= target:
            return
        n = to_send(state.feeder.published, routed, target, backlog)
        if n:
            state.feeder.send(n)
        time.sleep(max(0.0, TICK_S - (time.monotonic() - now)))


def wait_all_routed(state: RunState, timeout_s: float) -> None:
    """Until the committed offsets reach the event topics' ends."""
    deadline = time.monotonic() + timeout_s
    while state.watch.unrouted():
        if time.monotonic() > deadline:
            raise Stalled(f"not all routed after {timeout_s:.0f}s: {state.watch.unrouted()}")
        assert state.worker is not None
        state.worker.check_alive()
        time.sleep(TICK_S)
    state.look()


def restart(state: RunState, label: str, timeout_s: float, cold: bool = False) -> dict[str, Any]:
    """Stop the worker (SIGTERM), start a new one, publish one fresh event at once, and time
    until its routing decision is written (the decision's CreateTime − the new worker's start).

    ``cold``: the old worker's table files are deleted first, so the new one rebuilds its tables
    from the changelog topics (a router on a new machine)."""
    wait_all_routed(state, timeout_s)
    history = state.routed
    s = state.sample()
    rss_before = None if s is None else round(s.rss_mb, 1)
    assert state.worker is not None
    stopping = time.monotonic()
    state.worker.stop(timeout_s=60)
    stop_s = time.monotonic() - stopping
    if cold:
        shutil.rmtree(state.tables_dir, ignore_errors=True)
    since = state.watch.routing_ends()
    started_ms = time.time_ns() // 1_000_000
    started = time.monotonic()
    state.start_worker()
    (marker,) = state.feeder.send(1)
    decided_ms = state.watch.wait_for_decision(marker, since, timeout_s)
    seen_s = time.monotonic() - started
    out: dict[str, Any] = {"label": label, "history_events": history, "cold": cold,
                           "stop_s": round(stop_s, 2), "rss_before_mb": rss_before,
                           "marker_event_id": marker}
    if decided_ms is None:
        out |= {"until_routed_s": None, "problem": f"marker not routed within {timeout_s:.0f}s"}
    else:
        out |= {"until_routed_s": round((decided_ms - started_ms) / 1000, 2),
                "seen_after_s": round(seen_s, 2)}
    wait_all_routed(state, timeout_s)  # the marker committed too, before feeding resumes
    s = state.sample()
    out["rss_after_mb"] = None if s is None else round(s.rss_mb, 1)
    return out


def checks(state: RunState) -> tuple[dict[str, Any], list[str]]:
    """Dead letters (none expected: every event is a valid registration), every event routed
    (committed == ends), and a decision per event at least."""
    problems = []
    dead = state.watch.dead_letters()
    unrouted = state.watch.unrouted()
    decisions = state.watch.decisions()
    published = state.feeder.published
    if dead:
        problems.append(f"{dead} dead letter(s) on {state.watch.names.dead_letters}")
    if unrouted:
        problems.append(f"not routed (committed < end): {unrouted}")
    if decisions < published:
        problems.append(f"{decisions:,} routing decisions for {published:,} events")
    return {"published": published, "committed": state.routed, "dead_letters": dead,
            "unrouted": unrouted, "routing_decisions": decisions,
            "rerouted": max(0, decisions - published)}, problems


def cpu_pct(samples: list[Sample]) -> float | None:
    """The main worker's CPU over its samples, in % of one core."""
    if not samples:
        return None
    main = main_worker(samples)
    last = [s for s in samples if s.worker == main and s.cpu_ticks is not None]
    if len(last) < 2 or last[-1].t_s <= last[0].t_s:
        return None
    return round(100 * (last[-1].cpu_ticks - last[0].cpu_ticks) / os.sysconf("SC_CLK_TCK")
                 / (last[-1].t_s - last[0].t_s), 1)


def stop_quietly(state: RunState, console: Console) -> None:
    if state.worker is not None:
        try:
            state.worker.stop(timeout_s=60)
        except HubError as exc:
            console.print(f"[yellow]stopping the worker: {exc}")
