"""A flow table's summary of some capture files: small, never a packet table, so that it
can travel between processes, and merged associatively (:func:`merge_summaries`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numba import njit

from hashscope.capture.records import Interface, InterfaceRegistry
from hashscope.errors import CaptureWarning
from hashscope.xxh64 import xxh64_words

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


@njit(cache=True, nogil=True)
def join_keys(keys_a: np.ndarray, keys_b: np.ndarray) -> np.ndarray:
    """For each row of ``keys_b``, the row of ``keys_a`` holding the same key (-1: none):
    a compiled hash join (XXH64 of the key words, open addressing), linear in the rows.
    Each table's keys are distinct."""
    n_a = keys_a.shape[0]
    size = 2
    while size < 2 * n_a:
        size *= 2
    mask = np.uint64(size - 1)
    slots = np.full(size, -1, np.int64)
    hashes = np.empty(n_a, np.uint64)
    for f in range(n_a):
        h = xxh64_words(keys_a[f], 0)
        hashes[f] = h
        s = h & mask
        while slots[s] >= 0:
            s = (s + np.uint64(1)) & mask
        slots[s] = f
    out = np.full(keys_b.shape[0], -1, np.int64)
    for i in range(keys_b.shape[0]):
        w = keys_b[i]
        h = xxh64_words(w, 0)
        s = h & mask
        while slots[s] >= 0:
            f = slots[s]
            if hashes[f] == h:
                same = True
                for k in range(w.shape[0]):
                    if keys_a[f, k] != w[k]:
                        same = False
                        break
                if same:
                    out[i] = f
                    break
            s = (s + np.uint64(1)) & mask
    return out


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
    mask_a = _remap_mask(a.ifmask, list(range(len(a.interfaces))), words)
    mask_b = _remap_mask(b.ifmask, remap_b, words)
    n_a = len(a.keys)
    found = join_keys(a.keys, b.keys) if len(b.keys) else np.zeros(0, np.int64)
    new = found < 0
    rows_b = found.copy()
    rows_b[new] = n_a + np.arange(int(new.sum()))
    keys = np.concatenate((a.keys, b.keys[new]))
    stats = np.concatenate((a.stats, b.stats[new]))
    ifmask = np.concatenate((mask_a, mask_b[new]))
    old, at = ~new, found[~new]  # b's flows that a has: each once (keys are unique)
    stats[at, :2] += b.stats[old, :2]
    stats[at, 2] = np.minimum(stats[at, 2], b.stats[old, 2])
    stats[at, 3] = np.maximum(stats[at, 3], b.stats[old, 3])
    ifmask[at] |= mask_b[old]
    return (FlowSummary(keys, stats, ifmask, registry.interfaces, a.packets + b.packets,
                        a.undecoded + b.undecoded, [*a.warnings, *b.warnings],
                        a.size + b.size), np.arange(n_a, dtype=np.int64), rows_b, remap_b)


def merge_all(summaries: Iterable[FlowSummary]) -> FlowSummary:
    """The summaries merged left to right as a balanced tree (:func:`merge_summaries`)."""
    return merge_tree(summaries, merge_summaries, empty_summary)


def merge_tree(items: Iterable, merge: Callable, empty: Callable):
    """``items`` merged left to right as a balanced tree by ``merge`` (associative), as
    they come: at most log2(n) of them are held at once; ``empty()`` if there are none."""
    stack: list[tuple[int, object]] = []  # (level, merged so far), levels decreasing
    for s in items:
        level = 0
        while stack and stack[-1][0] == level:
            s = merge(stack.pop()[1], s)
            level += 1
        stack.append((level, s))
    if not stack:
        return empty()
    out = stack.pop()[1]
    while stack:
        out = merge(stack.pop()[1], out)
    return out
