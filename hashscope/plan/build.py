"""One plan as the ``plan`` command shows it: the streams (or the summary of a range), the
traps, the odds and the commands to paste, for a policy or for the odds alone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from hashscope.errors import HashscopeError
from hashscope.hashes.policy import Policy, Setup
from hashscope.hashes.registry import make_assigner

from . import keyed, traps
from .odds import odds_row, odds_table, uniform_shares
from .ports import Candidates, Endpoints, Plan, Stream, _streams, candidates, choose, plan_streams

MAX_PERIOD = 256  #: the longest repeating pattern a range summary looks for


@dataclass
class PlanReport:
    """Everything ``hashscope plan`` prints."""

    setup: Setup
    streams_wanted: int | None
    policy: Policy | None = None
    return_policy: Policy | None = None
    ends: Endpoints | None = None
    plan: Plan | None = None
    streams: list[Stream] = field(default_factory=list)
    summary: dict | None = None
    traps: list[traps.Trap] = field(default_factory=list)
    odds: dict = field(default_factory=dict)  #: odds_table
    here: dict | None = None  #: odds_row for this member count and stream count
    notes: list[str] = field(default_factory=list)
    exact: bool = True
    keyed_groups: bool = False  #: streams' links are key-independent groups, not members


def range_summary(c: Candidates, setup: Setup) -> dict:
    """Which values go to which member: counts, the runs, and the period if any."""
    links = c.links
    n = setup.members.count
    counts = np.bincount(links[links >= 0], minlength=n)
    edges = np.flatnonzero(np.diff(links) != 0) + 1
    starts = np.concatenate([[0], edges])
    ends = np.concatenate([edges, [len(links)]])
    runs = [(str(c.values[a]), str(c.values[b - 1]), int(links[a]))
            for a, b in zip(starts, ends, strict=True)]
    period = next((p for p in range(1, min(MAX_PERIOD, len(links) // 2) + 1)
                   if (links[p:] == links[:-p]).all()), None)
    lengths = ends - starts
    return {"values": len(links), "vary": c.vary,
            "per_member": {setup.members.label(i): int(counts[i]) for i in range(n)},
            "runs": runs[:16], "run_count": len(runs),
            "run_lengths": sorted({int(x) for x in lengths})[:8],
            "period": period,
            "pattern": [int(x) for x in links[:period]] if period else None}


def _keyless(r: PlanReport, policy: Policy, vary: str, values: Sequence) -> None:
    n = len(r.setup.members.usable)
    if policy.family != "freebsd":
        r.notes.append(keyed.ovs_statistical(policy))
        r.exact = False
        return
    g = keyed.key_groups(policy, r.setup, r.ends, vary, values)
    if not g.relabels:
        r.notes.append(keyed.lagg_unreliable(policy, n))
        r.exact = False
        return
    r.notes.append(keyed.lagg_relabel(policy, n))
    r.keyed_groups = True
    c = Candidates(vary, list(values), np.zeros(len(values), np.uint32), g.group)
    if r.streams_wanted:
        idx = choose(g.group, r.streams_wanted)
        r.streams = _streams(g.group, c, idx, r.ends, r.setup)
    else:
        r.summary = range_summary(c, r.setup)


def make_plan(setup: Setup, streams: int | None, policy: Policy | None = None,
              ends: Endpoints | None = None, vary: str = "sport", values: Sequence = (),
              return_policy: Policy | None = None, kernel: str | None = None,
              cport: int | None = None) -> PlanReport:
    """The plan (see :class:`PlanReport`). Without ``policy``: the odds alone."""
    if streams is not None and streams < 1:
        raise HashscopeError(f"--streams {streams}: at least 1")
    r = PlanReport(setup, streams, policy, return_policy, ends)
    n = len(setup.members.usable)
    if streams:
        r.odds = odds_table(streams)
        r.here = odds_row(streams, uniform_shares(max(n, 1)))
    if policy is None:
        return r
    if ends is None:
        raise HashscopeError("--policy needs --src and --dst (the streams' addresses)")
    r.exact = policy.exact and (return_policy is None or return_policy.exact)
    if policy.keyed and setup.seed is None:
        _keyless(r, policy, vary, values)
        return r
    if make_assigner(policy, setup).ordered:
        raise HashscopeError(f"{policy.name} (mode {setup.mode or policy.modes[0]}): the "
                             "member depends on the order of the frames, not on their "
                             "headers: no ports or addresses to plan")
    if streams:
        r.plan = plan_streams(policy, setup, ends, streams, vary, values, return_policy)
        r.streams, r.notes = r.plan.streams, list(r.plan.notes)
    else:
        c = candidates(policy, setup, ends, vary, values, return_policy)
        r.summary = range_summary(c, setup)
    if vary == "sport":
        found = traps.bit0_trap(policy, setup, ends, np.asarray(values))
        r.traps += [found] if found else []
        if streams and ends.proto == "tcp":
            start = cport if cport is not None else int(np.asarray(values)[0])
            r.traps.append(traps.cport_trap(policy, setup, ends, streams, start))
            r.traps.append(traps.kernel_ports_trap(policy, setup, ends, streams, kernel))
    for p in (policy, return_policy):
        if p is not None and p.caveat:
            r.notes.append(p.caveat)
    if return_policy is not None:
        r.notes.append(f"the return path ({return_policy.name}, from {ends.dst} back to "
                       f"{ends.src}) is {return_policy.accuracy}"
                       + ("" if return_policy.exact else ": a model of the switch, not its "
                          "firmware"))
    return r


def commands(r: PlanReport) -> list[str]:
    """Ready-to-paste commands: one iperf3 client per stream, when the source port varies."""
    if not r.streams or r.plan is None and not r.keyed_groups:
        return []
    vary = r.plan.candidates.vary if r.plan else "sport"
    if vary != "sport":
        return []
    udp = " -u" if r.ends.proto == "udp" else ""
    return [f"iperf3 -c {s.dst} -p {s.dport}{udp} --cport {s.sport}" for s in r.streams]
