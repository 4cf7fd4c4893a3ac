"""The security benchmark's options and run: the twin up, inputs, rounds, check, clean up."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

import bench.security
from bench.harness import cli
from bench.harness.progress import progress_bars
from bench.harness.results import load_average, run_header
from bench.harness.stack import cleanup, fresh_prefix
from bench.publish.inputs import make_jobs
from bench.security import twin as twins
from bench.security.inputs import Counts, backlog_topic, cycled, prepare_cluster, sizes
from bench.security.live import (
    Side,
    Workload,
    jvm_warmup,
    pbkdf2_ms,
    run_rounds,
    write_backlog,
)
from bench.security.report import MODES, PLAINTEXT, SECURED, figures, render
from bench.workload import capture_records
from hub.config import HubSettings
from hub.devstack.health import kafka_health, registry_health
from hub.kafka.admin import end_offsets
from hub.kafka.clients import Clients
from hub.kafka.scram import ITERATIONS
from hub.kafka.topic_names import TopicNames

# `--short` (make bench-all): the twin's start-up and a short warm-up, then two small rounds.
SHORT = {"events": 200, "pipelined": 2000, "read_records": 5000, "connections": 3, "rounds": 2,
         "warmup": 50, "twin_warmup": 5.0}


@dataclass
class Options:
    events: int
    pipelined: int
    read_records: int
    connections: int
    rounds: int
    warmup: int
    seed: int
    sdk: bool
    check: bool
    keep: bool
    keep_topics: bool
    twin_warmup: float
    twin_state_dir: Path
    json_path: Path | None
    short: bool = False

    def modes(self) -> tuple[str, ...]:
        return tuple(m for m in MODES if m != "sdk" or self.sdk)

    def counts(self) -> Counts:
        return Counts(self.events, self.pipelined, self.warmup, self.connections, self.rounds,
                      self.sdk)


class StackDown(RuntimeError):
    pass


def secured_settings(prefix: str) -> HubSettings:
    """The dev stack at the hub's settings (the environment's ``HUB_*``), as its operator."""
    settings = HubSettings(topic_prefix=prefix)
    if settings.kafka_security != "sasl_ssl":
        raise StackDown("the hub's settings say kafka_security=plaintext: this benchmark compares "
                        "the secured (sasl_ssl) dev stack with a plaintext twin")
    return settings


def check_secured_up(settings: HubSettings) -> None:
    """The shared dev stack must answer already: this benchmark never starts or stops it."""
    with Clients(settings) as clients:
        kafka = kafka_health(clients)
    registry = registry_health(settings.schema_registry_url)
    if not (kafka and registry):
        raise StackDown(f"the secured dev stack does not answer (kafka: {kafka.detail}; registry: "
                        f"{registry.detail}); run `hub dev up` (or `make bench-security`)")


def check_counts(clients: Clients, counts: Counts, read_records: int) -> list[str]:
    """Does the cluster hold every record the modes sent to its event topics and its backlog?"""
    prefix = clients.settings.topic_prefix
    problems = []
    held = sum(end_offsets(clients, TopicNames(prefix).all_events()).values())
    if held != counts.expected_event_records():
        problems.append(f"{clients.settings.bootstrap_servers}: the event topics hold {held} "
                        f"records, expected {counts.expected_event_records()}")
    backlog = sum(end_offsets(clients, [backlog_topic(prefix)]).values())
    if backlog != read_records:
        problems.append(f"{clients.settings.bootstrap_servers}: the backlog holds {backlog} "
                        f"records, expected {read_records}")
    return problems


def run(options: Options, console: Console) -> dict[str, Any]:
    prefix, load_at_start = fresh_prefix(), load_average()
    secured = secured_settings(prefix)
    check_secured_up(secured)
    console.print(f"secured dev stack at {secured.bootstrap_servers} (SASL_SSL, as "
                  f"{secured.principal}); plaintext twin in {options.twin_state_dir}")
    twin = twins.bring_up(options.twin_state_dir, secured, say=lambda m: console.print(f"twin · {m}"))
    plain = twin.settings.model_copy(update={"topic_prefix": prefix})
    console.print(f"plaintext twin at {plain.bootstrap_servers} "
                  f"({'reused' if twin.reused else f'started in {twin.startup_s:.1f} s'}); "
                  f"prefix [bold]{prefix}[/]")
    problems: list[str] = []
    warmed: dict[str, Any] = {}
    try:
        rng = random.Random(options.seed)
        warm_jobs = make_jobs(options.warmup, rng)
        jobs = make_jobs(max(options.events, options.pipelined), rng)
        with Clients(secured) as sec_clients, Clients(plain) as plain_clients:
            try:
                console.print("topics and schemas on both clusters; capturing the SDK's bytes…")
                prepare_cluster(sec_clients)
                prepare_cluster(plain_clients)
                captured = capture_records(secured, [*warm_jobs, *jobs])
                warm_records, records = captured[:len(warm_jobs)], captured[len(warm_jobs):]
                work = Workload(
                    warm_jobs=warm_jobs, jobs=jobs[:options.events], warm_records=warm_records,
                    records=records[:options.events], pipelined=records[:options.pipelined],
                    backlog=cycled(records, options.read_records),
                    partitions=secured.topic_partitions, connections=options.connections,
                    modes=options.modes())
                sides = {SECURED: Side.open(SECURED, secured, options.sdk),
                         PLAINTEXT: Side.open(PLAINTEXT, plain, options.sdk)}
                try:
                    with progress_bars(console, width=34) as progress:
                        write_backlog(list(sides.values()), work, progress)
                        if options.twin_warmup > 0:
                            warmed = jvm_warmup(sides[PLAINTEXT], work, options.twin_warmup, progress)
                        runs = run_rounds(sides, work, options.rounds, progress)
                finally:
                    for side in sides.values():
                        side.close()
                if options.check:
                    console.print("counting what both clusters hold…")
                    for clients in (sec_clients, plain_clients):
                        problems += check_counts(clients, options.counts(), options.read_records)
            finally:
                if not options.keep_topics:
                    cleanup(sec_clients, [f"{prefix}."], console)
                    cleanup(plain_clients, [f"{prefix}."], console)
    finally:
        if options.keep:
            console.print(f"plaintext twin left running at {plain.bootstrap_servers} "
                          f"(state in {twin.state_dir}; the next run reuses it)")
        else:
            twins.stop(twin, say=lambda m: console.print(f"twin · {m}"))

    return {
        **run_header("prefix", prefix, options, secured, load_at_start),
        "twin": {"bootstrap_servers": plain.bootstrap_servers,
                 "schema_registry_url": plain.schema_registry_url,
                 "state_dir": str(twin.state_dir), "reused": twin.reused,
                 "startup_s": round(twin.startup_s, 2), "jvm_warmup": warmed},
        **sizes(records),
        "scram_iterations": ITERATIONS,
        "pbkdf2_ms": pbkdf2_ms(ITERATIONS),
        "figures": figures(runs),
        "rounds": runs,
        "checked": options.check,
        "problems": problems,
    }


def parse_args(argv: Sequence[str] | None) -> Options:
    parser = cli.parser("security", bench.security.__doc__)
    cli.option(parser, "--events", 1000, "sync sends (and SDK publishes) per cluster per round")
    cli.option(parser, "--pipelined", 10000, "pipelined sends per cluster per round")
    cli.option(parser, "--read-records", 30000, "records in the backlog each round reads back")
    cli.option(parser, "--connections", 20, "new producers per cluster per round")
    cli.option(parser, "--rounds", 5, "rounds; the order of the two clusters alternates")
    cli.option(parser, "--warmup", 200, "uncounted sync sends and SDK publishes per cluster first")
    cli.add_seed(parser, 20240601)
    parser.add_argument("--no-sdk", dest="sdk", action="store_false",
                        help="skip the SDK `publish_raw` mode")
    parser.add_argument("--no-check", dest="check", action="store_false",
                        help="skip counting the records each cluster holds afterwards")
    parser.add_argument("--keep", action="store_true",
                        help="leave the plaintext twin running (the next run reuses it)")
    parser.add_argument("--keep-topics", action="store_true",
                        help="keep this run's topics and schema subjects on both clusters")
    cli.option(parser, "--twin-warmup", 45.0,
               "seconds of load on the plaintext twin's broker before anything is timed, so that "
               "its JVM is as warm as the long-running dev broker's (0: none)")
    parser.add_argument("--twin-state-dir", type=Path, default=twins.DEFAULT_STATE_DIR,
                        help=f"state directory of the plaintext twin (default {twins.DEFAULT_STATE_DIR})")
    cli.add_json(parser, "security")
    args = cli.parse(parser, argv, SHORT)
    if args.twin_warmup < 0:
        parser.error("--twin-warmup cannot be negative")
    if min(args.events, args.pipelined, args.read_records, args.connections, args.rounds,
           args.warmup) < 1:
        parser.error("--events, --pipelined, --read-records, --connections, --rounds and --warmup "
                     "must be at least 1")
    return Options(args.events, args.pipelined, args.read_records, args.connections, args.rounds,
                   args.warmup, args.seed, args.sdk, args.check, args.keep, args.keep_topics,
                   args.twin_warmup, args.twin_state_dir, cli.json_path(args, "security"), args.short)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    try:
        return cli.run_main(options, run, render, options.json_path)
    except StackDown as exc:
        Console(stderr=True).print(f"[red]{exc}")
        return 2
