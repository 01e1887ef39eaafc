"""Policies whose members depend on the order of the frames, across files.

balance-rr's counter, FreeBSD's roundrobin sequence, OVS's buckets with their
rebalancing windows and a failover's link events carry state from frame to frame. The
read of a file keeps, of the frames the bond sent, only what such a policy reads
(:class:`SentFrames`: flow, size, time and, per policy, the OVS bucket or the few header
fields a counter looks at); :class:`Carry` holds the policies' state and places those
frames, file after file of one stream in time order. In one process the frames are
placed batch by batch as they are read; on a cluster each file's are kept where it was
read and placed by a chain of small tasks (:mod:`hashscope.distributed.analysis`), the
reads running in parallel. Both place the same frames through the same models, whose
results do not depend on how the frames are batched.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hashscope.errors import CaptureWarning

from .loads import LinkLoad
from .observed import FrameTally
from .timeline import TimeBins

#: the packet-table fields a counter-driven model (not OVS's buckets) reads besides each
#: frame's time and size: IGMP goes to the active slave in balance-rr
ORDER_FIELDS = ("ip_ver", "proto")

Slot = tuple[int, int]  #: (policy, key) of a run


@dataclass
class SentFrames:
    """The sent frames of a batch or a file that ordered policies still have to place."""

    fids: np.ndarray  #: int32: their flows (the part's)
    wirelen: np.ndarray  #: uint32
    ts_ns: np.ndarray  #: int64
    inputs: dict[Slot, np.ndarray] = field(default_factory=dict)  #: buckets, or rows
    seen_on: np.ndarray | None = None  #: with member captures: the member each was on

    @classmethod
    def join(cls, parts: list[SentFrames]) -> SentFrames:
        if not parts:
            return cls(np.zeros(0, np.int32), np.zeros(0, np.uint32), np.zeros(0, np.int64))
        slots = parts[0].inputs
        return cls(*(np.concatenate([getattr(p, a) for p in parts])
                     for a in ("fids", "wirelen", "ts_ns")),
                   {s: np.concatenate([p.inputs[s] for p in parts]) for s in slots})


def order_rows(table: np.ndarray) -> np.ndarray:
    """Of packet-table rows, the fields a counter-driven model reads besides the time and
    size (a small copy: 2 bytes a frame)."""
    out = np.empty(len(table), [(f, table.dtype[f]) for f in ORDER_FIELDS])
    for f in ORDER_FIELDS:
        out[f] = table[f]
    return out


def _rows(got: np.ndarray, frames: SentFrames) -> np.ndarray:
    """:func:`order_rows` with the frames' times and sizes: what the model reads."""
    out = np.empty(len(got), [*got.dtype.descr, ("ts_ns", np.int64), ("wirelen", np.uint32)])
    for f in ORDER_FIELDS:
        out[f] = got[f]
    out["ts_ns"], out["wirelen"] = frames.ts_ns, frames.wirelen
    return out


def frame_input(assigner, rows: np.ndarray) -> np.ndarray:
    """What an ordered model needs of sent frames (packet-table rows): their buckets
    where it routes by bucket (OVS: a function of the headers alone), else
    :func:`order_rows`."""
    return assigner.buckets(rows) if hasattr(assigner, "route") else order_rows(rows)


class Carry:
    """The ordered policies of a run with their state, over one stream of files.

    ``assigners``: {slot: its model}; ``pinned``: the slot whose members are binned over
    time, if ordered. Picklable: a chain of tasks passes it on.
    """

    def __init__(self, assigners: dict[Slot, object], pinned: Slot | None,
                 series: tuple[str, ...]):
        self.assigners, self.pinned, self.series = assigners, pinned, series

    def place(self, frames: SentFrames, loads: dict[Slot, LinkLoad], up: np.ndarray,
              bins: TimeBins | None = None, tallies: dict | None = None) -> None:
        """Place ``frames`` (in order, after those placed before) under every ordered
        policy: add them to ``loads`` (by slot), the pinned one's to ``bins``, and with
        member captures count them against their members (``tallies``, by slot)."""
        if not len(frames.fids):  # (no frame: no state moves)
            return
        for slot, a in self.assigners.items():
            got = frames.inputs[slot]
            link = (a.route(got, frames.ts_ns, frames.wirelen) if hasattr(a, "route")
                    else a.assign(_rows(got, frames)).link)
            link = np.asarray(link, np.int64)
            if tallies is not None and frames.seen_on is not None:
                tallies.setdefault(slot, FrameTally()).add(link, frames.seen_on,
                                                           frames.wirelen)
            if bins is not None and slot == self.pinned:
                bins.add(link, frames.ts_ns, frames.wirelen)
            loads[slot].add(frames.fids, link, up, frames.wirelen)

    def placed(self, frames: SentFrames, n_members: int, up: np.ndarray,
               track: dict[Slot, bool]) -> tuple[dict[Slot, LinkLoad], TimeBins | None]:
        """:meth:`place` into fresh loads (``track``: which keep flows) and bins."""
        loads = {s: LinkLoad(n_members, track[s]) for s in self.assigners}
        bins = TimeBins(self.series) if self.pinned is not None else None
        self.place(frames, loads, up, bins)
        return loads, bins


def order_warnings(streams: list[list[int]], spans: dict[int, tuple[int, int] | None],
                   paths: list) -> list[CaptureWarning]:
    """One warning per stream whose files overlap in time: an ordered policy runs over
    them one after the other, in the order of their first frames, which is then not the
    order the bond sent their frames in."""
    out = []
    for stream in streams:
        seen = [k for k in stream if spans.get(k) is not None]
        over = [(spans[before][1] - spans[k][0], before, k)
                for before, k in zip(seen, seen[1:], strict=False)
                if spans[k][0] < spans[before][1]]
        if not over:
            continue
        most, before, k = max(over)
        many = (f" ({len(over)} of the stream's {len(seen)} files overlap the one before "
                "them; this one the most)" if len(over) > 1 else "")
        out.append(CaptureWarning(str(paths[k]), None, (
            f"starts {most / 1e9:.6f} s before {paths[before]} ends{many}: policies that "
            "depend on the order of the frames (balance-rr, roundrobin, OVS's buckets, "
            "link events) take a stream's files one after the other, in the order of "
            "their first frames")))
    return out
