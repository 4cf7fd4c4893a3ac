"""The ingest benchmark's figures: the table of modes, HTTP ÷ SDK, against the issue's target."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bench.harness.tables import markdown_table, num

LABELS = {
    "http": "**HTTP `POST /v1/events/{type}` → `hub serve`** (minimal asyncio client)",
    "sdk": "**SDK `publish_raw`**, one `PublisherPool`, threads",
    "http_httpx": "HTTP → `hub serve`, driven by httpx `AsyncClient` (reference)",
    "sdk_serial": "SDK `publish_raw`, one thread (reference: as the publish benchmark)",
}
PAIRS = (("http", "sdk"), ("http", "sdk_serial"), ("http_httpx", "sdk"))  # (mode, ÷ baseline)
TARGET_RATIO, TARGET_P99_MS = 0.8, 50.0  # issue 14: ≥ 0.8× the SDK's rate, p99 ≤ 50 ms


def ratios(modes: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each HTTP mode ÷ an SDK mode (:data:`PAIRS`, those that ran): rate, p50, p99."""
    def over(x: float | None, y: float | None) -> float | None:
        return x / y if x is not None and y else None

    out: dict[str, dict[str, Any]] = {}
    for mode, base in PAIRS:
        if mode in modes and base in modes:
            m, b = modes[mode], modes[base]
            out[f"{mode}/{base}"] = {
                "mode": mode, "baseline": base,
                "events_per_s": over(m["events_per_s"], b["events_per_s"]),
                "p50": over(m["latency_ms"]["p50_ms"], b["latency_ms"]["p50_ms"]),
                "p99": over(m["latency_ms"]["p99_ms"], b["latency_ms"]["p99_ms"]),
            }
    return out


def target(modes: Mapping[str, Mapping[str, Any]], ratio: Mapping[str, Any]) -> dict[str, Any]:
    """Issue 14's target for HTTP ingest: at least 0.8× the SDK's rate (same concurrency), p99 at
    most 50 ms."""
    rate = ratio.get("http/sdk", {}).get("events_per_s")
    p99 = modes["http"]["latency_ms"]["p99_ms"] if "http" in modes else None
    return {"ratio": rate, "ratio_target": TARGET_RATIO, "ratio_met": rate is not None and rate >= TARGET_RATIO,
            "p99_ms": p99, "p99_target_ms": TARGET_P99_MS, "p99_met": p99 is not None and p99 <= TARGET_P99_MS}


def _cpu(s: Mapping[str, Any], who: str, key: str, fmt: str) -> str:
    figures = (s.get("cpu") or {}).get(who)
    return num(figures.get(key) if figures else None, fmt)


def checks_cell(s: Mapping[str, Any]) -> str:
    found = s.get("problems") or []
    if s.get("failed"):
        found = [f"{sum(s['failed'].values())} not accepted", *found]
    return "pass" if not found else "**FAIL**: " + "; ".join(found)


def modes_table(modes: Mapping[str, Mapping[str, Any]]) -> str:
    rows = []
    for mode, s in modes.items():
        lat = s["latency_ms"]
        rows.append([LABELS.get(mode, mode), f"{s['events']:,}", str(s["concurrency"]), num(s["events_per_s"]),
                     num(lat["p50_ms"], ",.1f"), num(lat["p90_ms"], ",.1f"), num(lat["p99_ms"], ",.1f"),
                     num(lat["max_ms"], ",.1f"), _cpu(s, "publisher", "pct_of_core", ",.0f"),
                     _cpu(s, "publisher", "ms_per_event", ",.2f"), _cpu(s, "client", "pct_of_core", ",.0f"),
                     _cpu(s, "broker", "pct_of_core", ",.0f"), num((s.get("cpu") or {}).get("machine_busy_pct")),
                     checks_cell(s)])
    return markdown_table(["mode", "events", "clients", "requests/s", "p50 ms", "p90 ms", "p99 ms", "max ms",
                           "publisher CPU, % of a core", "publisher CPU ms/request",
                           "load generator CPU, %", "broker CPU, %", "machine busy, %", "checks"], rows)


def ratio_lines(modes: Mapping[str, Mapping[str, Any]], ratio: Mapping[str, Mapping[str, Any]]) -> list[str]:
    lines = []
    for r in ratio.values():
        threads = modes[r["baseline"]]["concurrency"]
        lines.append(f"* **{r['mode']} ÷ {r['baseline']}** ({threads} {'thread' if threads == 1 else 'threads'}): "
                     f"requests/s **{num(r['events_per_s'], '.3f')}×**, p50 {num(r['p50'], '.2f')}×, "
                     f"p99 {num(r['p99'], '.2f')}×.")
    return lines


def target_line(t: Mapping[str, Any]) -> str:
    def met(ok: bool) -> str:
        return "met" if ok else "**not met**"

    return (f"Issue 14's target for HTTP ingest: ≥ {t['ratio_target']}× the SDK's rate at the same "
            f"concurrency — {num(t['ratio'], '.3f')}×, {met(t['ratio_met'])}; p99 ≤ "
            f"{t['p99_target_ms']:g} ms — {num(t['p99_ms'], ',.1f')} ms, {met(t['p99_met'])}.")


def render(results: Mapping[str, Any]) -> str:
    opts, env, modes = results["options"], results["environment"], results["modes"]
    server = results["server"]
    ready = ", ".join(f"{run['ready_s']:.1f} s" for run in server["runs"].values())
    parts = [
        (f"{opts['events']:,} events per mode ({opts['warmup']:,} warm-up events first, not counted), "
        f"{opts['clients']} concurrent clients, seed {opts['seed']}, mix of the six registration types, "
        f"mean body {results['body_bytes_mean']:.0f} B of JSON. `hub serve` (uvicorn "
        f"{env['packages'].get('uvicorn')}, one worker, {server['http_stack']}; a fresh one per HTTP "
        f"mode) answered after {ready}. Load average (1 min) at start {env['load_average_at_start'][0]:.2f}, "
        f"at end {env['load_average_1_5_15'][0]:.2f} on {env['cpus']} CPUs."),
        "",
        modes_table(modes),
        "",
        ("Publisher CPU: the process that validates, seals and produces — `hub serve` for the HTTP "
         "modes, this process for the SDK modes. Load generator: this process while it drives HTTP. "
         "CPU from /proc over the pass; machine busy is the share of all CPUs."),
        "",
        *ratio_lines(modes, results["ratios"]),
    ]
    if results.get("target"):
        parts += ["", target_line(results["target"])]
    if results["problems"]:
        parts += ["", "**Check failed:** " + "; ".join(results["problems"])]
    else:
        parts += ["", ("Checks passed: every request was accepted (202 and a receipt) and every SDK "
                       "call returned one; read back, each mode's topics hold every acknowledged event "
                       "id exactly once, on its receipt's topic, and no id that no receipt names.")]
    return "\n".join(parts)
