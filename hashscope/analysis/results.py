"""What an analysis gives: per policy the load each member gets, and what the captures say."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from hashscope.errors import CaptureWarning
from hashscope.hashes.policy import Policy, Setup

from .imbalance import Imbalance, imbalance
from .loads import LinkLoad
from .observed import MemberComparison
from .timeline import Timeline


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


@dataclass(frozen=True)
class CaptureText:
    """The text the capture files carry (not to be trusted: escape it for any output)."""

    files: tuple[tuple[str, tuple[str, ...]], ...]  #: each file and its interfaces
    sections: tuple  #: pcapng.SectionText of every section read
    descriptions: dict  #: interface -> if_description
    interface_comments: dict  #: interface -> its IDB's comments


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
