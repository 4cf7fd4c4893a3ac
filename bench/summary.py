"""One screen over a ``make bench-all`` run: each bench's headline figure and ratio, and its verdict.

    .venv/bin/python -m bench.summary bench/results/all-20261203-101500   # (default: the latest)

``make bench-all`` runs every bench in its short mode with ``--json <dir>/<name>.json``, its
report to ``<dir>/<name>.md``, its progress and errors to ``<dir>/<name>.log``, and writes
``<dir>/<name>.status`` (the exit code and the wall seconds) when it ends. This reads them back:
a bench failed if it exited non-zero, wrote no JSON, or its JSON lists problems. Exit code 1 if
any did. A bench this module has no headline for shows its JSON's ``headline`` key (``{"figure":
…, "ratio": …}``) if it has one.
"""

from __future__ import annotations

import json
import statistics
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.harness.results import RESULTS_DIR

ORDER = ("publish", "route", "inbox", "timeline", "replay", "verify", "security", "shredding", "rss",
         "ingest")
Results = Mapping[str, Any]


def dig(results: Any, *path: str) -> Any:
    """``results[path[0]][path[1]]…``, or None where a key is missing."""
    for key in path:
        if not isinstance(results, Mapping) or key not in results:
            return None
        results = results[key]
    return results


def fmt(value: Any, spec: str = ",.0f", unit: str = "") -> str:
    return "–" if not isinstance(value, (int, float)) else f"{value:{spec}}{unit}"


def times(value: Any) -> str:
    """A ratio as ``0.812×``."""
    return fmt(value, ".3f", "×")


def publish(r: Results) -> tuple[str, str]:
    sdk = dig(r, "publish", "sdk") or {}
    return (f"SDK publish_raw {fmt(sdk.get('events_per_s'))} events/s, p50 {fmt(sdk.get('p50_us'))} µs",
            f"SDK ÷ raw: events/s {times(dig(r, 'ratios', 'sdk', 'throughput'))}, "
            f"p50 {times(dig(r, 'ratios', 'sdk', 'p50'))}")


def route(r: Results) -> tuple[str, str]:
    return (f"router {fmt(dig(r, 'throughput', 'modes', 'router', 'events_per_s'))} events/s; item "
            f"due → COMPLETED p50 {fmt(dig(r, 'latency', 'ms', 'item', 'p50_ms'), ',.1f')} ms",
            f"router ÷ faust raw: events/s {times(dig(r, 'throughput', 'ratios', 'router', 'ratio'))}")


def inbox(r: Results) -> tuple[str, str]:
    return (f"inbox, SQL adapter on SQLite {fmt(dig(r, 'summary', 'batch_500', 'items_per_s'))} items/s "
            f"(one transaction per item: {fmt(dig(r, 'summary', 'one_by_one_20', 'items_per_s'))})",
            f"÷ raw consume-produce-commit: {times(dig(r, 'summary', 'batch_500', 'vs_raw'))}")


def timeline(r: Results) -> tuple[str, str]:
    return (f"HTTP timeline p50 {fmt(dig(r, 'answers', 'http/random', 'p50_ms'), ',.2f')} ms, p99 "
            f"{fmt(dig(r, 'answers', 'http/random', 'p99_ms'), ',.2f')} ms; build "
            f"{fmt(dig(r, 'build', 'records_per_s'))} records/s",
            f"HTTP ÷ projection: p50 {times(dig(r, 'ratios', 'http_to_projection_p50'))}")


def replay(r: Results) -> tuple[str, str]:
    return (f"to file {fmt(dig(r, 'summary', 'file', 'events_per_s'))} events/s, to inboxes "
            f"{fmt(dig(r, 'summary', 'inbox', 'events_per_s'))} events/s",
            f"÷ raw read: file {times(dig(r, 'summary', 'file', 'vs_raw'))}, "
            f"inbox {times(dig(r, 'summary', 'inbox', 'vs_raw'))}")


