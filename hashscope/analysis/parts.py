"""What one capture file adds to an analysis, and how two of them merge.

A :class:`Part` is small and never a packet table: the file's flows (a
:class:`~hashscope.flows.read.FlowSummary`), its sent counts per capture interface, per
policy and key the load per member with the members each of its flows used, the bytes
over time, and what the file says about itself. :func:`merge_parts` is associative, so
files can be read anywhere (a cluster's workers) and merged as any tree, in file order,
to the result of one read: counts add, flows of one key are one, interfaces are one by
name.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import numpy as np

from hashscope.capture.pcapng import MAX_COMMENTS, MAX_SECTIONS
from hashscope.flows.summary import FlowSummary, empty_summary, merge_rows, merge_tree

from .loads import LinkLoad, plus
from .timeline import TimeBins


@dataclass
class LoadPart:
    """One policy's (one key's) :class:`LinkLoad` over a part's files; ``flow_links``
    (or None) indexed by the part's flows."""

    packets: np.ndarray
    bytes: np.ndarray
    unknown_packets: int = 0
    unknown_bytes: int = 0
    flow_links: np.ndarray | None = None

    @classmethod
    def of(cls, load: LinkLoad, n_flows: int) -> LoadPart:
        links = None if load.flow_links is None else grown(load.flow_links, n_flows)
        return cls(load.packets.copy(), load.bytes.copy(), load.unknown_packets,
                   load.unknown_bytes, links)

    def load(self) -> LinkLoad:
        out = LinkLoad(len(self.packets), self.flow_links is not None)
        out.packets, out.bytes = self.packets.copy(), self.bytes.copy()
        out.unknown_packets, out.unknown_bytes = self.unknown_packets, self.unknown_bytes
        if self.flow_links is not None:
            out.flow_links = grown(self.flow_links, max(len(self.flow_links), 1))
        return out


def grown(links: np.ndarray, n: int) -> np.ndarray:
    """Per-flow bits for ``n`` flows: cut, or padded with zeros."""
    out = np.zeros(n, np.uint64)
    out[: min(n, len(links))] = links[:n]
    return out


def merge_loads(a: LoadPart, b: LoadPart, rows_a: np.ndarray, rows_b: np.ndarray,
                n_flows: int) -> LoadPart:
    """Two parts' loads of one policy, their flows at the merged rows given."""
    links = None
    if a.flow_links is not None and b.flow_links is not None:
        links = np.zeros(n_flows, np.uint64)
        links[rows_a] = grown(a.flow_links, len(rows_a))
        links[rows_b] |= grown(b.flow_links, len(rows_b))
    return LoadPart(a.packets + b.packets, a.bytes + b.bytes,
                    a.unknown_packets + b.unknown_packets, a.unknown_bytes + b.unknown_bytes,
                    links)


@dataclass
class Part:
    """What some capture files (one, usually) add to an analysis."""

    flows: FlowSummary
    sent_packets: int = 0
    sent_bytes: int = 0
    #: sent packets and bytes per interface of ``flows.interfaces``
    observed: tuple[np.ndarray, np.ndarray] = (np.zeros(0, np.int64), np.zeros(0, np.int64))
    loads: list[list[LoadPart]] = field(default_factory=list)  #: per policy, per key
    bins: TimeBins | None = None
    snapped: int = 0
    interface_stats: dict = field(default_factory=dict)
    sections: tuple = ()
    descriptions: dict = field(default_factory=dict)
    interface_comments: dict = field(default_factory=dict)
    files: tuple = ()  #: (path, interface names) of each file
    assumptions: tuple[str, ...] = ()
    members: object = None  #: with member captures: :class:`~.reading.MemberJoin`
    span: tuple[int, int] | None = None  #: the first and last frame's time

    # A part goes from worker to worker as it merges: its loads (7 policies of 1024 keys
    # make 7168 of them) travel as a few stacked arrays, not 14 000 buffers, which Dask
    # took 0.5 s to send and take apart each time.
    def __getstate__(self) -> dict:
        return {**self.__dict__, "loads": [_stacked(keys) for keys in self.loads]}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state, loads=[_unstacked(keys) for keys in state["loads"]])


