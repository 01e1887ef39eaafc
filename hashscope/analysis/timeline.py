"""Bytes over time in a bounded number of bins, for any capture length.

Bins are aligned to multiples of their width from the epoch (bin ``i`` holds the
timestamps ``[i * width, (i + 1) * width)``), so captures read in any order (several
files, a merge) fall into the same bins. The width starts at :data:`FIRST_WIDTH_NS` and
doubles, merging neighbours, whenever the bins would exceed :data:`MAX_BINS`; the result
is exact for the width it ends with.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FIRST_WIDTH_NS = 1_000_000  #: 1 ms
MAX_BINS = 400  #: per series; a chart shows no more


@dataclass(frozen=True)
class Timeline:
    """Bytes per series and bin: ``bytes[s, i]`` is series ``s`` in bin ``i``."""

    start_ns: int  #: the first bin's start
    bin_ns: int
    names: tuple[str, ...]  #: one per series
    bytes: np.ndarray  #: int64, (series, bins)

    def series(self, name: str) -> np.ndarray:
        return self.bytes[self.names.index(name)]


class TimeBins:
    """Accumulates (series, time, bytes) into bins that widen as the span grows."""

    def __init__(self, names: tuple[str, ...] | list[str]):
        self.names = tuple(names)
        self.width = FIRST_WIDTH_NS
        self.lo: int | None = None  #: the absolute index of the first bin
        self.counts = np.zeros((len(self.names), 0), np.int64)

    def add(self, series: np.ndarray, ts_ns: np.ndarray, size: np.ndarray) -> None:
        """Add frames: their series (negative: not counted), times and sizes."""
        keep = series >= 0
        if not keep.any():
            return
        series, ts, size = series[keep], ts_ns[keep].astype(np.int64), size[keep]
        lo, hi = int(ts.min()) // self.width, int(ts.max()) // self.width
        if self.lo is not None:
            lo, hi = min(lo, self.lo), max(hi, self.lo + self.counts.shape[1] - 1)
        while hi - lo + 1 > MAX_BINS:
            self._widen()
            lo, hi = lo // 2, hi // 2
        self._cover(lo, hi)
        idx = ts // self.width - self.lo
        n = self.counts.shape[1]
        flat = np.bincount(series.astype(np.int64) * n + idx, weights=size,
                           minlength=len(self.names) * n)
        self.counts += flat.astype(np.int64).reshape(len(self.names), n)

    def _widen(self) -> None:
        """Double the width: neighbours (by absolute index) merge."""
        if self.lo is not None:
            n = self.counts.shape[1]
            new_lo = self.lo // 2
            idx = (self.lo + np.arange(n)) // 2 - new_lo
            merged = np.zeros((len(self.names), int(idx[-1]) + 1 if n else 0), np.int64)
            for s in range(len(self.names)):
                merged[s] = np.bincount(idx, weights=self.counts[s],
                                        minlength=merged.shape[1]).astype(np.int64)
            self.lo, self.counts = new_lo, merged
        self.width *= 2

    def _cover(self, lo: int, hi: int) -> None:
        """Grow the bins to hold absolute indices lo..hi."""
        if self.lo is None:
            self.lo, self.counts = lo, np.zeros((len(self.names), hi - lo + 1), np.int64)
            return
        left, right = self.lo - lo, hi - (self.lo + self.counts.shape[1] - 1)
        if left > 0 or right > 0:
            self.counts = np.pad(self.counts, ((0, 0), (max(left, 0), max(right, 0))))
            self.lo = min(self.lo, lo)

    def merged(self, other: TimeBins) -> TimeBins:
        """These bins and ``other``'s (the same series) as one: what one run over both
        frames gives, since bins are aligned to the epoch and the width is the smallest
        that holds the span."""
        out, theirs = self.copy(), other.copy()
        if theirs.lo is None:
            return out
        if out.lo is None:
            return theirs
        while out.width < theirs.width:
            out._widen()
        while theirs.width < out.width:
            theirs._widen()
        lo = min(out.lo, theirs.lo)
        hi = max(out.lo + out.counts.shape[1], theirs.lo + theirs.counts.shape[1]) - 1
        while hi - lo + 1 > MAX_BINS:
            out._widen()
            theirs._widen()
            lo, hi = lo // 2, hi // 2
        out._cover(min(out.lo, theirs.lo),
                   max(out.lo + out.counts.shape[1], theirs.lo + theirs.counts.shape[1]) - 1)
        at = theirs.lo - out.lo
        out.counts[:, at: at + theirs.counts.shape[1]] += theirs.counts
        return out

    def copy(self) -> TimeBins:
        out = TimeBins(self.names)
        out.width, out.lo, out.counts = self.width, self.lo, self.counts.copy()
        return out

    def timeline(self) -> Timeline:
        start = 0 if self.lo is None else self.lo * self.width
        return Timeline(start, self.width, self.names, self.counts.copy())
