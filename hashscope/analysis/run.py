"""The plan of an analysis: its policies and their keys, which files are read together,
and how each policy sees the frames (by header signature, or frame by frame)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hashscope.capture.interfaces import Survey
from hashscope.hashes.policy import Assigner, Policy, Setup
from hashscope.hashes.registry import make_assigner

from .direction import LocalHost
from .observed import observes_members
from .ordered import Carry
from .parts import Part, empty_part
from .timeline import TimeBins

DEFAULT_KEYS = 32  #: random keys tried for a keyed policy without --seed
SIGNATURES_AFTER = 16  #: hashes per decoded frame beyond which signatures are faster


def _assigners(policy: Policy, setup: Setup, keys: int) -> tuple[list[Assigner], list[int]]:
    if policy.keyed and setup.seed is None:
        seeds = [int(k) for k in np.random.default_rng(0x5EED).integers(0, 2**32, keys)]
        return [make_assigner(policy, setup.with_seed(k)) for k in seeds], seeds
    return [make_assigner(policy, setup)], []


@dataclass(frozen=True)
class Plan:
    """What every read of a run needs, the same wherever it runs (picklable)."""

    policies: tuple[Policy, ...]
    setup: Setup
    local: LocalHost | None
    keys: int
    signatures: bool | None
    timeline: bool
    flows_of_first: bool
    members_seen: bool  #: the captures were taken on the members: one part, in time order
    extra: tuple = ()  #: the run's IfindexNames
    cache: str | None = None  #: --cache DIR (:mod:`.cache`)

    def runs(self) -> list[tuple[Policy, list[Assigner], list[int]]]:
        """Per policy: its models (one per key) and the random keys (none: given)."""
        return [(p, *_assigners(p, self.setup, self.keys)) for p in self.policies]

    def track(self) -> list[list[bool]]:
        """Per policy and key, whether its load keeps each flow's members."""
        return [[k == 0 and (not self.flows_of_first or i == 0) for k in range(len(a))]
                for i, (_, a, _) in enumerate(self.runs())]

    def series(self) -> tuple[str, ...]:
        """The timeline's series."""
        return tuple(f"{kind}:{m}" for kind in ("predicted", "transmit", "receive")
                     for m in self.setup.members.names)

    def carry(self) -> Carry:
        """The ordered policies' models, fresh: one per stream of files."""
        ordered = {(i, k): a for i, (_, assigners, _) in enumerate(self.runs())
                   for k, a in enumerate(assigners) if a.ordered}
        pinned = (0, 0) if self.timeline and (0, 0) in ordered else None
        return Carry(ordered, pinned, self.series())

    def ordered(self) -> bool:
        """Whether a policy's members depend on the order of the frames."""
        return bool(self.carry().assigners)

    def empty(self) -> Part:
        """The part of no file."""
        return empty_part(self.setup.members.count, self.track(),
                          TimeBins(self.series()) if self.timeline else None)

    def summary_cache(self):
        """The run's :class:`~.cache.SummaryCache` (None: no --cache, or a run whose
        files' summaries depend on each other: ordered policies, member captures)."""
        if self.cache is None or self.members_seen or self.ordered():
            return None
        from .cache import part_cache

        return part_cache(self.cache, [p.name for p in self.policies], self.setup,
                          self.local, self.keys, self.timeline, self.flows_of_first,
                          self.extra)

    def reads(self, peeked: Survey) -> list[list[int]]:
        """The run's files as indices of ``peeked.peeks``, by stream (one capture point),
        each stream in the order its ordered policies' state runs over them (not for
        member captures: they are one read)."""
        return peeked.stream_order()


def plan_run(peeked: Survey, policies: Sequence[Policy], setup: Setup,
             local: LocalHost | None = None, keys: int = DEFAULT_KEYS,
             signatures: bool | None = None, observe: bool = True, timeline: bool = False,
             flows_of_first: bool = False, cache: str | None = None) -> Plan:
    """The :class:`Plan` of an analysis of the files ``peeked``."""
    members_seen = observe and observes_members(peeked.names, setup.members)
    return Plan(tuple(policies), setup, local, keys, signatures, timeline, flows_of_first,
                members_seen, peeked.extra, None if cache is None else str(cache))


def split_paths(pairs: list, signatures: bool | None, pinned: Assigner | None = None
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
    """Whether :func:`~.analyze.analyze` (by default) keys these policies' frames straight
    from the records; else it decodes them into packet tables."""
    pairs = [(a, None) for p in policies for a in _assigners(p, setup, keys)[0]]
    folded, apart, in_order = split_paths(pairs, None)
    return bool(folded or apart) and not in_order
