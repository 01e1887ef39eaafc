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

from hashscope.capture.reader import CaptureReader, ProgressHandler, WarningHandler
from hashscope.decode.tables import packet_tables
from hashscope.errors import CaptureWarning, SetupError
from hashscope.flows.table import FlowTable, packet_keys
from hashscope.hashes.policy import Assigner, Assignment, Policy, Setup
from hashscope.hashes.registry import applicable_policies, make_assigner
from hashscope.members import LINK_NOT_SENT
from hashscope.threads import background

from .direction import ALL_SENT, LocalHost, sent_mask
from .imbalance import Imbalance, imbalance
from .loads import LinkLoad

DEFAULT_KEYS = 32  #: random keys tried for a keyed policy without --seed


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
