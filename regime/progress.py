"""Progress of long steps (MAP search, sampling, post-processing, hold-out fits, scenarios).

The library reports progress through one small callable, :data:`ProgressFn`,
``progress(step, done, total)``: ``step`` names the step ("MAP search",
"sampling", ...), ``done`` and ``total`` count its units (starts, draws,
candidates). Library functions stay silent unless asked: they take
``progressbar`` (draw a Rich bar on stderr when no callback is given) and
``progress`` (a callback, e.g. the CLI's shared bar). May import Rich only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

ProgressFn = Callable[[str, float, float], None]


def progress_columns() -> tuple[Any, ...]:
    """Spinner, step, bar, units done/total, elapsed, ETA."""
    from rich.progress import (
        BarColumn,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:.0f}/{task.total:.0f}"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
    )


class RichSteps:
    """A :data:`ProgressFn` drawing one Rich bar per step (with elapsed time and ETA)."""

    def __init__(self, progress: Any, prefix: str = "") -> None:
        self.progress = progress
        self.prefix = prefix
        self._tasks: dict[str, Any] = {}

    def __call__(self, step: str, done: float, total: float) -> None:
        name = f"{self.prefix}{step}"
        task = self._tasks.get(name)
        if task is None:
            task = self._tasks[name] = self.progress.add_task(name, total=total)
        self.progress.update(task, completed=done, total=total)


@contextmanager
def reporting(progressbar: bool, progress: ProgressFn | None = None) -> Iterator[ProgressFn | None]:
    """The callback to report to: ``progress`` if given, else a Rich bar on stderr
    when ``progressbar``, else ``None`` (silent)."""
    if progress is not None or not progressbar:
        yield progress
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(*progress_columns(), console=Console(stderr=True), transient=False) as bar:
        yield RichSteps(bar)


class Throttle:
    """Calls ``progress`` at most every ``interval`` seconds (and always at the end)."""

    def __init__(self, progress: ProgressFn | None, step: str, total: float, interval: float = 0.2):
        self.progress, self.step, self.total, self.interval = progress, step, total, interval
        self._last = -float("inf")

    def __call__(self, done: float) -> None:
        if self.progress is None:
            return
        now = time.perf_counter()
        if done >= self.total or now - self._last >= self.interval:
            self._last = now
            self.progress(self.step, done, self.total)
