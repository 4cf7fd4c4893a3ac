"""The routing benchmark's Markdown report: throughput table, latency table, stage table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hdrh.histogram import HdrHistogram

from bench.route import router_metrics
from bench.harness.tables import markdown_table, num, per_round
from bench.route.latency import SEGMENTS
from bench.route.stages import INBOX_STAGES, STAGES

LABELS = {
    "router": "**router: `hub worker` as shipped**",
    "faust_raw": "raw pass-through, faust (router's settings, concurrency 1, awaited sends)",
    "faust_fanout": "faust pass-through writing the router's record count (items + 1) per event",
    "quix_raw": "raw pass-through, Quix Streams (librdkafka; sends not awaited, at-least-once "
                "checkpoint every 5 s; reference)",
    "kafka_python_raw": "raw pass-through, kafka-python (`send().get()`, commit per batch; reference)",
    "inbox_fleet": "inbox: six reference agencies (`AgencyFleet`, one process) on the router's items",
}
LATENCY_ROWS = {
    "item": "**item: due → COMPLETED outcome read**",
    "item_from_send": "item: send start → COMPLETED outcome read",
    "case": "case: due → last item's final outcome read",
    **{name: f"· {title}" for name, title in SEGMENTS.items()},
    "lag": "generator lag: due → send start",
}


def throughput_table(summaries: Mapping[str, Mapping[str, Any]],
                     ratios: Mapping[str, Mapping[str, Any]]) -> str:
    rows = []
    for mode, s in summaries.items():
        vs = "(baseline)" if mode == "faust_raw" else num(ratios.get(mode, {}).get("ratio"), ".3f")
        if mode == "inbox_fleet":
            vs = "–"
        rows.append([LABELS[mode], num(s["events_per_s"]), num(s["events_per_s_middle"]),
                     num(s["items_per_s"]), num(s["longest_pause_ms"]), num(s["startup_s"], ".1f"),
                     num(s["process_cpu_pct"]), num(s["process_cpu_ms_per_unit"], ".2f"),
                     num(s["broker_cpu_pct"]), num(s["machine_busy_pct"]), vs])
    return markdown_table(
        ["mode", "events/s in", "events/s, middle 80%", "items/s out", "longest pause ms",
         "start-up to first output s", "process CPU, % of a core",
         "process CPU ms per event (fleet: per item)", "broker CPU, % of a core",
         "machine busy, % of all cores", "events/s ÷ faust raw"], rows)


QUANTILES = ("p50_ms", "p90_ms", "p99_ms", "max_ms")


def latency_table(ms: Mapping[str, Mapping[str, float]],
                  corrected: Mapping[str, Mapping[str, float]] | None = None) -> str:
    """Raw percentiles; with ``corrected``, the corrected ones in the main columns and the raw
    p50 / p90 / p99 in one column beside them (count and max are the raw histogram's)."""
    if corrected is None:
        return markdown_table(
            ["measured", "count", "p50 ms", "p90 ms", "p99 ms", "max ms"],
            ([title, f"{ms[name]['count']:,}", *(f"{ms[name][k]:,.1f}" for k in QUANTILES)]
             for name, title in LATENCY_ROWS.items()))
    return markdown_table(
        ["measured", "count", "p50 ms, corrected", "p90 ms, corrected", "p99 ms, corrected", "max ms",
         "raw p50 / p90 / p99 ms"],
        ([title, f"{ms[name]['count']:,}",
          *(f"{corrected[name][k]:,.1f}" for k in QUANTILES[:3]), f"{ms[name]['max_ms']:,.1f}",
          " / ".join(f"{ms[name][k]:,.1f}" for k in QUANTILES[:3])]
         for name, title in LATENCY_ROWS.items()))


def rate_line(lat: Mapping[str, Any]) -> str:
    """The open-loop rate beside the router's maximum measured in the same run."""
    rate, maximum = lat["rate"], lat.get("router_max_per_s")
    if lat.get("rate_source") == "fraction":
        how = f" ({lat['rate_fraction']:g} × the maximum, rounded; `--rate-fraction`)"
    elif lat.get("rate_fraction") is not None:
        how = f" (`--rate`: `--rate-fraction {lat['rate_fraction']:g}` had no maximum to apply to)"
    else:
        how = " (`--rate`)"
    if not maximum:
        return (f"Open-loop rate {rate:g}/s{how}; no router maximum measured in this run "
                f"(no throughput part), so no share of it to give.")
    rounds = lat.get("router_max_rounds") or 0
    return (f"Open-loop rate {rate:g}/s{how} = **{100 * rate / maximum:.0f} %** of the router's maximum "
            f"{maximum:,.0f} events/s measured in this run (throughput part, median over {rounds} "
            f"round(s)).")


def stage_table(hists: Mapping[str, HdrHistogram]) -> str:
    return markdown_table(
        ["stage (in-process, no broker)", "p50 µs", "p99 µs", "mean µs"],
        ([title, f"{hists[name].get_value_at_percentile(50) / 1000:,.1f}",
          f"{hists[name].get_value_at_percentile(99) / 1000:,.1f}",
          f"{hists[name].get_mean_value() / 1000:,.1f}"]
         for name, title in (STAGES | INBOX_STAGES).items() if name in hists))


def throughput_part(results: Mapping[str, Any], head: str) -> list[str]:
    opts, t = results["options"], results["throughput"]
    what = (f"{opts['events']:,} pre-published events (mix of six, {t['items_per_round']:,} inbox "
            f"items) × {opts['rounds']} round(s)")
    how = ("median over rounds, longest pause: max; router ÷ faust raw paired per round "
           f"({per_round(t['ratios']['router']['per_round'])})")
    parts = [f"**Throughput**: {what}; {how}; {head}.", "", throughput_table(t["modes"], t["ratios"]), ""]
    if t.get("inbox_fleet_statuses"):
        parts += [f"Inbox fleet (round 1 only): final outcomes {t['inbox_fleet_statuses']}.", ""]
    if t["ratios"].get("quix_raw", {}).get("ratio"):
        r = t["ratios"]["quix_raw"]
        parts += [f"Quix Streams ÷ faust raw pass-through: {r['ratio']:.3f} "
                  f"(per round: {per_round(r['per_round'])}).", ""]
    if t.get("router_vs_fanout", {}).get("ratio"):
        r = t["router_vs_fanout"]
        parts += [f"Router ÷ fan-out pass-through (same records written per event): "
                  f"{r['ratio']:.3f} (per round: {per_round(r['per_round'])}).", ""]
    return parts


def latency_part(lat: Mapping[str, Any]) -> list[str]:
    lag, corrected, senders = lat["ms"]["lag"], lat.get("ms_corrected"), lat.get("senders")
    note = ([f"Corrected: each value also recorded with HdrHistogram's expected-interval correction "
             f"(`record_corrected_value`, interval 1/rate = {lat['interval_us'] / 1000:g} ms); raw: as "
             f"measured from the due time, so the correction only adds lower values: the raw "
             f"percentiles are the measurement.", ""] if corrected else [])
    return [
        f"**End-to-end latency**: {lat['events']} events open-loop at {lat['rate']:g}/s"
        f"{f' from {senders} sender threads' if senders else ''} "
        f"(achieved {num(lat['achieved_rate'], '.2f')}/s), {lat['items_expected']} items, "
        f"final outcomes {lat['statuses']}; generator lag p99 {lag['p99_ms']:.1f} ms, max "
        f"{lag['max_ms']:.1f} ms, {lat['sends_late_by_a_period']} send(s) later than one period; "
        f"load average before {lat['load_average_before'][0]:.2f}.",
        "",
        rate_line(lat),
        "",
        *note,
        latency_table(lat["ms"], corrected),
        "",
        *(router_metrics.table_lines(lat["router_stages"]) if lat.get("router_stages") else []),
        "DELIVERED → COMPLETED by the number of items in the item's event (p50 / p90 ms): "
        + "; ".join(f"{k}: {v['p50_ms']:.1f} / {v['p90_ms']:.1f} (n={v['count']})"
                    for k, v in lat["handle_ms_by_items_in_event"].items()) + ".",
        "",
    ]


def render(results: Mapping[str, Any]) -> str:
    env, parts = results["environment"], []
    head = (f"load average (1 min) {env['load_average_at_start'][0]:.2f} at the start, "
            f"{env['load_average_1_5_15'][0]:.2f} at the end, on {env['cpus']} CPUs")
    if "throughput" in results:
        parts += throughput_part(results, head)
    if "latency" in results:
        parts += latency_part(results["latency"])
    if "_stage_hists" in results:
        parts += [stage_table(results["_stage_hists"]), ""]
    if results["problems"]:
        parts += ["**Problems:** " + "; ".join(results["problems"])]
    return "\n".join(parts).rstrip()
