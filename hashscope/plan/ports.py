"""Which source ports (or addresses, or MACs) put N streams on distinct members.

Every candidate value of the one field that varies (``sport``, ``src``, ``dst``,
``src_mac``, ``dst_mac``) becomes a frame (:mod:`.frames`); the whole set is hashed in one
call of the policy's assigner. The choice is greedy and deterministic: round by round,
each member's lowest candidate not yet taken, lowest first, until N streams are placed.
So N <= members gives N distinct members (when N members are reachable), and more
streams than members spread as evenly as the counts allow.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from hashscope.errors import HashscopeError
from hashscope.hashes.policy import Policy, Setup
from hashscope.hashes.registry import make_assigner

from .frames import PROTOCOLS, Tuples, packet_table
from .ranges import format_mac

VARIES = ("sport", "dport", "src", "dst", "src_mac", "dst_mac")
DEFAULT_SPORTS = (50000, 60000)  #: the source ports tried unless --sport-range says
DEFAULT_SRC_MAC = 0x5254003A7C01  #: 52:54:00:3a:7c:01, the kernel lab's bond
DEFAULT_DST_MAC = 0x5254003A7C02


@dataclass(frozen=True)
class Endpoints:
    """The fixed part of every planned stream (the field that varies overrides its own)."""

    src: ipaddress.IPv4Address | ipaddress.IPv6Address
    dst: ipaddress.IPv4Address | ipaddress.IPv6Address
    dport: int = 5201
    sport: int = DEFAULT_SPORTS[0]
    proto: str = "tcp"
    src_mac: int = DEFAULT_SRC_MAC
    dst_mac: int = DEFAULT_DST_MAC
    vlan: int | None = None

    def reversed(self) -> Endpoints:
        """The return direction: DST back to SRC (ports and MACs swapped)."""
        return replace(self, src=self.dst, dst=self.src, sport=self.dport, dport=self.sport,
                       src_mac=self.dst_mac, dst_mac=self.src_mac)


@dataclass
class Candidates:
    """Every value tried for the field ``vary``, with the member each one's frame takes."""

    vary: str
    values: list
    hashes: np.ndarray  #: uint32
    links: np.ndarray  #: int64 member index, -1 where the policy cannot place the frame
    return_links: np.ndarray | None = None  #: the return flows' members (--return-policy)


@dataclass(frozen=True)
class Stream:
    """One planned stream: its 5-tuple, MACs and the member it takes."""

    src: str
    dst: str
    sport: int
    dport: int
    proto: str
    src_mac: str
    dst_mac: str
    link: int  #: 0-based member index
    member: str
    return_link: int | None = None
    return_member: str | None = None

    def as_dict(self) -> dict:
        d = {"src": self.src, "dst": self.dst, "sport": self.sport, "dport": self.dport,
             "proto": self.proto, "src_mac": self.src_mac, "dst_mac": self.dst_mac,
             "link": self.link, "member": self.member}
        if self.return_link is not None:
            d |= {"return_link": self.return_link, "return_member": self.return_member}
        return d


@dataclass
class Plan:
    """The plan for one policy: the candidates, the streams chosen, and what to know."""

    policy: Policy
    setup: Setup
    ends: Endpoints
    candidates: Candidates
    streams: list[Stream]
    return_policy: Policy | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def members_used(self) -> int:
        return len({s.link for s in self.streams})


def _tuples(ends: Endpoints, vary: str, values: Sequence) -> Tuples:
    fixed = {"src": int(ends.src), "dst": int(ends.dst), "sport": ends.sport,
             "dport": ends.dport, "src_mac": ends.src_mac, "dst_mac": ends.dst_mac}
    if vary in ("src", "dst"):
        fixed[vary] = np.array([int(v) for v in values],
                               dtype=object if ends.src.version == 6 else np.uint64)
    else:
        fixed[vary] = np.asarray(values, dtype=np.uint64)
    if vary in ("src", "dst") and values and values[0].version != ends.src.version:
        raise HashscopeError(f"--{vary}-range: IPv{values[0].version} addresses with an "
                             f"IPv{ends.src.version} --{'dst' if vary == 'src' else 'src'}")
    return Tuples(proto=PROTOCOLS[ends.proto], ipv6=ends.src.version == 6, vlan=ends.vlan,
                  **fixed)


def hash_candidates(policy: Policy, setup: Setup, ends: Endpoints, vary: str,
                    values: Sequence) -> tuple[np.ndarray, np.ndarray]:
    """(hash, member) of the frame of every value of ``vary``, in one assigner call."""
    if vary not in VARIES:
        raise ValueError(f"vary: one of {VARIES}")
    return hash_frames(policy, setup, _tuples(ends, vary, values), len(values))


