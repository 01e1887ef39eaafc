"""One read: a capture file (or every member capture, in time order) into its
:class:`~.parts.Part`.

Memory follows the number of flows, header signatures and members, never the number of
packets: each batch is keyed into the flow table (and the signature table), assigned by
every policy, and folded into per-member counters and a per-flow bit mask of the members
it used. Ordered policies place the sent frames through a :class:`~.ordered.Carry` as they
come, or keep what they need of them to be placed later (:class:`~.ordered.SentFrames`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from hashscope.capture.interfaces import FilePeek, Survey
from hashscope.capture.reader import CaptureReader, ProgressHandler, WarningHandler
from hashscope.decode.merge import TimeOrderedReader
from hashscope.decode.tables import packet_tables
from hashscope.flows.cache import cached
from hashscope.flows.read import table_summary
from hashscope.flows.table import FlowTable, packet_keys
from hashscope.hashes.signature import signature_keys
from hashscope.members import LINK_NOT_SENT
from hashscope.threads import background

from .detect import detect_local
from .direction import ALL_SENT, DIRECTION_FLAGS, sent_mask
from .duplicates import MemberFrames
from .loads import LinkLoad, plus
from .observed import FrameTally, MemberFold, member_of, observes_members
from .ordered import Carry, SentFrames, frame_input
from .parts import LoadPart, Part
from .records import keyed_records
from .run import Plan, split_paths
from .signatures import Batch, SignatureFold, SignatureHashes
from .spans import member_spans, overlap_warning
from .timeline import TimeBins


@dataclass
class MemberJoin:
    """With member captures: what each member carried, for the join with the
    predictions (:func:`~.observed.compare_members`), which needs the whole run."""

    frame: object  #: pandas.DataFrame: :meth:`~.observed.MemberFold.frame`, or None
    tallies: dict  #: slot -> FrameTally: frame by frame, for policies that see every frame
    duplicates: int


def read_part(plan: Plan, paths: Sequence, peeked: Survey, carry: Carry | None,
              on_warning: WarningHandler | None = None,
              on_progress: ProgressHandler | None = None) -> tuple[Part, SentFrames | None]:
    """Read ``paths`` (one file, with the run's settings; or with ``plan.members_seen``
    every member capture) into its part. ``peeked``: the survey of those paths.

    With ``carry`` the ordered policies place the frames as they come, their state
    carried on from the stream's earlier files; without, their loads are left empty and
    what they need of the sent frames is returned, to be placed in order later."""
    setup, local = plan.setup, plan.local
    flags = peeked.directions
    signatures = False if flags else plan.signatures  # a signature holds no direction
    members_seen = plan.members_seen
    reader = (TimeOrderedReader(paths, on_warning, on_progress, peeked) if members_seen
              else CaptureReader(paths, on_warning=on_warning, on_progress=on_progress))
    track = plan.track()
    runs = plan.runs()
    keep = carry if carry is not None else plan.carry()  # which slots are ordered
    slot_of, pairs = {}, []
    for i, (_, assigners, _) in enumerate(runs):
        for k, a in enumerate(assigners):
            if (i, k) in keep.assigners:
                a = keep.assigners[(i, k)]
            ld = LinkLoad(setup.members.count, track[i][k])
            slot_of[id(a)] = (i, k)
            pairs.append((a, ld))
    loads = {slot_of[id(a)]: ld for a, ld in pairs}
    pinned = pairs[0][0] if plan.timeline and pairs else None
    folded, apart, in_order = split_paths(pairs, signatures, pinned)
    ordered_in_order = [(a, ld) for a, ld in in_order if a.ordered]
    in_order = [(a, ld) for a, ld in in_order if not a.ordered]
    n_members, up = setup.members.count, setup.members.up
    bins = TimeBins(plan.series()) if plan.timeline else None
    apart = [(SignatureHashes(a), ld) for a, ld in apart]
    offload = setup.vlan == "offload"
    sigs = SignatureFold(offload, local) if folded or apart else None
    table = FlowTable()
    packets = sent_packets = sent_bytes = 0
    span = [None, None]
    obs_packets, obs_bytes = np.zeros(0, np.int64), np.zeros(0, np.int64)
    frames = MemberFrames(reader.registry, setup.members) if members_seen else None
    told = [DIRECTION_FLAGS + (f"; elsewhere {local.describe()}" if local else "")] \
        if flags else []
    if frames is not None and local is None and not flags:
        local, how = detect_local(paths, setup.members)
        told = [f"direction: {how}"]
    needs_rows = in_order or ordered_in_order or frames is not None
    if sigs is not None and not needs_rows:  # keyed from the records
        batches = _record_batches(reader, offload)
    else:
        tables = packet_tables(reader) if frames is None else (
            frames.keep(pk) for pk in reader.tables())  # member captures, in time order
        batches = (Batch(pk["depth"], pk["wirelen"], pk["ts_ns"], pk["iface"],
                         packet_keys(pk), signature_keys(pk, offload) if sigs else None, pk)
                   for pk in tables)
    fold = MemberFold() if frames is not None else None
    tallies: dict = {}
    kept: list[SentFrames] = []
    for b in background(batches):
        fids = table.add_keyed(b.depth, b.wirelen, b.ts_ns, b.iface, *b.flow_keys)
        if sigs is not None:
            sids, hashed, sent, rest, waiting = sigs.add(b, fids)
        else:
            sent = b.sent(local)
        packets += len(fids)
        sent_packets += int(sent.sum())
        sent_bytes += int(b.wirelen[sent].sum())
        if len(b.ts_ns):
            lo, hi = int(b.ts_ns.min()), int(b.ts_ns.max())
            span = [lo if span[0] is None else min(span[0], lo),
                    hi if span[1] is None else max(span[1], hi)]
        if fold is not None:
            fold.add(fids, b.iface, b.wirelen, b.ts_ns, sent)
        obs_packets = plus(obs_packets, np.bincount(b.iface[sent]))
        obs_bytes = plus(obs_bytes, np.bincount(b.iface[sent], weights=b.wirelen[sent]))
        seen_on = (member_of(reader.registry.names(), setup.members)[b.iface]
                   if frames is not None else None)
        for assigner, load in in_order:
            link = _sent_only(lambda m, a=assigner, t=b.table: a.assign(t[m]).link, sent)
            if seen_on is not None and load.flow_links is not None:
                tallies.setdefault(slot_of[id(assigner)], FrameTally()).add(link, seen_on,
                                                                            b.wirelen)
            if assigner is pinned:
                bins.add(link, b.ts_ns, b.wirelen)
            _add(load, link, fids, sent, up, b.wirelen)
        if bins is not None and seen_on is not None:
            bins.add(np.where(seen_on < 0, -1, seen_on + np.where(sent, 1, 2) * n_members),
                     b.ts_ns, b.wirelen)
        got = SentFrames(fids[sent].astype(np.int32), b.wirelen[sent].astype(np.uint32),
                         np.asarray(b.ts_ns[sent], np.int64),
                         seen_on=seen_on[sent] if seen_on is not None else None)
        for assigner, _ in ordered_in_order:
            got.inputs[slot_of[id(assigner)]] = frame_input(assigner, b.table[sent])
        if sigs is not None:
            _add_each(folded, waiting, up)
            for cache, _ in apart:
                cache.extend(sigs.fresh)
                got.inputs[slot_of[id(cache.assigner)]] = cache.frames(sids, hashed,
                                                                       rest)[sent]
        if keep.assigners:
            if carry is not None:
                carry.place(got, loads, up, bins, tallies)
            else:
                kept.append(got)
    if sigs is not None:
        _add_each(folded, sigs.flush(), up)
    if folded and sigs.table.n:
        rows, flows, counts, sizes = sigs.rows()
        sent = sent_mask(rows, local)
        for assigner, load in folded:
            _add(load, assigner.assign(rows).link, flows, sent, up, sizes, counts)
    names = reader.registry.names()
    join = None
    if fold is not None:
        frame = None
        if observes_members(names, setup.members):
            frame = fold.frame(names, setup.members)
            barely = overlap_warning(member_spans(frame, setup.members.names))
            if barely:
                reader.warn(",".join(setup.members.names), None, barely)
        join = MemberJoin(frame, tallies, frames.duplicates.dropped)
    assumptions = (told + ([] if local is not None or flags else [ALL_SENT])
                   + (frames.notes() if frames else []))
    summary = table_summary(table, reader.registry.interfaces, packets, reader.warnings,
                            reader.total_size() or 0)
    n = table.n
    part = Part(summary, sent_packets, sent_bytes, (obs_packets, obs_bytes),
                [[LoadPart.of(loads[(i, k)], n) for k in range(len(assigners))]
                 for i, (_, assigners, _) in enumerate(runs)],
                bins, sum(reader.snapped.values()), dict(reader.interface_stats),
                tuple(reader.sections), dict(reader.descriptions),
                dict(reader.interface_comments),
                tuple((str(f.path), f.names) for f in peeked.peeks), tuple(assumptions),
                join, tuple(span) if span[0] is not None else None)
    return part, (SentFrames.join(kept) if carry is None and keep.assigners else None)


def _record_batches(reader: CaptureReader, offload: bool) -> Iterator[Batch]:
    """Batches keyed straight from the records, the walk a stage (thread) ahead, as
    :func:`hashscope.read_flows` reads."""
    for b in background(reader.batches()):
        depth, fw, fh, sw, sh, hashed, rest = keyed_records(b, reader.registry.linktypes(),
                                                            offload)
        yield Batch(depth, b.wirelen, b.ts_ns, b.iface, (fw, fh), (sw, sh, hashed), rest=rest)


def _sent_only(members: Callable[[np.ndarray | slice], np.ndarray], sent: np.ndarray
               ) -> np.ndarray:
    """The members of a batch's frames from ``members`` (given which frames), asked of the
    sent frames only."""
    if sent.all():
        return members(slice(None))
    link = np.full(len(sent), LINK_NOT_SENT, np.int64)
    link[sent] = members(sent)
    return link


def _add_each(pairs, frames: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
              up: np.ndarray) -> None:
    """Every (assigner, load) over frames (packets, flows, sent) one by one, if any."""
    if frames is not None:
        pk, fids, sent = frames
        for assigner, load in pairs:
            _add(load, assigner.assign(pk).link, fids, sent, up, pk["wirelen"])


def _add(load: LinkLoad, link: np.ndarray, fids: np.ndarray, sent: np.ndarray, up: np.ndarray,
         size: np.ndarray, count: np.ndarray | None = None) -> None:
    """Add frames to a policy's load, given their members (the array is written to)."""
    link[~sent] = LINK_NOT_SENT
    load.add(fids, link, up, size, count)



def file_read(plan: Plan, peek: FilePeek, carry: Carry | None,
              on_warning: WarningHandler | None = None,
              on_progress: ProgressHandler | None = None) -> tuple[Part, SentFrames | None]:
    """:func:`read_part` of one file of the run, given its :func:`peek`; or its entry in
    the run's cache (:meth:`Plan.summary_cache`)."""
    def read() -> tuple[Part, SentFrames | None]:
        return read_part(plan, [peek.path, *plan.extra], Survey((peek,), plan.extra), carry,
                         on_warning, on_progress)

    cache = plan.summary_cache()  # None with ordered policies: no frames to keep then
    if cache is None:
        return read()
    return cached(cache, peek.path, lambda: read()[0], lambda part: part.flows, on_warning,
                  on_progress), None
