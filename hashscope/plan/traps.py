"""Traps that a plan computes with the real hash, for the addresses given.

- **Bit 0.** Linux 4.14+ drops the low bit of the folded layer3+4 hash (5.18+ only for
  layer3+4 and encap3+4; hashscope.hashes.linux.eras SHIFT_*): source ports that differ
  only in bit 0 may then always share a member. Found by hashing p and p ^ 1 for every
  port of the range.
- **Consecutive connections.** How Linux's connect() picks ephemeral ports
  (``__inet_hash_connect``, net/ipv4/inet_hashtables.c): before 4.6 each connect takes
  the next port (``hint += i``, step 1); from 4.6 (commit 07f4c90062f8, "tcp/dccp: try to
  not exhaust ip_local_port_range in connect()") the scan starts at an even offset
  (``offset &= ~1``) and steps by 2, so connect() takes ports of the parity of the range's
  low end (even, for 32768-60999), each connection 2 past the last; 5.12 (190cc82489f4)
  keeps a per-destination ``table_perturb`` offset advanced by ``i + 2`` (4 in 1 case of
  16); 5.18 (4dfa9b438ee3, also in stable kernels) advances it by 2 plus a random even
  0..14. ``iperf3 -P N`` without ``--cport`` therefore gets N even ports 2 to 16 apart;
  with ``--cport P`` it binds P..P+N-1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from hashscope.hashes.policy import Policy, Setup

from .ports import Endpoints, hash_candidates

EPHEMERAL = (32768, 60999)  #: Linux's default net.ipv4.ip_local_port_range
SAMPLES = 4096  #: random port sequences drawn for 5.18+ kernels (seeded)


@dataclass
class Trap:
    """Something about the ports that the hash makes true, in words and in numbers."""

    name: str
    text: str
    data: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"name": self.name, "text": self.text, **self.data}


def bit0_trap(policy: Policy, setup: Setup, ends: Endpoints, ports: np.ndarray
              ) -> Trap | None:
    """Ports p and p ^ 1 on the same member for every p of the range, or None."""
    ports = np.asarray(ports, np.int64)
    if len(ports) < 2:
        return None
    h, link = hash_candidates(policy, setup, ends, "sport", ports)
    h1, link1 = hash_candidates(policy, setup, ends, "sport", ports ^ 1)
    ok = (link >= 0) & (link1 >= 0)
    same = (link == link1)[ok]
    if not len(same) or not same.all() or len(np.unique(link[ok])) < 2:
        return None
    equal_hash = bool((h == h1)[ok].all())
    return Trap("bit0", f"source ports that differ only in bit 0 always share a member "
                f"under {policy.name} ({setup.kernel.name}: the hash drops its low bit): "
                f"{int(ports[0] & ~1)} and {int(ports[0] | 1)}, {int(ports[0] & ~1) + 2} and "
                f"{int(ports[0] | 1) + 2}, ... collide; use ports two apart",
                {"pairs_checked": int(ok.sum()), "same_hash": equal_hash})


def connect_era(version: str | None) -> str:
    """The connect() port choice of a kernel version: ``step1`` (< 4.6), ``step2``
    (4.6-5.17) or ``random2`` (5.18+, the default)."""
    m = re.match(r"\s*v?(\d+)\.(\d+)", version or "")
    if not m:
        return "random2"
    ver = (int(m.group(1)), int(m.group(2)))
    return "step1" if ver < (4, 6) else "step2" if ver < (5, 18) else "random2"


def _members(policy, setup, ends, ports: np.ndarray) -> np.ndarray:
    flat = ports.reshape(-1)
    links = hash_candidates(policy, setup, ends, "sport", flat)[1]
    return links.reshape(ports.shape)


def _distinct(links: np.ndarray) -> np.ndarray:
    """Per row: the number of distinct members."""
    s = np.sort(links, axis=1)
    return 1 + (np.diff(s, axis=1) != 0).sum(axis=1)


def cport_trap(policy: Policy, setup: Setup, ends: Endpoints, streams: int, cport: int
               ) -> Trap:
    """``iperf3 -P N --cport P``: the members of ports P..P+N-1."""
    ports = np.arange(cport, cport + streams)
    links = _members(policy, setup, ends, ports[None, :])[0]
    used = len(np.unique(links[links >= 0]))
    n = len(setup.members.usable)
    names = ", ".join(f"{p} {setup.members.label(int(x))}" if x >= 0 else f"{p} ?"
                      for p, x in zip(ports, links, strict=True))
    return Trap("cport", f"iperf3 -P {streams} --cport {cport} binds the consecutive ports "
                f"{cport}-{cport + streams - 1}: {names}; {used} of {min(n, streams)} "
                "members used", {"ports": ports.tolist(), "links": links.tolist(),
                                 "members_used": used})


def kernel_ports_trap(policy: Policy, setup: Setup, ends: Endpoints, streams: int,
                      kernel: str | None) -> Trap:
    """``iperf3 -P N`` without ``--cport``: the kernel's ports for N connections in a row to
    one destination, over every start of the ephemeral range (5.18+: seeded samples)."""
    era = connect_era(kernel)
    lo, hi = EPHEMERAL
    if era == "random2":
        rng = np.random.default_rng(streams)
        starts = lo + 2 * rng.integers(0, (hi - lo) // 2, SAMPLES)
        gaps = 2 + 2 * rng.integers(0, 8, (SAMPLES, streams - 1))
        ports = np.concatenate([starts[:, None], starts[:, None] + np.cumsum(gaps, 1)], 1)
        how = ("even ports, each 2 + a random even 0..14 past the last (5.18+; "
               f"{SAMPLES} seeded samples)")
    else:
        step = 1 if era == "step1" else 2
        starts = np.arange(lo, hi - step * streams, step)
        ports = starts[:, None] + step * np.arange(streams)[None, :]
        how = ("consecutive ports (before 4.6)" if step == 1 else
               "even ports, each 2 past the last (4.6-5.17), every start")
    ports = lo + (ports - lo) % (hi - lo + 1)
    links = _members(policy, setup, ends, ports)
    used = _distinct(links)
    n = len(setup.members.usable)
    want = min(n, streams)
    p_all = float((used >= want).mean())
    mean_used = float(used.mean())
    return Trap("kernel_ports", f"iperf3 -P {streams} without --cport: connect() picks "
                f"{how}: all {want} members used in {100 * p_all:.1f}% of the starts, "
                f"{mean_used:.2f} members on average", {
                    "era": era, "p_all_members": p_all, "mean_members": mean_used})
