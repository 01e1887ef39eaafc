"""One pass over the captures: flows, and per policy the load each member gets.

Memory follows the number of flows and members, never the number of packets: each
batch is decoded, keyed into the flow table, assigned by every policy, and folded into
per-member counters and a per-flow bit mask of the members it used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hashscope.api import packet_tables
from hashscope.capture.reader import CaptureReader, ProgressHandler, WarningHandler
from hashscope.errors import CaptureWarning
from hashscope.flows.table import FlowTable, packet_keys
from hashscope.hashes.policy import Assigner, Assignment, Policy, Setup, make_assigner
from hashscope.members import LINK_ALL, LINK_NOT_SENT, LINK_UNKNOWN
from hashscope.threads import background

from .direction import ALL_SENT, LocalHost, sent_mask
from .imbalance import Imbalance, imbalance

DEFAULT_KEYS = 32  #: random keys tried for a keyed policy without --seed


class LinkLoad:
    """Per-member packets and bytes of one policy (one key), plus flows per member."""

    def __init__(self, n_links: int, track_flows: bool):
        self.packets = np.zeros(n_links, np.int64)
        self.bytes = np.zeros(n_links, np.int64)
        self.unknown_packets = 0
        self.unknown_bytes = 0
        self.flow_links = np.zeros(1024, np.uint64) if track_flows else None

    def add(self, packets: np.ndarray, fids: np.ndarray, a: Assignment, up: np.ndarray
            ) -> None:
        n = len(self.packets)
        link, size = a.link, packets["wirelen"].astype(np.int64)
        one = (link >= 0) & (fids >= 0)
        self.packets += np.bincount(link[one], minlength=n)[:n]
        self.bytes += np.bincount(link[one], weights=size[one], minlength=n)[:n].astype(
            np.int64)
        everywhere = (link == LINK_ALL) & (fids >= 0)
        self.packets[up] += int(everywhere.sum())
        self.bytes[up] += int(size[everywhere].sum())
        unknown = (link == LINK_UNKNOWN) & (fids >= 0)
        self.unknown_packets += int(unknown.sum())
        self.unknown_bytes += int(size[unknown].sum())
        if self.flow_links is not None:
            self._mark(fids, link, up, one, everywhere)

    def _mark(self, fids, link, up, one, everywhere) -> None:
        top = int(fids.max(initial=-1)) + 1
        if top > len(self.flow_links):
            grown = np.zeros(max(top, 2 * len(self.flow_links)), np.uint64)
            grown[: len(self.flow_links)] = self.flow_links
            self.flow_links = grown
        bits = np.left_shift(np.uint64(1), link[one].astype(np.uint64))
        np.bitwise_or.at(self.flow_links, fids[one], bits)
        all_up = np.uint64(sum(1 << int(i) for i in np.flatnonzero(up)))
        self.flow_links[fids[everywhere]] |= all_up

    def flows_per_link(self, n_flows: int) -> np.ndarray:
        masks = self.flow_links[:n_flows]
        return np.array([int(((masks >> np.uint64(i)) & np.uint64(1)).sum())
                         for i in range(len(self.packets))], dtype=np.int64)


@dataclass
class PolicyResult:
    """What one policy does with the traffic."""

    policy: Policy
    setup: Setup
    load: LinkLoad  #: for the given key, or the first of the random keys
    keys: list[int] = field(default_factory=list)  #: random keys tried (keyed, no --seed)
    key_imbalance: list[Imbalance] = field(default_factory=list)  #: one per key

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


def _assigners(policy: Policy, setup: Setup, keys: int) -> tuple[list[Assigner], list[int]]:
    if policy.keyed and setup.seed is None:
        seeds = [int(k) for k in np.random.default_rng(0x5EED).integers(0, 2**32, keys)]
        return [make_assigner(policy, setup.with_seed(k)) for k in seeds], seeds
    return [make_assigner(policy, setup)], []


def assigned_batches(reader: CaptureReader, assigner: Assigner, local: LocalHost | None
                     ) -> Iterator[tuple[np.ndarray, Assignment]]:
    """(packet table, assignment) per batch, in capture order; unsent frames marked."""
    for pk in background(packet_tables(reader)):
        a = assigner.assign(pk)
        a.link[~sent_mask(pk, local)] = LINK_NOT_SENT
        yield pk, a


def analyze(paths: Sequence[str], policies: Sequence[Policy], setup: Setup,
            local: LocalHost | None = None, keys: int = DEFAULT_KEYS,
            on_warning: WarningHandler | None = None,
            on_progress: ProgressHandler | None = None,
            on_start: Callable[[int | None], None] | None = None) -> Analysis:
    """Read the captures once and run every policy over the frames the bond sent."""
    reader = CaptureReader(paths, on_warning=on_warning, on_progress=on_progress)
    if on_start:
        on_start(reader.total_size())
    runs = []
    for p in policies:
        assigners, seeds = _assigners(p, setup, keys)
        loads = [LinkLoad(setup.members.count, track_flows=i == 0)
                 for i in range(len(assigners))]
        runs.append((p, assigners, seeds, loads))
    table, up = FlowTable(), setup.members.up
    packets = sent_packets = sent_bytes = 0
    obs_packets, obs_bytes = np.zeros(64, np.int64), np.zeros(64, np.int64)
    keyed = ((pk, packet_keys(pk)) for pk in packet_tables(reader))
    for pk, pkeys in background(keyed):
        fids = table.add(pk, pkeys)
        sent = sent_mask(pk, local)
        packets += len(pk)
        sent_packets += int(sent.sum())
        sent_bytes += int(pk["wirelen"][sent].sum())
        obs_packets += np.bincount(pk["iface"][sent], minlength=64)[:64]
        obs_bytes += np.bincount(pk["iface"][sent], weights=pk["wirelen"][sent],
                                 minlength=64)[:64].astype(np.int64)
        for _p, assigners, _seeds, loads in runs:
            for assigner, load in zip(assigners, loads, strict=True):
                a = assigner.assign(pk)
                a.link[~sent] = LINK_NOT_SENT
                load.add(pk, fids, a, up)
    results = []
    for p, _, seeds, loads in runs:
        results.append(PolicyResult(p, setup if not seeds else setup.with_seed(seeds[0]),
                                    loads[0], seeds,
                                    [imbalance(ld.bytes[up]) for ld in loads] if seeds else []))
    names = reader.registry.names()
    observed = pd.DataFrame({"interface": names, "packets": obs_packets[: len(names)],
                             "bytes": obs_bytes[: len(names)]})
    assumptions = [] if local is not None else [ALL_SENT]
    return Analysis(table.frame(names), packets, sent_packets, sent_bytes, observed, results,
                    assumptions, reader.warnings)
