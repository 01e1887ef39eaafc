"""Per-member load of one policy: packets and bytes per member, and the members each flow used."""

from __future__ import annotations

import numpy as np
from numba import njit

from hashscope.members import LINK_ALL, LINK_UNKNOWN


@njit(cache=True, nogil=True)
def _fold(link, fids, size, count, usable, packets, bytes_, unknown, flow_links):
    """Add frames (``count`` each; empty: one) to the member counters and flow masks."""
    counted = count.shape[0] > 0
    marks = flow_links.shape[0] > 0
    all_up = np.uint64(0)
    for m in usable:
        all_up |= np.uint64(1) << np.uint64(m)
    for i in range(link.shape[0]):
        f = fids[i]
        if f < 0:
            continue
        c = count[i] if counted else 1
        s = size[i]
        k = link[i]
        if k >= 0:
            packets[k] += c
            bytes_[k] += s
            if marks:
                flow_links[f] |= np.uint64(1) << np.uint64(k)
        elif k == LINK_ALL:
            for m in usable:
                packets[m] += c
                bytes_[m] += s
            if marks:
                flow_links[f] |= all_up
        elif k == LINK_UNKNOWN:
            unknown[0] += c
            unknown[1] += s


class LinkLoad:
    """Per-member packets and bytes of one policy (one key), plus flows per member."""

    def __init__(self, n_links: int, track_flows: bool):
        self.packets = np.zeros(n_links, np.int64)
        self.bytes = np.zeros(n_links, np.int64)
        self.unknown_packets = 0
        self.unknown_bytes = 0
        self.flow_links = np.zeros(1024, np.uint64) if track_flows else None

    def add(self, fids: np.ndarray, link: np.ndarray, up: np.ndarray, size: np.ndarray,
            count: np.ndarray | None = None) -> None:
        """Add frames (or header signatures standing for ``count`` frames each, of ``size``
        bytes in all) with their flow indices (-1: not decoded, not counted)."""
        if self.flow_links is not None:
            top = int(fids.max(initial=-1)) + 1
            if top > len(self.flow_links):
                grown = np.zeros(max(top, 2 * len(self.flow_links)), np.uint64)
                grown[: len(self.flow_links)] = self.flow_links
                self.flow_links = grown
        unknown = np.zeros(2, np.int64)
        _fold(np.ascontiguousarray(link, np.int64), np.ascontiguousarray(fids, np.int64),
              np.ascontiguousarray(size, np.int64),
              np.zeros(0, np.int64) if count is None else np.ascontiguousarray(count, np.int64),
              np.flatnonzero(up), self.packets, self.bytes, unknown,
              self.flow_links if self.flow_links is not None else np.zeros(0, np.uint64))
        self.unknown_packets += int(unknown[0])
        self.unknown_bytes += int(unknown[1])

    def flows_per_link(self, n_flows: int) -> np.ndarray:
        masks = self.flow_links[:n_flows]
        return np.array([int(((masks >> np.uint64(i)) & np.uint64(1)).sum())
                         for i in range(len(self.packets))], dtype=np.int64)


def plus(total: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per-interface counters plus ``counts`` (as long as the longer of the two)."""
    out = np.zeros(max(len(total), len(counts)), np.int64)
    out[: len(total)] += total
    out[: len(counts)] += counts.astype(np.int64)
    return out
