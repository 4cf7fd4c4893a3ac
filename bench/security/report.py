"""The security benchmark's figures: the order of the clusters per round, medians over rounds,
secured ÷ plaintext ratios per round and their median, the Markdown report. No I/O here."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bench.harness.tables import markdown_table, num, per_round

MODES = ("sync", "pipelined", "read", "connect", "sdk")  # the order they run in, in each round
SECURED, PLAINTEXT = "secured", "plaintext"
SIDES = (SECURED, PLAINTEXT)
MAX_KEYS = {"max_us", "total_max_ms"}  # the maximum over rounds, not the median

Summary = Mapping[str, float | None]


def side_order(round_no: int, sides: Sequence[str] = SIDES) -> list[str]:
    """The clusters in round ``round_no`` (1-based): as given in odd rounds, reversed in even."""
    return list(sides) if round_no % 2 else list(reversed(sides))


def median_summary(summaries: Sequence[Summary]) -> dict[str, float | None]:
    """Each figure's median over rounds (the maxima: their maximum); None where a round has none."""
    out: dict[str, float | None] = {}
    for key in summaries[0]:
        values = [s.get(key) for s in summaries]
        if any(v is None for v in values):
            out[key] = None
        else:
            out[key] = max(values) if key in MAX_KEYS else statistics.median(values)
    return out


def ratio(a: float | None, b: float | None) -> float | None:
    """``a ÷ b``, or None when either is missing or ``b`` is 0."""
    return None if a is None or b is None or b == 0 else a / b


def paired_ratios(secured: Sequence[Summary], plaintext: Sequence[Summary]) -> dict[str, Any]:
    """For every figure: secured ÷ plaintext in each round, and the median of those."""
    out: dict[str, Any] = {}
    for key in secured[0]:
        rounds = [ratio(s.get(key), p.get(key)) for s, p in zip(secured, plaintext)]
        known = [r for r in rounds if r is not None]
        out[key] = {"median": statistics.median(known) if len(known) == len(rounds) and known else None,
                    "per_round": rounds}
    return out


@dataclass(frozen=True)
class Measure:
    mode: str
    key: str
    label: str
    fmt: str = ",.0f"
    diff_unit: str = ""  # shown after the secured − plaintext difference, when it means something


# Broker CPU is shown only where the window is long enough for /proc's 10 ms ticks (sync sends,
# connections); the result file has it for every mode.
MEASURES = (
    Measure("sync", "per_s", "**sync `send().get()`: events/s**"),
    Measure("sync", "p50_us", "sync: p50 µs", diff_unit=" µs"),
    Measure("sync", "p99_us", "sync: p99 µs", diff_unit=" µs"),
    Measure("sync", "max_us", "sync: max µs (over all rounds)"),
    Measure("sync", "client_cpu_us", "sync: client CPU µs per record", diff_unit=" µs"),
    Measure("sync", "broker_cpu_us", "sync: broker CPU µs per record", diff_unit=" µs"),
    Measure("pipelined", "per_s", "**pipelined (send all, flush once): events/s**"),
    Measure("pipelined", "mb_per_s", "pipelined: MB/s (key + value + headers)", ",.2f"),
    Measure("pipelined", "client_cpu_us", "pipelined: client CPU µs per record", diff_unit=" µs"),
    Measure("read", "per_s", "**read from the beginning (connected): records/s**"),
    Measure("read", "mb_per_s", "read: MB/s (key + value + headers)", ",.2f"),
    Measure("read", "client_cpu_us", "read: client CPU µs per record", ",.1f", diff_unit=" µs"),
    Measure("connect", "bootstrap_ms", "connect: new producer, bootstrap (p50 ms)", ",.1f", " ms"),
    Measure("connect", "metadata_ms", "connect: first topic metadata (p50 ms)", ",.1f", " ms"),
    Measure("connect", "first_send_ms", "connect: first send acked (leader connection, producer id; p50 ms)",
            ",.1f", " ms"),
    Measure("connect", "total_ms", "**connect: new producer to first ack (p50 ms)**", ",.1f", " ms"),
    Measure("connect", "total_p99_ms", "connect: new producer to first ack (p99 ms)", ",.1f", " ms"),
    Measure("connect", "close_ms", "connect: close (p50 ms)", ",.1f", " ms"),
    Measure("connect", "client_cpu_ms", "connect: client CPU ms per connection", ",.1f", " ms"),
    Measure("connect", "broker_cpu_ms", "connect: broker CPU ms per connection", ",.1f", " ms"),
    Measure("sdk", "per_s", "**SDK `publish_raw`: events/s**"),
    Measure("sdk", "p50_us", "SDK: p50 µs", diff_unit=" µs"),
    Measure("sdk", "p99_us", "SDK: p99 µs", diff_unit=" µs"),
    Measure("sdk", "client_cpu_us", "SDK: client CPU µs per event", diff_unit=" µs"),
)


