"""One pass over the captures: flows, and per policy the load each member gets.

Memory follows the number of flows, header signatures and members, never the number of
packets: each batch is keyed into the flow table (and the signature table), assigned by
every policy, and folded into per-member counters and a per-flow bit mask of the members
it used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hashscope.capture.interfaces import survey
from hashscope.capture.reader import CaptureReader, ProgressHandler, WarningHandler
from hashscope.decode.merge import TimeOrderedReader
from hashscope.decode.tables import packet_tables
from hashscope.errors import CaptureWarning, SetupError
from hashscope.flows.table import FlowTable, packet_keys
from hashscope.hashes.policy import Assigner, Assignment, Policy, Setup
from hashscope.hashes.registry import applicable_policies, make_assigner
from hashscope.hashes.signature import signature_keys
from hashscope.members import LINK_NOT_SENT
from hashscope.threads import background

from .detect import detect_local
from .direction import ALL_SENT, DIRECTION_FLAGS, LocalHost, sent_mask
from .duplicates import MemberFrames
from .imbalance import Imbalance, imbalance
from .loads import LinkLoad, plus
from .observed import (
    FrameTally,
    MemberComparison,
    MemberFold,
    compare_members,
    member_of,
    observes_members,
)
from .records import keyed_records
from .signatures import Batch, SignatureFold, SignatureHashes
from .spans import member_spans, overlap_warning
from .timeline import TimeBins, Timeline

DEFAULT_KEYS = 32  #: random keys tried for a keyed policy without --seed
SIGNATURES_AFTER = 16  #: hashes per decoded frame beyond which signatures are faster


@dataclass
class PolicyResult:
    """What one policy does with the traffic."""

    policy: Policy
    setup: Setup
    load: LinkLoad  #: for the given key, or the first of the random keys
    keys: list[int] = field(default_factory=list)  #: random keys tried (keyed, no --seed)
    key_imbalance: list[Imbalance] = field(default_factory=list)  #: one per key
    observed: MemberComparison | None = None  #: with captures taken on the members

    def imbalance(self) -> Imbalance:
        return imbalance(self.load.bytes[self.setup.members.up])


@dataclass
class Analysis:
    flows: pd.DataFrame
    packets: int  #: packets read
    sent_packets: int  #: packets the bonded host transmitted (all, without --local)
    sent_bytes: int
    observed: pd.DataFrame  #: sent packets and bytes per capture interface
    results: list[PolicyResult]
    assumptions: list[str]
    warnings: list[CaptureWarning]
    on_members: pd.DataFrame | None = None  #: MemberFold.frame, with member captures
    timeline: Timeline | None = None  #: with ``timeline``: bytes over time per member
    snapped: int = 0  #: frames cut by the snap length (captured shorter than on the wire)
    duplicates: int = 0  #: frames seen twice, counted once (member captures)
    interface_stats: dict = field(default_factory=dict)  #: pcapng ISB counters by interface
    captures: CaptureText | None = None  #: what the files say about themselves


@dataclass(frozen=True)
class CaptureText:
    """The text the capture files carry (not to be trusted: escape it for any output)."""

    files: tuple[tuple[str, tuple[str, ...]], ...]  #: each file and its interfaces
    sections: tuple  #: pcapng.SectionText of every section read
    descriptions: dict  #: interface -> if_description
    interface_comments: dict  #: interface -> its IDB's comments


def _assigners(policy: Policy, setup: Setup, keys: int) -> tuple[list[Assigner], list[int]]:
    if policy.keyed and setup.seed is None:
        seeds = [int(k) for k in np.random.default_rng(0x5EED).integers(0, 2**32, keys)]
        return [make_assigner(policy, setup.with_seed(k)) for k in seeds], seeds
    return [make_assigner(policy, setup)], []


def assigned_batches(reader: CaptureReader, assigner: Assigner, local: LocalHost | None
                     ) -> Iterator[tuple[np.ndarray, Assignment]]:
    """(packet table, assignment) per batch, in capture order; unsent frames marked."""
    for pk in background(packet_tables(reader)):
        sent = sent_mask(pk, local)
        if sent.all():
            yield pk, assigner.assign(pk)
            continue
        a, n = assigner.assign(pk[sent]), len(pk)  # only sent frames move the bond's state
        full = Assignment(np.zeros(n, np.uint32), np.zeros(n, bool),
                          np.full(n, LINK_NOT_SENT, np.int64))
        full.hash[sent], full.has_hash[sent], full.link[sent] = a.hash, a.has_hash, a.link
        yield pk, full


def analyze(paths: Sequence[str], policies: Sequence[Policy], setup: Setup,
            local: LocalHost | None = None, keys: int = DEFAULT_KEYS,
            on_warning: WarningHandler | None = None,
            on_progress: ProgressHandler | None = None,
            on_start: Callable[[int | None], None] | None = None,
            signatures: bool | None = None, observe: bool = True,
            timeline: bool = False, flows_of_first: bool = False) -> Analysis:
    """Read the captures once and run every policy over the frames the bond sent.

    With ``signatures``, policies whose members follow from the headers alone hash each
    header signature once (:mod:`hashscope.hashes.signature`), and ordered ones (round
    robin, OVS's buckets) see every frame in order; then, unless a policy needs every
    frame's row (balance-rr, FreeBSD roundrobin), the frames are keyed straight from the
    records (:mod:`hashscope.analysis.records`), not decoded into packet tables. Without,
    every policy hashes every frame of the packet tables. Both give the same result; by
    default signatures are used where more than one hash runs per frame (several
    policies, or random keys), where they are faster.

    ``observe``: where the captures name the members (:mod:`.observed`), join each
    policy's prediction with what they carried (``PolicyResult.observed``).

    ``timeline``: bin the bytes over time (:class:`Analysis.timeline`), per member as the
    first policy (its first key) predicts them (``predicted:NAME``), and with member
    captures as each member carried them (``transmit:NAME``, ``receive:NAME``). That policy
    then sees every frame.

    ``flows_of_first``: only the first policy keeps the members of each flow (the others
    only their loads per member: cheaper, and all that a comparison needs).
    """
    peeked = survey(paths)  # each file's first records, once
    members_seen = observe and observes_members(peeked.names, setup.members)
    flags = peeked.directions
    if flags:  # a header signature holds no direction: every frame hashed, as it was sent
        signatures = False
    reader = (TimeOrderedReader(paths, on_warning, on_progress, peeked) if members_seen
              else CaptureReader(paths, on_warning=on_warning, on_progress=on_progress))
    if on_start:
        on_start(reader.total_size())
    runs = []
    for p in policies:
        assigners, seeds = _assigners(p, setup, keys)
        loads = [LinkLoad(setup.members.count,
                          track_flows=i == 0 and (not flows_of_first or not runs))
                 for i in range(len(assigners))]
        runs.append((p, assigners, seeds, loads))
    pairs = [(a, ld) for _, assigners, _, loads in runs for a, ld in zip(assigners, loads,
                                                                        strict=True)]
    pinned = pairs[0][0] if timeline and pairs else None
    folded, apart, in_order = _paths(pairs, signatures, pinned)
    n_members = setup.members.count
    bins = (TimeBins([f"{kind}:{m}" for kind in ("predicted", "transmit", "receive")
                      for m in setup.members.names]) if timeline else None)
    apart = [(SignatureHashes(a), ld) for a, ld in apart]
    offload = setup.vlan == "offload"
    sigs = SignatureFold(offload, local) if folded or apart else None
    table, up = FlowTable(), setup.members.up
    packets = sent_packets = sent_bytes = 0
    obs_packets, obs_bytes = np.zeros(0, np.int64), np.zeros(0, np.int64)
    frames = MemberFrames(reader.registry, setup.members) if members_seen else None
    told = [DIRECTION_FLAGS + (f"; elsewhere {local.describe()}" if local else "")] \
        if flags else []
    if frames is not None and local is None and not flags:
        local, how = detect_local(paths, setup.members)
        told = [f"direction: {how}"]
    if sigs is not None and not in_order and frames is None:  # keyed from the records
        batches = _record_batches(reader, offload)
    else:
        tables = packet_tables(reader) if frames is None else (
            frames.keep(pk) for pk in reader.tables())  # member captures, in time order
        batches = (Batch(pk["depth"], pk["wirelen"], pk["ts_ns"], pk["iface"],
                         packet_keys(pk), signature_keys(pk, offload) if sigs else None, pk)
                   for pk in tables)
    fold = MemberFold() if frames is not None else None
    tallies: dict[int, FrameTally] = {}
    for b in background(batches):
        fids = table.add_keyed(b.depth, b.wirelen, b.ts_ns, b.iface, *b.flow_keys)
        if sigs is not None:
            sids, hashed, sent, rest, waiting = sigs.add(b, fids)
        else:
            sent = b.sent(local)
        packets += len(fids)
        sent_packets += int(sent.sum())
        sent_bytes += int(b.wirelen[sent].sum())
        if fold is not None:
            fold.add(fids, b.iface, b.wirelen, b.ts_ns, sent)
        obs_packets = plus(obs_packets, np.bincount(b.iface[sent]))
        obs_bytes = plus(obs_bytes, np.bincount(b.iface[sent], weights=b.wirelen[sent]))
        seen_on = (member_of(reader.registry.names(), setup.members)[b.iface]
                   if frames is not None else None)
        for assigner, load in in_order:
            link = _sent_only(lambda m, a=assigner, t=b.table: a.assign(t[m]).link, sent)
            _tally(tallies, load, link, seen_on, b.wirelen)
            if assigner is pinned:
                bins.add(link, b.ts_ns, b.wirelen)
            _add(load, link, fids, sent, up, b.wirelen)
        if bins is not None and seen_on is not None:
            bins.add(np.where(seen_on < 0, -1, seen_on + np.where(sent, 1, 2) * n_members),
                     b.ts_ns, b.wirelen)
        if sigs is None:
            continue
        _add_each(folded, waiting, up)
        ts, size = np.ascontiguousarray(b.ts_ns), np.ascontiguousarray(b.wirelen)
        for cache, load in apart:
            cache.extend(sigs.fresh)
            bucket = cache.frames(sids, hashed, rest)
            routed = _sent_only(lambda m, a=cache.assigner, k=bucket, t=ts, s=size:
                                a.route(k[m], t[m], s[m]), sent)
            _tally(tallies, load, routed, seen_on, size)
            _add(load, routed, fids, sent, up, size)
    if sigs is not None:
        _add_each(folded, sigs.flush(), up)
    if folded and sigs.table.n:
        rows, flows, counts, sizes = sigs.rows()
        sent = sent_mask(rows, local)
        for assigner, load in folded:
            _add(load, assigner.assign(rows).link, flows, sent, up, sizes, counts)
    results = []
    for p, _, seeds, loads in runs:
        results.append(PolicyResult(p, setup if not seeds else setup.with_seed(seeds[0]),
                                    loads[0], seeds,
                                    [imbalance(ld.bytes[up]) for ld in loads] if seeds else []))
    names = reader.registry.names()
    observed = pd.DataFrame({"interface": names,
                             "packets": plus(obs_packets, np.zeros(len(names)))[: len(names)],
                             "bytes": plus(obs_bytes, np.zeros(len(names)))[: len(names)]})
    assumptions = (told + ([] if local is not None or flags else [ALL_SENT])
                   + (frames.notes() if frames else []))
    on_members = None
    if fold is not None and observes_members(names, setup.members):
        on_members = fold.frame(names, setup.members)
        for r in results:  # a load without each flow's members predicts no flow's member
            if r.load.flow_links is not None:
                r.observed = compare_members(on_members, r.load, setup.members,
                                             tallies.get(id(r.load)))
        spans = member_spans(on_members, setup.members.names)
        barely = overlap_warning(spans)
        if barely:
            reader.warn(",".join(setup.members.names), None, barely)
    return Analysis(table.frame(names), packets, sent_packets, sent_bytes, observed, results,
                    assumptions, reader.warnings, on_members,
                    bins.timeline() if bins is not None else None,
                    snapped=sum(reader.snapped.values()),
                    duplicates=frames.duplicates.dropped if frames else 0,
                    interface_stats=dict(reader.interface_stats),
                    captures=CaptureText(tuple((str(f.path), f.names) for f in peeked.peeks),
                                         tuple(reader.sections), dict(reader.descriptions),
                                         dict(reader.interface_comments)))


def _paths(pairs: list, signatures: bool | None, pinned: Assigner | None = None
           ) -> tuple[list, list, list]:
    """(assigner, load) pairs split by how they see the frames: (by signature; hashed by
    signature and routed frame by frame; every frame of the packet tables). The ``pinned``
    assigner sees every frame of the packet tables."""
    ordered = [(a, ld) for a, ld in pairs
               if (a.ordered and not hasattr(a, "route")) or a is pinned]
    if signatures is None:  # one hash per frame is faster frame by frame, from tables
        # with a pinned assigner every frame is decoded anyway: signatures pay off only
        # for many hashes per frame (random keys)
        signatures = len(pairs) - len(ordered) > (SIGNATURES_AFTER if pinned else 1)
    folded = [(a, ld) for a, ld in pairs if signatures and not a.ordered and a is not pinned]
    apart = [(a, ld) for a, ld in pairs
             if signatures and a.ordered and hasattr(a, "route") and a is not pinned]
    in_order = [(a, ld) for a, ld in pairs if not signatures or (a, ld) in ordered]
    return folded, apart, in_order


def keyed_from_records(policies: Sequence[Policy], setup: Setup, keys: int = DEFAULT_KEYS
                       ) -> bool:
    """Whether :func:`analyze` (by default) keys these policies' frames straight from the
    records; else it decodes them into packet tables."""
    pairs = [(a, None) for p in policies for a in _assigners(p, setup, keys)[0]]
    folded, apart, in_order = _paths(pairs, None)
    return bool(folded or apart) and not in_order


def _record_batches(reader: CaptureReader, offload: bool) -> Iterator[Batch]:
    """Batches keyed straight from the records, the walk a stage (thread) ahead, as
    :func:`hashscope.read_flows` reads."""
    for b in background(reader.batches()):
        depth, fw, fh, sw, sh, hashed, rest = keyed_records(b, reader.registry.linktypes(),
                                                            offload)
        yield Batch(depth, b.wirelen, b.ts_ns, b.iface, (fw, fh), (sw, sh, hashed), rest=rest)


def _tally(tallies: dict, load: LinkLoad, link: np.ndarray, seen_on: np.ndarray | None,
           size: np.ndarray) -> None:
    """With member captures, count an ordered policy's frames against their members."""
    if seen_on is not None and load.flow_links is not None:  # the shown key's load
        tallies.setdefault(id(load), FrameTally()).add(link, seen_on, size)


def _sent_only(members: Callable[[np.ndarray | slice], np.ndarray], sent: np.ndarray
               ) -> np.ndarray:
    """The members of a batch's frames from ``members`` (given which frames), asked of the
    sent frames only: a received frame never moves an ordered bond's state (a round-robin
    counter, OVS's bucket bytes)."""
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


def compare(paths: Sequence[str], setup: Setup, local: LocalHost | None = None,
            keys: int = 16, **handlers) -> Analysis:
    """Every policy that exists for ``setup`` over the captures, keeping those that placed
    any frame (``handlers``: ``on_warning``, ``on_progress``, ``on_start`` of
    :func:`analyze`)."""
    result = analyze(paths, applicable_policies(setup), setup, local, keys, **handlers)
    result.results = [r for r in result.results if r.load.packets.sum() or r.load.bytes.sum()]
    return result


def assign(paths: Sequence[str], policy: Policy, setup: Setup, local: LocalHost | None = None,
           on_warning: WarningHandler | None = None
           ) -> Iterator[tuple[np.ndarray, Assignment]]:
    """(packet table, assignment) per batch of the captures, in capture order: the member of
    every frame. A keyed policy needs its key (``setup.seed``): SetupError without it."""
    if policy.keyed and setup.seed is None:
        raise SetupError("seed", f"{policy.name} hashes with a random key: give {{option}} K "
                                 "for per-packet members (analyze and compare show the "
                                 "spread over random keys)")
    reader = CaptureReader(paths, on_warning=on_warning)
    return assigned_batches(reader, make_assigner(policy, setup), local)