def _stacked(keys: list[LoadPart]) -> tuple:
    """One policy's loads (one per key) as (packets, bytes, unknown, flow_links) arrays:
    rows per key; flow_links's rows for the keys in its index array."""
    if not keys:
        return ()
    tracked = [j for j, k in enumerate(keys) if k.flow_links is not None]
    links = [keys[j].flow_links for j in tracked]
    if len({len(x) for x in links}) <= 1:  # one length (the part's flows): one array
        links = np.stack(links) if links else np.zeros((0, 0), np.uint64)
    return (np.stack([k.packets for k in keys]), np.stack([k.bytes for k in keys]),
            np.array([(k.unknown_packets, k.unknown_bytes) for k in keys], np.int64),
            np.asarray(tracked, np.int64), links)


def _unstacked(packed: tuple) -> list[LoadPart]:
    if not packed:
        return []
    packets, sizes, unknown, tracked, links = packed
    flow_links: list = [None] * len(packets)
    for j, x in zip(tracked.tolist(), links, strict=True):
        flow_links[j] = x
    return [LoadPart(packets[j], sizes[j], int(unknown[j, 0]), int(unknown[j, 1]),
                     flow_links[j]) for j in range(len(packets))]


def merge_parts(a: Part, b: Part) -> Part:
    """The part of ``a``'s files followed by ``b``'s (associative)."""
    if a.members is not None or b.members is not None:
        raise ValueError("member captures are read as one part, in time order")
    flows, rows_a, rows_b, remap = merge_rows(a.flows, b.flows)
    n = len(flows.keys)
    observed = tuple(_remapped(x, y, remap) for x, y in zip(a.observed, b.observed,
                                                            strict=True))
    loads = [[merge_loads(x, y, rows_a, rows_b, n) for x, y in zip(la, lb, strict=True)]
             for la, lb in zip(a.loads, b.loads, strict=True)]
    bins = a.bins
    if a.bins is not None and b.bins is not None:
        bins = a.bins.merged(b.bins)
    comments: dict = dict(a.interface_comments)
    left = MAX_COMMENTS - sum(len(c) for c in comments.values())
    for name, c in b.interface_comments.items():
        if left > 0:
            comments[name] = comments.get(name, ()) + tuple(c[:left])
            left -= min(left, len(c))
    return Part(flows, a.sent_packets + b.sent_packets, a.sent_bytes + b.sent_bytes,
                observed, loads, bins, a.snapped + b.snapped,
                {**a.interface_stats, **b.interface_stats},
                (a.sections + b.sections)[:MAX_SECTIONS],
                {**b.descriptions, **a.descriptions}, comments, a.files + b.files,
                tuple(dict.fromkeys(a.assumptions + b.assumptions)), None,
                _span(a.span, b.span))


def _span(a: tuple[int, int] | None, b: tuple[int, int] | None) -> tuple[int, int] | None:
    if a is None or b is None:
        return a or b
    return min(a[0], b[0]), max(a[1], b[1])


def _remapped(mine: np.ndarray, theirs: np.ndarray, remap: list[int]) -> np.ndarray:
    """Per-interface counts ``mine`` plus ``theirs``, whose interface j is ``remap[j]``."""
    idx = np.asarray(remap[: len(theirs)], np.int64)
    out = plus(mine, np.zeros(int(idx.max()) + 1 if len(idx) else 0, np.int64))
    np.add.at(out, idx, theirs[: len(idx)])
    return out


def merge_all_parts(parts: Iterable[Part], empty: Part) -> Part:
    """The parts merged left to right as a balanced tree, as they come
    (:func:`~hashscope.flows.summary.merge_tree`); ``empty`` if none."""
    return merge_tree(parts, merge_parts, lambda: empty)


def empty_part(n_members: int, track: list[list[bool]], bins: TimeBins | None) -> Part:
    """A part of no file; ``track``: per policy and key, whether it keeps flows."""
    loads = [[LoadPart(np.zeros(n_members, np.int64), np.zeros(n_members, np.int64), 0, 0,
                       np.zeros(0, np.uint64) if t else None) for t in keys]
             for keys in track]
    return Part(empty_summary(), loads=loads, bins=bins)


def with_loads(part: Part, loads: dict[tuple[int, int], LoadPart], bins: TimeBins | None
               ) -> Part:
    """``part`` with the loads of its ordered policies (computed after, in order:
    :mod:`.ordered`) put in, at (policy, key), and their bytes over time added."""
    out = [list(x) for x in part.loads]
    for (i, k), ld in loads.items():
        out[i][k] = ld
    merged = part.bins.merged(bins) if part.bins is not None and bins is not None else part.bins
    return replace(part, loads=out, bins=merged)
