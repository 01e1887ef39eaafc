"""Captures to a flow table: the record walker, the keying and the flow table, pipelined.

>>> from hashscope import read_flows
>>> result = read_flows(["captures/demo.pcap"])      # doctest: +SKIP
>>> result.flows.head()                              # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hashscope.capture.interfaces import files, settings
from hashscope.capture.names import IfindexNames, NamedCapture
from hashscope.capture.reader import CaptureReader, ProgressHandler, WarningHandler
from hashscope.capture.records import Interface, InterfaceRegistry
from hashscope.errors import CaptureWarning
from hashscope.threads import background

from .table import IFACE_WORD, KEY_WORDS, FlowTable, batch_keys, flow_frame


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


def _fold(reader: CaptureReader) -> tuple[FlowTable, int]:
    """The reader's files folded into a flow table; and the packets read."""
    table = FlowTable()
    packets = 0
    # three stages, each in a thread of its own, a few batches apart: walking the records,
    # keying them (decoding only into scratch records: the flow table needs no packet
    # table), and adding them to the flow table here
    keyed = (batch_keys(b, reader.registry.linktypes()) for b in background(reader.batches()))
    for columns in background(keyed):
        packets += len(columns[0])
        table.add_keyed(*columns)
    return table, packets


def file_summary(path: str | NamedCapture, extra: Sequence[IfindexNames] = (),
                 on_warning: WarningHandler | None = None,
                 on_progress: ProgressHandler | None = None) -> FlowSummary:
    """Read ONE capture file (or ``-``) into its :class:`FlowSummary`: its flows, counts,
    interfaces (by name, in its own order) and warnings. ``extra``: the run's
    :class:`IfindexNames`. Raises :class:`hashscope.errors.CaptureError` for an unreadable
    capture."""
    reader = CaptureReader([path, *extra], on_warning=on_warning, on_progress=on_progress)
    table, packets = _fold(reader)
    size = reader.total_size() or 0
    return table_summary(table, reader.registry.interfaces, packets, reader.warnings, size)


def read_flows(
    paths: Sequence[str | NamedCapture | IfindexNames],
    on_warning: WarningHandler | None = None,
    on_progress: ProgressHandler | None = None,
    on_start: Callable[[int | None], None] | None = None,
) -> FlowResult:
    """Read captures (pcap, pcapng, compressed, ``-``) into a flow table, largest first.

    Memory is bounded by the read buffer and the number of flows, whatever the
    size of the captures. Raises :class:`hashscope.errors.CaptureError` for an
    unreadable capture.

    Several files are read one by one into a :func:`file_summary` each, merged by
    :func:`merge_all`: what a cluster does too (:mod:`hashscope.distributed`).
    """
    if on_start:
        on_start(CaptureReader(paths).total_size())
    extra = settings(paths)
    return merge_all(_summaries(files(paths), extra, on_warning, on_progress)).result()


def _summaries(paths, extra, on_warning, on_progress) -> Iterable[FlowSummary]:
    """Each file's summary in turn, the progress counted over all of them."""
    done = 0
    for path in paths:
        report = None
        if on_progress:
            def report(n: int, done: int = done) -> None:
                on_progress(done + n)
        summary = file_summary(path, extra, on_warning, report)
        done += summary.size if summary.size else 0
        yield summary
