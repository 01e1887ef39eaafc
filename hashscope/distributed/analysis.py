"""``analyze`` on a Dask cluster (:class:`~.cluster.Cluster`): the same result as in process.

1. Each file is peeked (its interfaces and first frame's time): by the client for a
   local cluster, else in one task per worker of the hosts that have it; the run is
   planned from that (:func:`hashscope.analysis.run.plan_run`).
2. One task per file reads it into its part (:func:`hashscope.analysis.reading.file_read`):
   flows, per policy and key the load per member, bytes over time. Never a packet table.
3. Policies whose members depend on the order (balance-rr, OVS's buckets) also keep, of
   each file's sent frames, what they read (:class:`~hashscope.analysis.ordered.SentFrames`),
   on the worker that read it; a chain of small tasks per stream of files (one capture
   point, its files by first frame's time) carries their state from file to file and
   places the frames. Streams run in parallel; the reads never wait for the chain.
4. The parts merge pairwise on the workers, in file order
   (:func:`hashscope.analysis.parts.merge_parts`, associative).

Member captures are read as one task: their frames are joined in time order, across the
files, to tell copies apart.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial

from hashscope.analysis.analyze import Analysis, finish
from hashscope.analysis.direction import LocalHost
from hashscope.analysis.ordered import Carry, SentFrames, order_warnings
from hashscope.analysis.parts import LoadPart, Part, grown, merge_parts, with_loads
from hashscope.analysis.reading import file_read, read_part
from hashscope.analysis.run import DEFAULT_KEYS, Plan, plan_run
from hashscope.capture.interfaces import FilePeek, Survey, files, peek, settings
from hashscope.capture.reader import ProgressHandler, WarningHandler
from hashscope.hashes.policy import Policy, Setup

from .cluster import Cluster, TaskProgress, no_stdin, one_thread


def peek_task(paths: list, extra) -> list[FilePeek]:
    return [peek(p, extra) for p in paths]


def read_task(plan: Plan, peeked: FilePeek, token: int) -> tuple[Part, SentFrames | None]:
    """The worker's task for one capture file: its part, and with ordered policies what
    they need of its sent frames."""
    one_thread()
    return file_read(plan, peeked, None, on_progress=TaskProgress(token))


def members_task(plan: Plan, paths: list, peeked: Survey) -> Part:
    """Every member capture, joined in time order: one part."""
    one_thread()
    return read_part(plan, paths, peeked, plan.carry(), on_progress=TaskProgress(0))[0]


def part_of(read: tuple) -> Part:
    return read[0]


def frames_of(read: tuple) -> SentFrames:
    return read[1]


def place_task(carry: Carry, frames: SentFrames, plan: Plan
               ) -> tuple[Carry, dict[tuple[int, int], LoadPart], object]:
    """The next file of a stream under its ordered policies: (the state after it, their
    loads, the pinned one's bytes over time)."""
    carry = copy.deepcopy(carry)  # a task's input is not to be changed
    n = int(frames.fids.max(initial=-1)) + 1
    track = plan.track()
    loads, bins = carry.placed(frames, plan.setup.members.count, plan.setup.members.up,
                               {s: track[s[0]][s[1]] for s in carry.assigners})
    return carry, {s: LoadPart.of(ld, n) for s, ld in loads.items()}, bins


def carry_of(placed: tuple) -> Carry:
    return placed[0]


def attach_task(part: Part, placed: tuple) -> Part:
    """A file's part with its ordered policies' loads."""
    _, loads, bins = placed
    n = len(part.flows.keys)  # the frames named some of the part's flows: all of them
    for ld in loads.values():
        if ld.flow_links is not None:
            ld.flow_links = grown(ld.flow_links, n)
    return with_loads(part, loads, bins)


def span_of(part: Part):
    return part.span


def _warm(plan: Plan) -> Callable[[str], object]:
    plan = replace(plan, members_seen=False, cache=None)  # every compiled step, no file kept

    def work(path: str) -> object:
        p = peek(path)
        part, frames = file_read(plan, p, None)
        if frames is not None:
            place_task(plan.carry(), frames, plan)
        return merge_parts(part, part)
    return work


def analyze_dask(cluster: Cluster, paths: Sequence, policies: Sequence[Policy], setup: Setup,
                 local: LocalHost | None = None, keys: int = DEFAULT_KEYS,
                 on_warning: WarningHandler | None = None,
                 on_progress: ProgressHandler | None = None,
                 on_start: Callable[[int | None], None] | None = None,
                 signatures: bool | None = None, observe: bool = True,
                 timeline: bool = False, flows_of_first: bool = False,
                 cache: str | None = None) -> Analysis:
    """:func:`hashscope.analysis.analyze.analyze` on ``cluster``: the same arguments and
    result."""
    capture_files = files(paths)
    no_stdin(capture_files)
    extra = tuple(settings(paths))
    where, sizes = cluster.placement(capture_files)
    if on_start:
        on_start(sum(sizes))
    peeks = cluster.map_chunks(partial(peek_task, extra=extra), capture_files, where)
    peeked = Survey(tuple(peeks), extra)
    plan = plan_run(peeked, policies, setup, local, keys, signatures, observe, timeline,
                    flows_of_first, cache)
    cluster.warm(f"analyze {id(plan)}", _warm(plan))
    warnings = []
    client = cluster.client
    if plan.members_seen:
        anywhere = [w for w in where if w is not None]
        last = client.submit(members_task, plan, list(paths), peeked, pure=False,
                             workers=anywhere[0] if anywhere else None)
        tasks = [last]
        sizes = [sum(sizes)]
    else:
        reads = [client.submit(read_task, plan, p, k, workers=w, pure=False)
                 for k, (p, w) in enumerate(zip(peeks, where, strict=True))]
        tasks = reads
        parts = [client.submit(part_of, r, pure=False) for r in reads]
        if plan.ordered():
            streams = plan.reads(peeked)
            for stream in streams:
                carry = plan.carry()
                for k in stream:
                    frames = client.submit(frames_of, reads[k], pure=False)
                    placed = client.submit(place_task, carry, frames, plan, pure=False)
                    carry = client.submit(carry_of, placed, pure=False)
                    parts[k] = client.submit(attach_task, parts[k], placed, pure=False)
            spans = client.gather([client.submit(span_of, x, pure=False) for x in parts])
            warnings = order_warnings(streams, dict(enumerate(spans)),
                                      [f.path for f in peeks])
        last = cluster.tree(parts, merge_parts)
    stop = cluster.progress(tasks, sizes, on_progress)
    try:
        part = last.result() if last is not None else plan.empty()
    finally:
        stop()
    result = finish(plan, part, warnings)
    for w in result.warnings:
        if on_warning:
            on_warning(w)
    return result
