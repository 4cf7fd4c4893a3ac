"""The ingest benchmark's options and run: provision, serve, drive each mode, check, clean up."""

from __future__ import annotations

import os
import random
import statistics
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

import bench.ingest
from bench.harness import cli
from bench.harness.progress import Advance, advancer, progress_bars
from bench.harness.results import load_average, run_header, version
from bench.harness.stack import cleanup, fresh_prefix
from bench.ingest.check import events_on
from bench.ingest.check import problems as check_problems
from bench.ingest.inputs import Request, as_requests
from bench.ingest.load import Pass, http_passes, sdk_pass
from bench.ingest.report import ratios, render, target
from bench.ingest.server import IngestServer
from bench.publish.inputs import make_jobs
from bench.route.measures import broker_pid
from bench.workload import Job
from hub.config import HubSettings
from hub.domain.departments import Department
from hub.kafka.clients import Clients
from hub.kafka.topic_names import TopicNames
from hub.projections.store import projection_path
from hub.schema_registry.provisioning import provision_catalogue
from producers.pool import PublisherPool

# `--short` (make bench-all): a smoke run of every figure, well under 90 seconds.
SHORT = {"events": 500, "warmup": 100}
PACKAGES = ("fastapi", "starlette", "uvicorn", "h11", "httptools", "uvloop", "anyio", "httpx",
            "hdrhistogram")


@dataclass
class Options:
    events: int
    clients: int
    warmup: int
    seed: int
    reference: bool
    keep: bool
    json_path: Path | None
    short: bool = False


def http_stack() -> str:
    """What uvicorn's ``auto`` settings pick in this environment (the server runs in it too)."""
    parser = "httptools" if version("httptools") else "h11"
    loop = "uvloop" if version("uvloop") else "asyncio"
    return f"{parser} HTTP parser, {loop} event loop"


class Run:
    """One run's state: the passes so far, every receipt, the problems found."""

    def __init__(self, clients: Clients, console: Console):
        self.clients, self.console = clients, console
        self.topics = TopicNames(clients.settings.topic_prefix).all_events()
        self.passes: dict[str, Pass] = {}
        self.warm: dict[str, Pass] = {}
        self.receipts: dict[str, str] = {}
        self.problems: list[str] = []
        self.checks: dict[str, list[str]] = {}

    def record(self, warm: Pass, measured: Pass) -> None:
        """Keep a mode's two passes and their receipts; a request not accepted is a problem."""
        self.warm[measured.mode], self.passes[measured.mode] = warm, measured
        for p in (warm, measured):
            self.receipts.update(p.tally.receipts)
            if p.tally.failed:
                self.problems.append(f"{p.mode}: {sum(p.tally.failed.values())} of {p.events} not "
                                     f"accepted ({dict(p.tally.failed)})")
                for example in p.tally.examples:
                    self.console.print(f"[red]{p.mode}: {example}")

    def check(self, mode: str) -> None:
        """Read the topics back: the mode's acknowledged events, each there exactly once."""
        self.console.print(f"reading the topics back after {mode}…")
        mine = [*self.warm[mode].tally.receipts, *self.passes[mode].tally.receipts]
        found = check_problems(events_on(self.clients, self.topics), self.receipts, mine)
        self.checks[mode] = found
        self.problems += [f"{mode}: {p}" for p in found]

    def summaries(self) -> dict[str, dict[str, Any]]:
        return {mode: {**p.summary(), "problems": self.checks.get(mode, [])}
                for mode, p in self.passes.items()}


def drive_sdk(settings: HubSettings, mode: str, threads: int, warm: list[Job], jobs: list[Job],
              bar: Callable[[str, int], Advance]) -> tuple[Pass, Pass]:
    """A fresh pool (its own producer, schema ids and people's keys: cold, as the server starts),
    its warm-up, then the measured pass, both from ``threads`` threads."""
    pids = {"publisher": os.getpid(), "client": None, "broker": broker_pid()}
    with Clients(settings) as sdk_clients:
        pool = PublisherPool(sdk_clients)
        try:
            publishers = {dept: pool(dept) for dept in Department}  # no pool lock in the timed call
            w = sdk_pass(publishers, f"{mode} warm-up", warm, threads, pids,
                         bar(f"warm-up · {mode}", len(warm)))
            m = sdk_pass(publishers, mode, jobs, threads, pids, bar(mode, len(jobs)))
        finally:
            pool.close()
    return w, m


