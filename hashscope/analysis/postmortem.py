"""Everything a post-mortem looks at, from one read of the captures (and, with captures
taken on the members, one more for ``infer``): the policy the bond runs, its family's
other policies over the same frames, the bytes over time, and what explains the members'
traffic."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from hashscope.capture.reader import ProgressHandler, WarningHandler
from hashscope.hashes.policy import Policy, Setup
from hashscope.hashes.registry import applicable_policies

from .analyze import DEFAULT_KEYS, Analysis, PolicyResult, analyze
from .direction import LocalHost
from .infer import Inference, infer


@dataclass
class PostMortem:
    analysis: Analysis  #: results[0] is the bond's policy, then its family's others
    link_bps: float | None  #: each member's speed, where known
    inferences: list[Inference] = field(default_factory=list)  #: with member captures

    @property
    def current(self) -> PolicyResult:
        return self.analysis.results[0]

    @property
    def setup(self) -> Setup:
        return self.current.setup

    def inference(self, direction: str) -> Inference | None:
        return next((i for i in self.inferences if i.direction == direction), None)


def alternatives(policy: Policy, setup: Setup) -> list[Policy]:
    """The policies the bond could run instead: its family's, for this set-up."""
    return [p for p in applicable_policies(setup)
            if p.family == policy.family and p.name != policy.name]


def post_mortem(paths: Sequence, policy: Policy, setup: Setup, local: LocalHost | None = None,
                link_bps: float | None = None, keys: int = DEFAULT_KEYS,
                on_warning: WarningHandler | None = None,
                on_progress: ProgressHandler | None = None, on_start=None,
                analyzer: Callable | None = None, key_search_run: Callable | None = None,
                cache: str | None = None) -> PostMortem:
    """Analyze the captures under ``policy`` (frame by frame: its bytes over time, and with
    member captures its agreement frame by frame) and its alternatives; where the captures
    were taken on the members, also infer what explains them. ``analyzer``: :func:`analyze`'s
    stand-in (a cluster's); ``key_search_run``: where infer's FreeBSD key search runs;
    ``cache``: :func:`analyze`'s."""
    policies = [policy, *alternatives(policy, setup)]
    a = (analyzer or analyze)(paths, policies, setup, local, keys, on_warning=on_warning,
                              on_progress=on_progress, on_start=on_start, timeline=True,
                              flows_of_first=True, cache=cache)
    pm = PostMortem(a, link_bps)
    if a.on_members is not None:
        pm.inferences = infer(paths, setup.members, local,
                              freebsd=policy.family == "freebsd", on_warning=None,
                              key_search_run=key_search_run)
    return pm
