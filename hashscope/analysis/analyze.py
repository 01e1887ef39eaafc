"""One pass over the captures: flows, and per policy the load each member gets.

Each file is read into a small :class:`~.parts.Part` (:mod:`.reading`) and the parts are
merged (:func:`~.parts.merge_parts`): what a cluster does too
(:mod:`hashscope.distributed.analysis`). Memory follows the number of flows, header
signatures and members, never the number of packets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np
import pandas as pd

from hashscope.capture.interfaces import Survey, survey
from hashscope.capture.reader import CaptureReader, ProgressHandler, WarningHandler
from hashscope.decode.tables import packet_tables
from hashscope.errors import SetupError
from hashscope.hashes.policy import Assigner, Assignment, Policy, Setup
from hashscope.hashes.registry import applicable_policies, make_assigner
from hashscope.members import LINK_NOT_SENT
from hashscope.threads import background

from .direction import LocalHost, sent_mask
from .imbalance import imbalance
from .loads import plus
from .observed import compare_members
from .ordered import order_warnings
from .parts import Part, merge_all_parts
from .reading import file_read, read_part
from .results import Analysis, CaptureText, PolicyResult
from .run import DEFAULT_KEYS, SIGNATURES_AFTER, Plan, keyed_from_records, plan_run

__all__ = ["DEFAULT_KEYS", "SIGNATURES_AFTER", "Analysis", "CaptureText", "PolicyResult",
           "analyze", "assign", "assigned_batches", "compare", "finish", "keyed_from_records",
           "packet_assigner"]


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
            timeline: bool = False, flows_of_first: bool = False,
            cache: str | None = None) -> Analysis:
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

    ``cache``: a directory keeping each file's part (:mod:`.cache`): a file read before,
    unchanged, under the same options, is not read again.

    Each file is read into a part of its own (:func:`~.reading.read_part`) and the parts
    are merged in file order; ordered policies run over each stream of files (one capture
    point's ring buffer) in the order of their first frames (:mod:`.ordered`). Member
    captures are one part, read in time order.
    """
    peeked = survey(paths)
    plan = plan_run(peeked, policies, setup, local, keys, signatures, observe, timeline,
                    flows_of_first, cache)
    if on_start:
        on_start(CaptureReader(paths).total_size())
    progress = _Progress(on_progress)
    if plan.members_seen:
        part = read_part(plan, paths, peeked, plan.carry(), on_warning, progress.next())[0]
        return finish(plan, part)

    def read(k: int, carry) -> Part:
        part = file_read(plan, peeked.peeks[k], carry, on_warning, progress.next())[0]
        progress.done += part.flows.size
        return part

    if not plan.ordered():  # the files in turn, merged as they come
        return finish(plan, merge_all_parts((read(k, None) for k in range(len(peeked.peeks))),
                                            plan.empty()))
    parts = {}
    streams = plan.reads(peeked)
    for stream in streams:
        carry = plan.carry()  # each stream's ordered state runs over its files in turn
        for k in stream:
            parts[k] = read(k, carry)
    part = merge_all_parts([parts[k] for k in sorted(parts)], plan.empty())
    return finish(plan, part, ordering(plan, peeked, streams, parts, on_warning))


def ordering(plan: Plan, peeked: Survey, streams: list[list[int]], parts: dict,
             on_warning: WarningHandler | None) -> list:
    """The warnings about files of a stream that overlap in time (:func:`order_warnings`),
    each told to ``on_warning`` too."""
    found = order_warnings(streams, {k: p.span for k, p in parts.items()},
                           [f.path for f in peeked.peeks])
    for w in found:
        if on_warning:
            on_warning(w)
    return found


class _Progress:
    """Bytes read over all the files, for a reader's progress handler per file."""

    def __init__(self, on_progress: ProgressHandler | None):
        self.on_progress, self.done = on_progress, 0

    def next(self) -> ProgressHandler | None:
        if self.on_progress is None:
            return None
        before, tell = self.done, self.on_progress
        return lambda n: tell(before + n)


def finish(plan: Plan, part: Part, warnings: Sequence = ()) -> Analysis:
    """The analysis of a run from the merge of its parts (and ``warnings`` found on the
    way)."""
    setup, up = plan.setup, plan.setup.members.up
    results = []
    for (p, _, seeds), pieces in zip(plan.runs(), part.loads, strict=True):
        loads = [x.load() for x in pieces]
        results.append(PolicyResult(p, setup if not seeds else setup.with_seed(seeds[0]),
                                    loads[0], seeds,
                                    [imbalance(ld.bytes[up]) for ld in loads] if seeds else []))
    names = [i.name for i in part.flows.interfaces]
    obs_packets, obs_bytes = part.observed
    observed = pd.DataFrame({"interface": names,
                             "packets": plus(obs_packets, np.zeros(len(names)))[: len(names)],
                             "bytes": plus(obs_bytes, np.zeros(len(names)))[: len(names)]})
    join, on_members = part.members, None
    if join is not None and join.frame is not None:
        on_members = join.frame
        for i, r in enumerate(results):  # a load without each flow's members predicts none
            if r.load.flow_links is not None:
                r.observed = compare_members(on_members, r.load, setup.members,
                                             join.tallies.get((i, 0)))
    flows = part.flows.result()
    return Analysis(flows.flows, part.flows.packets, part.sent_packets, part.sent_bytes,
                    observed, results, list(part.assumptions), [*flows.warnings, *warnings],
                    on_members, part.bins.timeline() if part.bins is not None else None,
                    snapped=part.snapped, duplicates=join.duplicates if join else 0,
                    interface_stats=dict(part.interface_stats),
                    captures=CaptureText(part.files, part.sections, dict(part.descriptions),
                                         dict(part.interface_comments)))


def compare(paths: Sequence[str], setup: Setup, local: LocalHost | None = None,
            keys: int = 16, analyzer: Callable | None = None, **handlers) -> Analysis:
    """Every policy that exists for ``setup`` over the captures, keeping those that placed
    any frame (``handlers``: ``on_warning``, ``on_progress``, ``on_start`` of
    :func:`analyze`; ``analyzer``: :func:`analyze`'s stand-in, e.g. a cluster's)."""
    result = (analyzer or analyze)(paths, applicable_policies(setup), setup, local, keys,
                              **handlers)
    result.results = [r for r in result.results if r.load.packets.sum() or r.load.bytes.sum()]
    return result


def assign(paths: Sequence[str], policy: Policy, setup: Setup, local: LocalHost | None = None,
           on_warning: WarningHandler | None = None
           ) -> Iterator[tuple[np.ndarray, Assignment]]:
    """(packet table, assignment) per batch of the captures, in capture order: the member of
    every frame. A keyed policy needs its key (``setup.seed``): SetupError without it."""
    reader = CaptureReader(paths, on_warning=on_warning)
    return assigned_batches(reader, packet_assigner(policy, setup), local)


def packet_assigner(policy: Policy, setup: Setup) -> Assigner:
    """The model that gives every packet its member: a keyed policy needs its key
    (``setup.seed``): SetupError without it."""
    if policy.keyed and setup.seed is None:
        raise SetupError("seed", f"{policy.name} hashes with a random key: give {{option}} K "
                                 "for per-packet members (analyze and compare show the "
                                 "spread over random keys)")
    return make_assigner(policy, setup)
