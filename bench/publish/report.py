"""The publish benchmark's figures: medians over rounds, paired ratios, the Markdown report."""

from __future__ import annotations

import statistics
from typing import Any, Protocol

from hdrh.histogram import HdrHistogram

from bench.harness.tables import markdown_table, per_round
from bench.publish.stages import STAGES

PAIRS = {"sdk": "raw", "sdk_linger5": "raw_linger5"}  # SDK mode -> its raw baseline
LABELS = {
    "raw": "raw kafka-python, sync, linger 0 (SDK's producer config)",
    "sdk": "**SDK `publish_raw`, sync, linger 0 (as shipped)**",
    "raw_linger5": "raw kafka-python, sync, linger 5 ms",
    "sdk_linger5": "SDK `publish_raw`, sync, linger 5 ms",
    "raw_pipelined": "raw, pipelined, linger 0 (reference: SDK has no async publish)",
}
BASELINE = PAIRS | {"raw_pipelined": "raw"}


class Summarised(Protocol):
    def summary(self) -> dict[str, float]: ...


def median_summary(runs: list[Summarised]) -> dict[str, float]:
    """Median over rounds of each figure; ``max_us`` is the max over all rounds."""
    summaries = [r.summary() for r in runs]
    out = {k: statistics.median(s[k] for s in summaries) for k in summaries[0]}
    out["max_us"] = max(s["max_us"] for s in summaries)
    return out


def paired_ratios(runs: list[Summarised], baseline: list[Summarised]) -> dict[str, Any]:
    """Mode/baseline per round (same round, so same machine state), then the median over rounds."""
    thr, p50, p99 = [], [], []
    for run_, base in zip(runs, baseline):
        s, r = run_.summary(), base.summary()
        thr.append(s["events_per_s"] / r["events_per_s"])
        p50.append(s["p50_us"] / r["p50_us"])
        p99.append(s["p99_us"] / r["p99_us"])
    return {
        "throughput": statistics.median(thr),
        "p50": statistics.median(p50),
        "p99": statistics.median(p99),
        "throughput_per_round": thr,
        "p50_per_round": p50,
    }


def publish_table(summaries: dict[str, dict[str, float]], ratios: dict[str, dict[str, Any]]) -> str:
    """The Markdown table of the live modes, with each mode's paired ratio to its raw baseline."""
    rows = []
    for mode, s in summaries.items():
        ratio = ratios.get(mode)
        vs = [f"{ratio['throughput']:.3f}", f"{ratio['p50']:.3f}"] if ratio else ["(baseline)"] * 2
        rows.append([LABELS[mode], f"{s['events_per_s']:,.0f}", f"{s['p50_us']:,.0f}",
                     f"{s['p99_us']:,.0f}", f"{s['p999_us']:,.0f}", f"{s['max_us']:,.0f}", *vs])
    return markdown_table(["mode", "events/s", "p50 µs", "p99 µs", "p99.9 µs", "max µs",
                           "events/s ÷ baseline", "p50 ÷ baseline"], rows)


def stage_table(hists: dict[str, HdrHistogram]) -> str:
    """The Markdown table of in-process stage costs (µs, from ns histograms).

    Shares are of the p50s: means are pulled about by GC pauses that land in whichever stage
    happens to be running.
    """
    p50 = {name: h.get_value_at_percentile(50) for name, h in hists.items()}
    total = p50["publish"]
    rows = [[title, f"{p50[name] / 1000:,.1f}", f"{hists[name].get_value_at_percentile(99) / 1000:,.1f}",
             f"{hists[name].get_mean_value() / 1000:,.1f}", f"{100 * p50[name] / total:.0f}%"]
            for name, title in STAGES.items()]
    rest = total - p50["seal"] - p50["serialise"]
    rows.append(["≈ rest of `publish_raw` (spec lookup, headers, `Receipt`, log call, capture)",
                 f"{rest / 1000:,.1f}", "", "", f"{100 * rest / total:.0f}%"])
    return markdown_table(["stage (in-process, no broker)", "p50 µs", "p99 µs", "mean µs",
                           "p50 as % of `publish_raw` p50"], rows)


def render(results: dict[str, Any]) -> str:
    """The Markdown report: live-mode table, the SDK's overhead, the stage table."""
    ratios, pub, opts = results["ratios"], results["publish"], results["options"]
    stages, env = results["stages_us"], results["environment"]
    parts = [
        f"{opts['events']} events × {opts['rounds']} rounds per mode (figures: median over rounds, "
        f"max: over all rounds; ratios: paired per round, then median); {opts['warmup']} warm-up "
        f"events per mode not counted; event type: {opts['event_type'] or 'mix of six'}; mean value "
        f"size {results['value_bytes_mean']:.0f} B; in-process `publish_raw` p50 "
        f"{stages['publish']['p50']:,.0f} µs; load average (1 min) at start "
        f"{env['load_average_at_start'][0]:.2f}, at end {env['load_average_1_5_15'][0]:.2f} "
        f"on {env['cpus']} CPUs.",
        "",
        publish_table(pub, ratios),
        "",
    ]
    for mode in PAIRS:
        if mode in ratios:
            r, base = ratios[mode], PAIRS[mode]
            parts.append(
                f"* **{mode} ÷ {base}**: throughput {r['throughput']:.3f}×, p50 {r['p50']:.3f}×, "
                f"p99 {r['p99']:.3f}× — {pub[mode]['p50_us'] - pub[base]['p50_us']:+,.0f} µs at p50 "
                f"(per round: {per_round(r['throughput_per_round'])})."
            )
    parts += ["", stage_table(results["_stage_hists"])]
    if results["problems"]:
        parts += ["", "**Check failed:** " + "; ".join(results["problems"])]
    elif opts["check"]:
        parts += ["", "Check passed: the SDK topics, read back, hold exactly the message shapes (key, "
                      "value length, schema id, headers) the raw modes replayed; the raw topics hold "
                      "every message sent."]
    return "\n".join(parts)
