"""Progress on long operator work (verify, rebuild, replay, catch-up): a rich bar on stderr.

:func:`progress_bar` yields a ``(done, total)`` callback; on a terminal-less stderr (CI, pipes)
rich degrades to no animation, so logs stay readable. :func:`progress_on_terminal` shows a bar
only when stderr is a terminal and yields ``None`` otherwise.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Optional

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

ProgressCallback = Callable[[int, int], None]


@contextmanager
def progress_bar(description: str) -> Iterator[ProgressCallback]:
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def progress_on_terminal(description: str) -> AbstractContextManager[Optional[ProgressCallback]]:
    """A progress bar on stderr when it is a terminal (a catch-up may read a long trail)."""
    return progress_bar(description) if sys.stderr.isatty() else nullcontext(None)