def verify(r: Results) -> tuple[str, str]:
    return (f"hub audit verify {fmt(dig(r, 'verify', 'records_per_s'))} records/s "
            f"({fmt(dig(r, 'verify', 'records'))} records)",
            f"÷ raw read: records/s {times(dig(r, 'verify', 'ratio_to_raw_read'))}")


def security(r: Results) -> tuple[str, str]:
    sync = dig(r, "figures", "sync") or {}
    return (f"SASL_SSL sync {fmt(dig(sync, 'secured', 'per_s'))} events/s, new producer to first ack "
            f"{fmt(dig(r, 'figures', 'connect', 'secured', 'total_ms'), ',.1f')} ms",
            f"SASL_SSL ÷ plaintext: sync events/s {times(dig(sync, 'ratios', 'per_s', 'median'))}, "
            f"connect {times(dig(r, 'figures', 'connect', 'ratios', 'total_ms', 'median'))}")


def shredding(r: Results) -> tuple[str, str]:
    p50s = [dig(row, "stages_us", "protect + encode", "p50") for row in (r.get("event_types") or {}).values()]
    p50s = [p for p in p50s if isinstance(p, (int, float))]
    return (f"protect + encode p50 {fmt(statistics.median(p50s) if p50s else None)} µs "
            f"(median of {len(p50s)} event types)",
            f"÷ encode only: p50 {times(dig(r, 'ratios', 'protect_to_encode_p50'))}, "
            f"reveal {times(dig(r, 'ratios', 'reveal_to_encode_p50'))}")


def rss(r: Results) -> tuple[str, str]:
    restarts = [x.get("until_routed_s") for x in r.get("restarts") or [] if isinstance(x, Mapping)]
    restarts = [x for x in restarts if isinstance(x, (int, float))]
    return (f"router max RSS {fmt(dig(r, 'summary', 'max_rss_mb'), ',.1f')} MB over "
            f"{fmt(dig(r, 'summary', 'events_fed'))} events, {fmt(dig(r, 'summary', 'events_per_s'))} "
            f"events/s, restart {fmt(max(restarts) if restarts else None, ',.1f')} s",
            f"max RSS ÷ limit {times(_over(dig(r, 'summary', 'max_rss_mb'), dig(r, 'summary', 'limit_mb')))}")


def ingest(r: Results) -> tuple[str, str]:
    http = dig(r, "modes", "http") or {}
    # The ratio of http to sdk: under "http/sdk" (or "sdk", the first shape of the file).
    vs_sdk = dig(r, "ratios", "http/sdk") or dig(r, "ratios", "sdk") or {}
    return (f"HTTP ingest {fmt(http.get('events_per_s'))} requests/s, p99 "
            f"{fmt(dig(http, 'latency_ms', 'p99_ms'), ',.1f')} ms",
            f"HTTP ÷ SDK (same concurrency): requests/s {times(vs_sdk.get('events_per_s'))}, "
            f"p99 {times(vs_sdk.get('p99'))}")


def _over(a: Any, b: Any) -> float | None:
    return a / b if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b else None


def declared(r: Results) -> tuple[str, str]:
    """A bench's own ``headline``, for one this module does not know."""
    return str(dig(r, "headline", "figure") or "–"), str(dig(r, "headline", "ratio") or "–")


HEADLINES: dict[str, Callable[[Results], tuple[str, str]]] = {
    "publish": publish, "route": route, "inbox": inbox, "timeline": timeline, "replay": replay, "verify": verify,
    "security": security, "shredding": shredding, "rss": rss, "ingest": ingest,
}


@dataclass
class Bench:
    name: str
    exit_code: int | None = None  # None: no status file (a bench run by hand into the directory)
    seconds: float | None = None
    results: Results | None = None
    problems: list[str] = field(default_factory=list)
    log_tail: str = ""  # the last line of its log: the error, when it wrote no JSON

    @property
    def failed(self) -> bool:
        return self.exit_code not in (0, None) or self.results is None or bool(self.problems)

    def headline(self) -> tuple[str, str]:
        if self.results is None:
            return "no JSON results", "–"
        try:
            return HEADLINES.get(self.name, declared)(self.results)
        except (TypeError, ValueError, AttributeError) as exc:
            return f"(headline unreadable: {exc})", "–"

    def load(self) -> str:
        start = dig(self.results, "environment", "load_average_at_start")
        end = dig(self.results, "environment", "load_average_1_5_15")
        return f"{fmt(start[0] if start else None, '.1f')}→{fmt(end[0] if end else None, '.1f')}"


