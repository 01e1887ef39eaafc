"""Per-member load of one policy: packets and bytes per member, and the members each flow used."""

from __future__ import annotations

import numpy as np

from hashscope.hashes.policy import Assignment
from hashscope.members import LINK_ALL, LINK_UNKNOWN


class LinkLoad:
    """Per-member packets and bytes of one policy (one key), plus flows per member."""

    def __init__(self, n_links: int, track_flows: bool):
        self.packets = np.zeros(n_links, np.int64)
        self.bytes = np.zeros(n_links, np.int64)
        self.unknown_packets = 0
        self.unknown_bytes = 0
        self.flow_links = np.zeros(1024, np.uint64) if track_flows else None

    def add(self, fids: np.ndarray, a: Assignment, up: np.ndarray, size: np.ndarray,
            count: np.ndarray | None = None) -> None:
        """Add frames (or header signatures standing for ``count`` frames each, of ``size``
        bytes in all) with their flow indices (-1: not decoded, not counted)."""
        n = len(self.packets)
        link, size = a.link, size.astype(np.int64)
        count = np.ones(len(link), np.int64) if count is None else count.astype(np.int64)
        one = (link >= 0) & (fids >= 0)
        self.packets += np.bincount(link[one], weights=count[one], minlength=n)[:n].astype(
            np.int64)
        self.bytes += np.bincount(link[one], weights=size[one], minlength=n)[:n].astype(
            np.int64)
        everywhere = (link == LINK_ALL) & (fids >= 0)
        self.packets[up] += int(count[everywhere].sum())
        self.bytes[up] += int(size[everywhere].sum())
        unknown = (link == LINK_UNKNOWN) & (fids >= 0)
        self.unknown_packets += int(count[unknown].sum())
        self.unknown_bytes += int(size[unknown].sum())
        if self.flow_links is not None:
            self._mark(fids, link, up, one, everywhere)

    def _mark(self, fids, link, up, one, everywhere) -> None:
        top = int(fids.max(initial=-1)) + 1
        if top > len(self.flow_links):
            grown = np.zeros(max(top, 2 * len(self.flow_links)), np.uint64)
            grown[: len(self.flow_links)] = self.flow_links
            self.flow_links = grown
        bits = np.left_shift(np.uint64(1), link[one].astype(np.uint64))
        np.bitwise_or.at(self.flow_links, fids[one], bits)
        all_up = np.uint64(sum(1 << int(i) for i in np.flatnonzero(up)))
        self.flow_links[fids[everywhere]] |= all_up

    def flows_per_link(self, n_flows: int) -> np.ndarray:
        masks = self.flow_links[:n_flows]
        return np.array([int(((masks >> np.uint64(i)) & np.uint64(1)).sum())
                         for i in range(len(self.packets))], dtype=np.int64)
