"""The rich progress bars every benchmark shows on stderr while it runs."""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

Advance = Callable[[int], None]  # "n more done", handed to the code being measured


def progress_bars(console: Console, width: int | None = None) -> Progress:
    """Description (padded to ``width`` so the bars line up), bar, done/total, elapsed.

    Four redraws a second: the redraw thread takes the GIL from whatever is being timed.
    """
    description = "{task.description}" if width is None else f"{{task.description:<{width}}}"
    return Progress(TextColumn(description), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, refresh_per_second=4)


def advancer(progress: Progress, *tasks: int) -> Advance:
    """An ``Advance`` that moves every one of ``tasks`` on together."""
    def advance(n: int) -> None:
        for task in tasks:
            progress.advance(task, n)
    return advance