def parse_status(text: str) -> tuple[int | None, float | None]:
    """``"<exit code> <seconds>"`` as the Makefile writes it; (None, None) if unreadable."""
    parts = text.split()
    try:
        return int(parts[0]), float(parts[1])
    except (IndexError, ValueError):
        return None, None


def problems_of(results: Results) -> list[str]:
    found = [str(p) for p in results.get("problems") or []]
    if dig(results, "verify", "ok") is False and not found:
        found.append("`hub audit verify` found the chain broken")
    return found


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:160] if lines else ""


def read_dir(directory: Path) -> list[Bench]:
    """Every bench with a ``.status`` or a ``.json`` file in ``directory``, in :data:`ORDER`."""
    names = {p.stem for p in directory.glob("*.status")} | {p.stem for p in directory.glob("*.json")}
    benches = []
    for name in sorted(names, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n)):
        bench = Bench(name)
        status = directory / f"{name}.status"
        if status.exists():
            bench.exit_code, bench.seconds = parse_status(status.read_text())
        data = directory / f"{name}.json"
        if data.exists():
            try:
                bench.results = json.loads(data.read_text())
            except json.JSONDecodeError as exc:
                bench.problems.append(f"{data.name}: {exc}")
            else:
                bench.problems += problems_of(bench.results)
        log = directory / f"{name}.log"
        if log.exists():
            bench.log_tail = last_line(log.read_text(errors="replace"))
        benches.append(bench)
    return benches


def minutes(seconds: float | None) -> str:
    return "–" if seconds is None else f"{int(seconds // 60)}:{round(seconds % 60):02d}"


def render(benches: Sequence[Bench], directory: Path) -> str:
    """Two lines a bench (its figure, then its ratio), the count passed, why the others failed."""
    head = f"{'bench':<10} {'result':<6} {'wall':>5}  {'load 1m':<11}  "
    lines = [f"{head}headline figure / ratio", ""]
    for b in benches:
        figure, ratio = b.headline()
        row = f"{b.name:<10} {'FAILED' if b.failed else 'ok':<6} {minutes(b.seconds):>5}  {b.load():<11}  "
        lines += [row + figure, " " * len(head) + ratio]
    failed = [b for b in benches if b.failed]
    total = sum(b.seconds or 0 for b in benches)
    lines += ["", f"{len(benches) - len(failed)} of {len(benches)} benches passed; "
                  f"{minutes(total)} of bench time. Tables: {directory}/<bench>.md; JSON: <bench>.json; "
                  f"logs: <bench>.log"]
    for b in failed:
        why = "; ".join(b.problems) or (f"exit code {b.exit_code}" if b.exit_code else "no JSON results")
        if b.results is None:
            why += f"; {b.name}.log ends: {b.log_tail}" if b.log_tail else f" (see {b.name}.log)"
        lines.append(f"  {b.name}: {why[:300]}")
    return "\n".join(lines)


def latest(results_dir: Path = RESULTS_DIR) -> Path | None:
    runs = sorted(p for p in results_dir.glob("all-*") if p.is_dir())
    return runs[-1] if runs else None


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    directory = Path(args[0]) if args else latest()
    if directory is None or not directory.is_dir():
        print(f"no such results directory: {directory or RESULTS_DIR / 'all-*'}", file=sys.stderr)
        return 2
    benches = read_dir(directory)
    if not benches:
        print(f"no bench results in {directory}", file=sys.stderr)
        return 2
    print(render(benches, directory))
    return 1 if any(b.failed for b in benches) else 0


if __name__ == "__main__":
    sys.exit(main())
