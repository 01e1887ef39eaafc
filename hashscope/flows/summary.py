"""A flow table's summary of some capture files: small, never a packet table, so that it
can travel between processes, and merged associatively (:func:`merge_summaries`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hashscope.capture.records import Interface, InterfaceRegistry
from hashscope.errors import CaptureWarning

from .table import IFACE_WORD, KEY_WORDS, FlowTable, flow_frame


@dataclass
class FlowResult:
    """The flow table of a set of captures, and what was met on the way."""

    flows: pd.DataFrame
    packets: int  #: packets read
    undecoded: int  #: packets whose link-layer header could not be decoded
    interfaces: list[Interface] = field(default_factory=list)
    warnings: list[CaptureWarning] = field(default_factory=list)


@dataclass
class FlowSummary:
    """What one capture file (or several, merged) adds to a flow table: small, never a
    packet table, so that it can travel between processes (:func:`merge_summaries`).

    Rows are flows in order of first appearance; ``ifmask`` bits index ``interfaces``.
    """

    keys: np.ndarray  #: uint64 (flows, key words): the flow keys
    stats: np.ndarray  #: int64 (flows, 4): packets, bytes, first ns, last ns
    ifmask: np.ndarray  #: uint64 (flows, words): interface bits, 64 a word
    interfaces: list[Interface] = field(default_factory=list)
    packets: int = 0  #: packets read
    undecoded: int = 0  #: packets without a decodable link-layer header
    warnings: list[CaptureWarning] = field(default_factory=list)
    size: int = 0  #: bytes of the files read (compressed, as on disk)

    def result(self) -> FlowResult:
        """The flow table of the summary, largest first."""
        names = [i.name for i in self.interfaces]
        return FlowResult(flow_frame(self.keys, self.stats, self.ifmask, names), self.packets,
                          self.undecoded, list(self.interfaces), list(self.warnings))


def empty_summary(key_words: int = KEY_WORDS) -> FlowSummary:
    return FlowSummary(np.empty((0, key_words), np.uint64), np.empty((0, 4), np.int64),
                       np.empty((0, 1), np.uint64))


def table_summary(table: FlowTable, interfaces: list[Interface], packets: int,
                  warnings: list[CaptureWarning], size: int = 0) -> FlowSummary:
    """The rows of a flow table as a summary (copies: the table can go)."""
    n = table.n
    return FlowSummary(table.keys[:n].copy(), table.stats[:n].copy(), table.ifmask[:n].copy(),
                       list(interfaces), packets, table.undecoded_packets, list(warnings),
                       size)


def _remap_mask(ifmask: np.ndarray, remap: list[int], words: int) -> np.ndarray:
    """Interface bits ``ifmask`` with bit j moved to bit ``remap[j]``, ``words`` wide."""
    out = np.zeros((len(ifmask), words), np.uint64)
    if remap == list(range(len(remap))):
        out[:, : ifmask.shape[1]] = ifmask
        return out
    one = np.uint64(1)
    for j, r in enumerate(remap):
        bit = (ifmask[:, j // IFACE_WORD] >> np.uint64(j % IFACE_WORD)) & one
        out[:, r // IFACE_WORD] |= bit << np.uint64(r % IFACE_WORD)
    return out


def merge_summaries(a: FlowSummary, b: FlowSummary) -> FlowSummary:
    """The summary of ``a``'s files followed by ``b``'s: associative, so any tree of merges
    gives the same result.

    Interfaces are one by (name, link type), as in one reader's registry, ``b``'s
    renumbered after ``a``'s; flows of the same key are one (counts added, first the
    earliest, last the latest, interfaces united), in order of first appearance.
    """
    return merge_rows(a, b)[0]


def merge_rows(a: FlowSummary, b: FlowSummary
               ) -> tuple[FlowSummary, np.ndarray, np.ndarray, list[int]]:
    """:func:`merge_summaries`, with where things went: the merged row of each of ``a``'s
    flows and of ``b``'s, and the merged interface index of each of ``b``'s interfaces."""
    registry = InterfaceRegistry()
    for iface in a.interfaces:
        registry.add(iface)
    remap_b = [registry.add(iface) for iface in b.interfaces]
    words = max(1, (len(registry.interfaces) + IFACE_WORD - 1) // IFACE_WORD,
                a.ifmask.shape[1], b.ifmask.shape[1])
    keys = np.concatenate((a.keys, b.keys))
    stats = np.concatenate((a.stats, b.stats))
    ifmask = np.concatenate((_remap_mask(a.ifmask, list(range(len(a.interfaces))), words),
                             _remap_mask(b.ifmask, remap_b, words)))
    where = np.arange(len(keys), dtype=np.int64)
    if len(keys):
        # a stable sort on the key words: a key's rows side by side, a's first
        order = np.lexsort(keys.T[::-1])
        sk = keys[order]
        new = np.ones(len(sk), bool)
        new[1:] = (sk[1:] != sk[:-1]).any(axis=1)
        starts = np.flatnonzero(new)
        ss = stats[order]
        merged = np.empty((len(starts), 4), np.int64)
        merged[:, :2] = np.add.reduceat(ss[:, :2], starts, axis=0)
        merged[:, 2] = np.minimum.reduceat(ss[:, 2], starts)
        merged[:, 3] = np.maximum.reduceat(ss[:, 3], starts)
        masks = np.bitwise_or.reduceat(ifmask[order], starts, axis=0)
        first = order[starts]  # each key's first row: where it first appeared
        rows = np.argsort(first, kind="stable")
        keys, stats, ifmask = sk[starts][rows], merged[rows], masks[rows]
        position = np.empty(len(rows), np.int64)
        position[rows] = np.arange(len(rows))
        where[order] = position[np.cumsum(new) - 1]
    n_a = len(a.keys)
    return (FlowSummary(keys, stats, ifmask, registry.interfaces, a.packets + b.packets,
                        a.undecoded + b.undecoded, [*a.warnings, *b.warnings],
                        a.size + b.size), where[:n_a], where[n_a:], remap_b)


def merge_all(summaries: Iterable[FlowSummary]) -> FlowSummary:
    """The summaries merged left to right as a balanced tree (:func:`merge_summaries`), as
    they come: at most log2(n) of them are held at once."""
    stack: list[tuple[int, FlowSummary]] = []  # (level, summary), levels decreasing
    for s in summaries:
        level = 0
        while stack and stack[-1][0] == level:
            s = merge_summaries(stack.pop()[1], s)
            level += 1
        stack.append((level, s))
    if not stack:
        return empty_summary()
    out = stack.pop()[1]
    while stack:
        out = merge_summaries(stack.pop()[1], out)
    return out
