"""Captures taken at the same time on several interfaces, read as one stream in time order.

Captures taken on each member of a bond are separate files, each in time order; what
depends on the order of the frames across members (a round-robin counter, Open
vSwitch's bucket loads and rebalancing, failover times) needs them interleaved as the bond
sent them. :class:`TimeOrderedReader` reads each interface's files in turn
(:func:`hashscope.capture.interfaces.streams`: a ring buffer is one stream) and merges the
streams by timestamp, batch by batch: memory is one packet table per stream in flight,
and the streams share one reader's mapping window (:data:`WINDOW`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from hashscope.capture.interfaces import Survey, survey
from hashscope.capture.names import NamedCapture
from hashscope.capture.pcapng import SectionText
from hashscope.capture.reader import (
    CaptureReader,
    ProgressHandler,
    WarningHandler,
    snapped_by_name,
)
from hashscope.capture.records import InterfaceRegistry
from hashscope.errors import CaptureWarning

from .tables import packet_tables

WINDOW = 16 << 20  #: bytes of capture mapped at a time, shared by the streams
STREAM_WINDOW = 4 << 20  #: but at least this many for each


def _raw(rows: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(rows).view(np.uint8).reshape(len(rows), rows.dtype.itemsize)


def take_rows(rows: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``rows[index]`` for a packet table, copied as raw bytes (numpy copies a structured
    array's aligned fields one by one, several times slower)."""
    return _raw(rows)[index].view(rows.dtype).reshape(-1)


def join_rows(parts: list[np.ndarray]) -> np.ndarray:
    """Packet tables end to end, copied as raw bytes (see :func:`take_rows`)."""
    if len(parts) == 1:
        return parts[0]
    return np.concatenate([_raw(p) for p in parts]).view(parts[0].dtype).reshape(-1)


class TimeOrderedReader:
    """Packet tables of several streams of captures, merged in time order, with one
    interface registry."""

    def __init__(self, paths: Sequence[str | NamedCapture],
                 on_warning: WarningHandler | None = None,
                 on_progress: ProgressHandler | None = None,
                 peeked: Survey | None = None):
        self.registry = InterfaceRegistry()
        self._on_warning = on_warning
        self._warnings: list[CaptureWarning] = []
        self.readers: list[CaptureReader] = []
        self._done: list[int] = []
        groups = (peeked or survey(paths)).streams()
        window = max(STREAM_WINDOW, WINDOW // max(len(groups), 1))  # memory: ~one reader's
        for k, group in enumerate(groups):
            reader = CaptureReader(group, on_warning=on_warning, buffer_size=window,
                                   on_progress=self._progress(k, on_progress))
            reader.registry = self.registry  # one numbering of the interfaces
            self.readers.append(reader)
            self._done.append(0)

    def _progress(self, k: int, outer: ProgressHandler | None) -> ProgressHandler | None:
        if outer is None:
            return None

        def report(done: int) -> None:
            self._done[k] = done
            outer(sum(self._done))
        return report

    @property
    def warnings(self) -> list[CaptureWarning]:
        return [w for r in self.readers for w in r.warnings] + self._warnings

    # what the streams' readers found about the captures (see CaptureReader), put together

    @property
    def snapped_by_index(self) -> np.ndarray:
        counts = np.zeros(len(self.registry.interfaces), np.int64)
        for r in self.readers:
            counts += r.snapped_by_index
        return counts

    @property
    def snapped(self) -> dict[str, int]:
        return snapped_by_name(self.registry, self.snapped_by_index)

    @property
    def interface_stats(self) -> dict[str, dict[str, int]]:
        return {k: v for r in self.readers for k, v in r.interface_stats.items()}

    @property
    def descriptions(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for r in self.readers:
            for k, v in r.descriptions.items():
                found.setdefault(k, v)
        return found

    @property
    def interface_comments(self) -> dict[str, tuple[str, ...]]:
        found: dict[str, tuple[str, ...]] = {}
        for r in self.readers:
            for k, v in r.interface_comments.items():
                found[k] = found.get(k, ()) + v
        return found

    @property
    def sections(self) -> list[SectionText]:
        return [s for r in self.readers for s in r.sections]

    def warn(self, path: str, offset: int | None, message: str) -> None:
        w = CaptureWarning(path, offset, message)
        self._warnings.append(w)
        if self._on_warning:
            self._on_warning(w)

    def total_size(self) -> int | None:
        sizes = [r.total_size() for r in self.readers]
        return None if any(s is None for s in sizes) else sum(sizes)

    def tables(self) -> Iterator[np.ndarray]:
        """Packet tables in time order: each stream's frames up to the earliest of the
        streams' current batch ends, sorted by time (stable: a stream's own order is
        kept for equal times)."""
        its = [iter(packet_tables(r)) for r in self.readers]
        pending: list[np.ndarray | None] = [self._next(it) for it in its]
        while True:
            live = [k for k, b in enumerate(pending) if b is not None]
            if not live:
                return
            horizon = min(int(pending[k]["ts_ns"][-1]) for k in live)
            parts = []
            for k in live:
                b = pending[k]
                later = b["ts_ns"] > horizon
                cut = len(b) if int(b["ts_ns"][-1]) == horizon or not later.any() \
                    else int(np.argmax(later))
                parts.append(b[:cut])
                pending[k] = b[cut:] if cut < len(b) else self._next(its[k])
            chunk = join_rows(parts)
            if len(chunk):
                order = np.argsort(chunk["ts_ns"], kind="stable")
                yield chunk if (np.diff(order) == 1).all() else take_rows(chunk, order)

    @staticmethod
    def _next(it: Iterator[np.ndarray]) -> np.ndarray | None:
        for b in it:
            if len(b):
                return b
        return None
