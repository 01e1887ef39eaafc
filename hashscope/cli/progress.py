"""A progress bar over bytes read, on stderr, shown only on a terminal."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn


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
                                  TimeRemainingColumn(), console=Console(stderr=True),
                                  transient=True)
        self._progress.start()
        self._task = self._progress.add_task("read", total=total)

    def update(self, done: int) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=done)

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()