def hash_frames(policy: Policy, setup: Setup, tuples: Tuples, n: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """(hash, member) of n frames (:class:`Tuples`), in one assigner call."""
    a = make_assigner(policy, setup).assign(packet_table(tuples, n))
    return np.where(a.has_hash, a.hash, 0).astype(np.uint32), a.link


def candidates(policy: Policy, setup: Setup, ends: Endpoints, vary: str, values: Sequence,
               return_policy: Policy | None = None) -> Candidates:
    """Every value of ``vary`` hashed; with ``return_policy``, the return flows too (DST
    back to SRC, the varying field on the other side), over the same member count."""
    h, links = hash_candidates(policy, setup, ends, vary, values)
    back = None
    if return_policy is not None:
        swap = {"sport": "dport", "src": "dst", "dst": "src", "src_mac": "dst_mac",
                "dst_mac": "src_mac"}[vary]
        back = hash_candidates(return_policy, replace(setup, mode=None, seed=setup.seed),
                               ends.reversed(), swap, values)[1]
    return Candidates(vary, list(values), h, links, back)


def choose(links: np.ndarray, streams: int) -> np.ndarray:
    """Indices of ``streams`` candidates (ascending by position in ``links``): round by
    round, each member's lowest candidate not yet taken, the lowest first. Candidates
    with a negative link are never taken."""
    members = np.unique(links[links >= 0])
    per = [np.flatnonzero(links == m) for m in members]
    chosen: list[int] = []
    level = 0
    while len(chosen) < streams:
        picks = sorted(int(p[level]) for p in per if len(p) > level)
        if not picks:
            break
        chosen += picks[: streams - len(chosen)]
        level += 1
    return np.array(chosen, dtype=np.int64)


def choose_both(links: np.ndarray, back: np.ndarray, streams: int) -> np.ndarray:
    """As :func:`choose`, on distinct members both ways where the candidates allow: round
    by round a candidate is taken while neither its member nor its return member has more
    than the round's count; then, for what is left, as :func:`choose` on the forward
    members alone."""
    taken = np.zeros(len(links), bool)
    fwd: dict[int, int] = {}
    rev: dict[int, int] = {}
    order = np.flatnonzero((links >= 0) & (back >= 0))
    n_levels = -(-streams // max(len(np.unique(links[links >= 0])), 1))
    for level in range(1, n_levels + 1):
        for i in order:
            if taken.sum() >= streams:
                break
            f, r = int(links[i]), int(back[i])
            if not taken[i] and fwd.get(f, 0) < level and rev.get(r, 0) < level:
                taken[i] = True
                fwd[f], rev[r] = fwd.get(f, 0) + 1, rev.get(r, 0) + 1
    if taken.sum() < streams:
        rest = np.where(taken, -1, links)
        taken[choose(rest, streams - int(taken.sum()))] = True
    return np.sort(np.flatnonzero(taken))


def _streams(plan_links, c: Candidates, idx: np.ndarray, ends: Endpoints, setup: Setup
             ) -> list[Stream]:
    out = []
    for i in idx:
        e = replace(ends, **{c.vary: c.values[i]})
        back = None if c.return_links is None else int(c.return_links[i])
        out.append(Stream(str(e.src), str(e.dst), int(e.sport), int(e.dport), e.proto,
                          format_mac(e.src_mac), format_mac(e.dst_mac), int(plan_links[i]),
                          setup.members.label(int(plan_links[i])), back,
                          None if back is None else setup.members.label(back)))
    return out


def plan_streams(policy: Policy, setup: Setup, ends: Endpoints, streams: int, vary: str,
                 values: Sequence, return_policy: Policy | None = None) -> Plan:
    """The plan: ``streams`` values of ``vary`` (from ``values``) on distinct members, or
    as even as the members allow, under ``policy`` (and ``return_policy`` back)."""
    if streams < 1:
        raise HashscopeError(f"--streams {streams}: at least 1")
    if not len(values):
        raise HashscopeError(f"no {vary} values to choose from")
    c = candidates(policy, setup, ends, vary, values, return_policy)
    if c.return_links is None:
        idx = choose(c.links, streams)
    else:
        idx = choose_both(c.links, c.return_links, streams)
    plan = Plan(policy, setup, ends, c, _streams(c.links, c, idx, ends, setup), return_policy)
    plan.notes += reach_notes(c, streams, setup)
    return plan


def reach_notes(c: Candidates, streams: int, setup: Setup) -> list[str]:
    """What the candidates could not do: members no candidate reaches, too few values."""
    notes = []
    reached = np.unique(c.links[c.links >= 0])
    n = int(len(setup.members.usable))
    if (c.hashes == c.hashes[0]).all() and len(c.values) > 1:
        notes.append(f"the policy does not read {c.vary}: every value hashes the same "
                     "(vary another field: --sport-range, --src-range, --dst-range, "
                     "--src-mac or --dst-mac)")
    elif len(reached) < min(n, streams):
        notes.append(f"only {len(reached)} of {n} members are reached by the {len(c.values)} "
                     f"{c.vary} values tried: give a wider range")
    if (c.links < 0).any():
        notes.append(f"{int((c.links < 0).sum())} of the values cannot be placed by this "
                     "policy (not predictable)")
    if len(c.values) < streams:
        notes.append(f"only {len(c.values)} {c.vary} values for {streams} streams")
    return notes