def drive_http(settings: HubSettings, workdir: Path, mode: str, client: str, options: Options,
               inputs: tuple[list[Request], list[Request]], timeout_s: float,
               bar: Callable[[str, int], Advance], console: Console) -> tuple[Pass, Pass, dict[str, Any]]:
    """A fresh ``hub serve`` (cold: its own producer, schema ids and people's keys), tokens of
    its own, the warm-up and the measured pass with ``client`` as the load generator; stopped."""
    server = IngestServer(settings, workdir / mode)
    tokens = server.issue_tokens()
    with server:
        console.print(f"{mode}: hub serve (pid {server.pid}) answering on {server.base_url} "
                      f"after {server.ready_s:.1f} s")
        pids = {"publisher": server.pid, "client": os.getpid(), "broker": broker_pid()}
        w, m = http_passes(server.base_url, tokens, *inputs, options.clients, timeout_s, pids, bar,
                           mode=mode, client=client)
    info = {"client": client, "pid": server.pid, "port": server.port, "ready_s": server.ready_s,
            "exit_code": server.stop(), "log": str(server.log_file)}
    return w, m, info


def run(options: Options, console: Console) -> dict[str, Any]:
    """Provision the prefix; each mode in turn (http modes on a server of their own), each
    checked by reading the topics back; clean up."""
    prefix, load_at_start = fresh_prefix(), load_average()
    settings = HubSettings(topic_prefix=prefix)
    workdir = Path(tempfile.mkdtemp(prefix=f"{prefix}-"))
    rng = random.Random(options.seed)
    warm_jobs, jobs = make_jobs(options.warmup, rng), make_jobs(options.events, rng)
    inputs = as_requests(warm_jobs), as_requests(jobs)
    timeout_s = max(60.0, 3 * (settings.publish_timeout_s + 1))  # a request this late has failed
    # Main pair first, then the references; each mode starts cold.
    order = [("http", "raw"), ("sdk", options.clients)]
    if options.reference:
        order += [("http_httpx", "httpx"), ("sdk_serial", 1)]
    console.print(f"prefix [bold]{prefix}[/] (work files in {workdir}): {options.warmup:,} warm-up + "
                  f"{options.events:,} events per mode, {options.clients} clients, seed {options.seed}")
    servers: dict[str, Any] = {}
    with Clients(settings) as clients:
        console.print("provisioning the prefix (topics, schemas)…")
        provision_catalogue(clients)
        state = Run(clients, console)
        try:
            with progress_bars(console, width=24) as progress:
                overall = progress.add_task("all events", total=len(order) * (len(warm_jobs) + len(jobs)))
                phase = progress.add_task("", total=1)

                def bar(label: str, total: int) -> Advance:
                    progress.reset(phase, total=total, description=label)
                    return advancer(progress, phase, overall)

                for mode, how in order:
                    if mode.startswith("http"):
                        progress.update(phase, description=f"starting hub serve · {mode}")
                        warm, measured, servers[mode] = drive_http(
                            settings, workdir, mode, str(how), options, inputs, timeout_s, bar, console)
                    else:
                        warm, measured = drive_sdk(settings, mode, int(how), warm_jobs, jobs, bar)
                    state.record(warm, measured)
                    state.check(mode)
        finally:
            if options.keep:
                console.print(f"kept topics and subjects {prefix}.…; work files in {workdir}")
            else:
                cleanup(clients, [f"{prefix}."], console,
                        [workdir, projection_path(settings, "x").parent])

    modes = state.summaries()
    ratio = ratios(modes)
    return {
        **run_header("prefix", prefix, options, settings, load_at_start, packages=PACKAGES),
        "server": {"http_stack": http_stack(), "runs": servers},
        "body_bytes_mean": statistics.mean(len(r.body) for r in inputs[1]),
        "modes": modes,
        "warmup": {mode: p.summary() for mode, p in state.warm.items()},
        "ratios": ratio,
        "target": target(modes, ratio) if "sdk" in modes else None,
        "problems": state.problems,
        "_passes": state.passes,
    }


def parse_args(argv: Sequence[str] | None) -> Options:
    parser = cli.parser("ingest", bench.ingest.__doc__)
    cli.option(parser, "--events", 2000, "measured events per mode")
    cli.option(parser, "--clients", 32, "concurrent HTTP clients (and SDK threads)")
    cli.option(parser, "--warmup", 200, "uncounted events per mode first, at the same concurrency")
    cli.add_seed(parser, 20240601)
    parser.add_argument("--no-reference", dest="reference", action="store_false",
                        help="skip the reference rows: HTTP driven by httpx, the SDK from one thread")
    cli.add_keep(parser, "topics, schema subjects and work files (the server's log, its tokens file)")
    cli.add_json(parser, "ingest")
    args = cli.parse(parser, argv, SHORT)
    if args.events < 1 or args.clients < 1 or args.warmup < 1:
        parser.error("--events, --clients and --warmup must be at least 1")
    return Options(args.events, args.clients, args.warmup, args.seed, args.reference, args.keep,
                   cli.json_path(args, "ingest"), args.short)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    return cli.run_main(options, run, render, options.json_path)
