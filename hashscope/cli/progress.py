"""A progress bar over bytes read, on stderr, shown only on a terminal."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

from hashscope.report.terminal import console, shows_progress

from .params import warn


class ByteProgress:
    """Context manager: ``start(total)`` then ``update(done)``; a no-op when disabled."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self._progress: Progress | None = None
        self._task = None

    def __enter__(self) -> ByteProgress:
        return self

    def start(self, total: int | None) -> None:
        if not self.enabled:
            return
        self._progress = Progress("reading", BarColumn(), DownloadColumn(),
                                  TimeRemainingColumn(), console=console(sys.stderr),
                                  transient=True)
        self._progress.start()
        self._task = self._progress.add_task("read", total=total)

    def update(self, done: int) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=done)

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()


def reading(run: Callable, captures: Sequence[str], *args, **kwargs):
    """``run(captures, *args, ...)`` with the warnings on stderr and, on a terminal, a
    progress bar over the bytes read."""
    with ByteProgress(enabled=shows_progress()) as progress:
        return run(captures, *args, on_warning=warn, on_progress=progress.update,
                   on_start=progress.start, **kwargs)
