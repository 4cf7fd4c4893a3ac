"""The memory benchmark's Markdown report: the summary, the curve, the restarts, the checks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bench.harness.tables import markdown_table, num


def summary_table(summary: Mapping[str, Any]) -> str:
    steady = summary.get("steady", {})
    rows = [
        ("max RSS", (f"{num(summary.get('max_rss_mb'), '.1f')} MB (at {num(summary.get('max_rss_at_routed'), ',')} events; "
                    f"limit {num(summary.get('limit_mb'), 'g')} MB)")),
        ("with the deadline check's child", (f"{num(summary.get('max_with_children_mb'), '.1f')} MB at most, router and "
                                             f"child together (the child alone: {num(summary.get('max_children_mb'), '.1f')} MB at most)")),
        ("RSS at the end", (f"{num(summary.get('end_rss_mb'), '.1f')} MB (main worker, "
                           f"{num(summary.get('end_at_routed'), ',')} events)")),
        ("steady segment", (f"worker {steady.get('worker', '–')}, events {num(steady.get('from_routed'), ',')}"
                           f" → {num(steady.get('to_routed'), ',')}")),
        ("RSS first → last", (f"{num(steady.get('first_rss_mb'), '.1f')} → {num(steady.get('last_rss_mb'), '.1f')} MB "
                             f"({num(steady.get('growth_mb'), '+.1f')} MB)")),
        ("RSS min … max", f"{num(steady.get('min_rss_mb'), '.1f')} … {num(steady.get('max_rss_mb'), '.1f')} MB"),
        ("slope", f"{num(steady.get('slope_mb_per_100k'), '+.2f')} MB per 100k events"),
        ("events/s", (f"{num(summary.get('events_per_s'), ',.0f')} overall (restarts included), "
                     f"{num(steady.get('events_per_s'), ',.0f')} in the steady segment")),
        ("worker CPU", f"{num(summary.get('worker_cpu_pct'), '.0f')} % of one core (main worker)"),
    ]
    return markdown_table(("", "figure"), rows)


def curve_table(curve: list[Mapping[str, Any]]) -> str:
    rows = [(f"{r['routed']:,}", num(r["rss_mb"], ".1f"), num(r.get("disk_mb"), ".1f"),
             num(r.get("events_per_s"), ",.0f"), str(r["worker"]), num(r["t_s"], ",.0f"))
            for r in curve]
    return markdown_table(("events routed", "RSS MB", "tables on disk MB", "events/s", "worker", "s"), rows)


def restart_table(restarts: list[Mapping[str, Any]]) -> str:
    rows = [(r["label"], f"{r['history_events']:,}", num(r.get("stop_s"), ".1f"),
             num(r.get("until_routed_s"), ".1f"), num(r.get("rss_before_mb"), ".1f"),
             num(r.get("rss_after_mb"), ".1f")) for r in restarts]
    return markdown_table(("restart", "history (events)", "stop s", "start → first event routed s",
                           "RSS before MB", "RSS after MB"), rows)


def render(results: Mapping[str, Any]) -> str:
    out = [f"## Router memory — run {results.get('run_prefix')}", ""]
    if results.get("note"):
        out += [f"_{results['note']}_", ""]
    if results.get("summary"):
        out += [summary_table(results["summary"]), ""]
    if results.get("curve"):
        out += ["### RSS against events routed", "", curve_table(results["curve"]), ""]
    if results.get("restarts"):
        out += ["### Restarts", "", restart_table(results["restarts"]), ""]
    check = results.get("checks")
    if check:
        out += [(f"Checks: {check['published']:,} published, {check['committed']:,} committed, "
                f"{check['routing_decisions']:,} routing decisions ({check['rerouted']:,} re-routed), "
                f"{check['dead_letters']} dead letters, unrouted {check['unrouted'] or 'none'}; "
                f"case projection on disk {num(results.get('projection_mb'), '.1f')} MB."), ""]
    problems = results.get("problems") or []
    out += ["Problems: " + ("none" if not problems else "; ".join(problems))]
    return "\n".join(out)