def figures(runs: Mapping[str, Mapping[str, Sequence[Summary]]]) -> dict[str, dict[str, Any]]:
    """``{mode: {"secured": medians, "plaintext": medians, "ratios": paired ratios}}``."""
    return {mode: {SECURED: median_summary(by_side[SECURED]),
                   PLAINTEXT: median_summary(by_side[PLAINTEXT]),
                   "ratios": paired_ratios(by_side[SECURED], by_side[PLAINTEXT])}
            for mode, by_side in runs.items()}


def difference(measure: Measure, secured: float | None, plaintext: float | None) -> str:
    if not measure.diff_unit or secured is None or plaintext is None:
        return ""
    return f"{secured - plaintext:+{measure.fmt}}{measure.diff_unit}"


def comparison_table(figs: Mapping[str, Mapping[str, Any]]) -> str:
    """One row per measure: plaintext, secured (medians), the difference, the median ratio and
    the ratio in each round."""
    rows = []
    for m in MEASURES:
        if m.mode not in figs:
            continue
        fig = figs[m.mode]
        sec, plain = fig[SECURED].get(m.key), fig[PLAINTEXT].get(m.key)
        r = fig["ratios"][m.key]
        rounds = [x for x in r["per_round"] if x is not None]
        rows.append([m.label, num(plain, m.fmt), num(sec, m.fmt), difference(m, sec, plain),
                     num(r["median"], ".3f"), per_round(rounds)])
    return markdown_table(["measure", "plaintext", "SASL_SSL", "SASL_SSL − plaintext",
                           "SASL_SSL ÷ plaintext", "per round"], rows)


def warmup_note(warmed: Mapping[str, Any]) -> str:
    """What the twin's JVM warm-up did to its broker's CPU per sync record, first to last."""
    reps = warmed.get("reps") or []
    if not reps:
        return "The plaintext twin's broker had no JVM warm-up (`--twin-warmup 0`)."
    first, last = reps[0], reps[-1]
    return (f"JVM warm-up of the plaintext twin: {warmed['seconds']:.0f} s, {len(reps)} repetitions; "
            f"its broker's CPU per sync record went from {num(first['broker_cpu_us'])} µs to "
            f"{num(last['broker_cpu_us'])} µs, sync rate from {first['sync_per_s']:,.0f}/s to "
            f"{last['sync_per_s']:,.0f}/s.")


def render(results: Mapping[str, Any]) -> str:
    """The Markdown report: what ran, the comparison table, the in-process SCRAM cost."""
    opts, env, twin, figs = results["options"], results["environment"], results["twin"], results["figures"]
    how = "reused" if twin["reused"] else f"started in {twin['startup_s']:.1f} s"
    parts = [
        f"{opts['rounds']} rounds; per cluster and round: {opts['events']:,} sync sends, "
        f"{opts['pipelined']:,} pipelined, a {opts['read_records']:,}-record read, "
        f"{opts['connections']} new producers"
        + (f", {opts['events']:,} SDK publishes" if opts["sdk"] else "")
        + f". Records: the SDK's bytes for a seeded mix of the six registration types, mean value "
        f"{results['value_bytes_mean']:.0f} B, mean key + value + headers "
        f"{results['record_bytes_mean']:.0f} B. Figures: median over rounds (max: over all rounds); "
        f"ratios: per round, then the median. Plaintext twin at {twin['bootstrap_servers']} "
        f"({how}); secured "
        f"stack at {env['bootstrap_servers']}. Load average (1 min) {env['load_average_at_start'][0]:.2f} "
        f"at the start, {env['load_average_1_5_15'][0]:.2f} at the end, on {env['cpus']} CPUs.",
        "",
        comparison_table(figs),
        "",
        warmup_note(twin.get("jvm_warmup") or {}),
        "",
        (f"In-process, one SCRAM-SHA-512 salted password (PBKDF2, {results['scram_iterations']:,} "
         f"iterations, what the client computes once per authenticated connection): "
         f"{results['pbkdf2_ms']:.1f} ms."),
    ]
    if results.get("problems"):
        parts += ["", "**Check failed:** " + "; ".join(results["problems"])]
    elif results.get("checked"):
        parts += ["", ("Check passed: both clusters hold every record each mode sent, and the same "
                       "number.")]
    return "\n".join(parts)
