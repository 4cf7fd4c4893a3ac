"""The fault matrix's figures as the markdown table RELIABILITY.md shows (one row per drill)."""

from __future__ import annotations

import json
import sys

COLUMNS = [("fault", "fault"), ("stack", "stack"), ("run", "run"), ("published", "events accepted"),
           ("refused", "publishes refused"), ("refused_written_later", "refused but written"),
           ("unknown", "not acknowledged (published again)"), ("unknown_settled", "of those, settled"),
           ("items_expected", "items"), ("items_lost", "items lost"), ("rows_doubled", "rows doubled"),
           ("cases_open", "cases not completed"), ("fault_s", "fault lasted s"),
           ("resume_s", "flow resumed after s"), ("backlog_cleared_s", "backlog cleared after s")]


def _cell(value) -> str:
    return "–" if value is None else str(value)


def markdown_table(rows: list[dict]) -> str:
    head = "| " + " | ".join(title for _, title in COLUMNS) + " |"
    rule = "|" + "---|" * len(COLUMNS)
    body = ["| " + " | ".join(_cell(r.get(key)) for key, _ in COLUMNS) + " |" for r in rows]
    reasons = sorted({reason for r in rows for reason in r.get("refused_reasons", [])})
    notes = [f"- {r['fault']} ({r['stack']}, run {r['run']}): {'; '.join(r.get('notes', []))}" for r in rows]
    out = [head, rule, *body, "", "Drills:", *notes]
    if reasons:
        out += ["", "Refusals seen (error type and first words):", *(f"- {r}" for r in reasons)]
    return "\n".join(out)


if __name__ == "__main__":  # python -m tests.faults.report .state/faults/matrix-….json
    print(markdown_table(json.loads(open(sys.argv[1], encoding="utf-8").read())))
