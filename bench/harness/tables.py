"""The Markdown tables the reports print: pasted as they are into BENCHMARKS.md.

Every table has its label column left-aligned and its figures right-aligned.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def row(cells: Sequence[str]) -> str:
    """``| a | b | | c |``: an empty cell stays one space wide."""
    return "|" + "|".join(f" {c} " if c else " " for c in cells) + "|"


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = [row(header), "|---|" + "---:|" * (len(header) - 1)]
    lines += [row(cells) for cells in rows]
    return "\n".join(lines)


def num(value: float | None, fmt: str = ",.0f") -> str:
    """A figure, or an en dash where there is none (a mode that does not produce it)."""
    return "–" if value is None else format(value, fmt)


def per_round(ratios: Iterable[float]) -> str:
    """``0.931, 0.902``: a ratio's value in each round, beside its median."""
    return ", ".join(f"{x:.3f}" for x in ratios)
