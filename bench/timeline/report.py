"""The timeline benchmark's report: the trail, the build, and the answer-time table."""

from __future__ import annotations

from typing import Any

from bench.harness.tables import markdown_table

ROWS = {
    "projection/random": "projection: `subject_timeline`, random subject",
    "http/random": "**HTTP `GET /v1/audit/subjects/{id}`, random subject**",
    "projection/heavy": "projection: heavy subject (~1,000 records)",
    "http/heavy": "HTTP: heavy subject",
    "projection/unknown": "projection: unknown subject (empty timeline)",
    "http/unknown": "HTTP: unknown subject",
    "projection/during_rebuild": "projection: random subject while `hub rebuild timeline` runs",
    "catch_up_noop": "catch-up with nothing new (one `end_offsets` round trip)",
    "http/healthz": "HTTP `GET /healthz` (the test client's own cost per request)",
}


def render(results: dict[str, Any]) -> str:
    trail, build = results["trail"], results["build"]
    lines = [f"audit records: {trail['records']:,} ({', '.join(f'{k} {v:,}' for k, v in sorted(trail['kinds'].items()))})",
             f"subjects: {trail['subjects']:,}; cases: {trail['cases']:,}; partitions: {trail['partitions']}",
             f"produce: {trail['produce_s']:.1f} s ({trail['produce_rate']:,} records/s)",
             f"projection build: {build['applied']:,} records in {build['seconds']:.1f} s "
             f"({build['records_per_s']:,} records/s); SQLite {build['sqlite_mb']} MB (+ WAL "
             f"{build['wal_mb']} MB); skipped {build['skipped']}"]
    if "rebuild" in results:
        r = results["rebuild"]
        lines.append(f"rebuild (`hub rebuild timeline`, its own process, while answering): "
                     f"{r['applied'] or 0:,} records in {r['seconds']:.1f} s "
                     f"({r['records_per_s'] or 0:,} records/s), {r['answers']:,} answers meanwhile")
    lines += [f"records about a subject: random {results['answer_records']['random']}, "
              f"heavy {results['answer_records']['heavy']}", ""]
    answers = results["answers"]
    lines.append(markdown_table(
        ["answer", "count", "p50 ms", "p95 ms", "p99 ms", "max ms"],
        ([label, f"{answers[key]['count']:,}",
          *(f"{answers[key][k]:.2f}" for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms"))]
         for key, label in ROWS.items() if key in answers)))
    lines.append("")
    lines.append(f"problems: {len(results['problems'])}" + "".join(f"\n  - {p}" for p in results["problems"][:10]))
    return "\n".join(lines)
