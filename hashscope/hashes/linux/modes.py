"""Linux bonding modes: from the transmit hash (or none) to the slave a frame leaves on.

Reproduces the mode dispatch of ``__bond_start_xmit`` (drivers/net/bonding/bond_main.c,
bond_alb.c); the research note linux_bonding.md sections 5 and 7 has the rules. Every
function works on whole arrays; link codes are those of :mod:`hashscope.members`.
"""

from __future__ import annotations

import numpy as np

from hashscope.columns import MAC_DST
from hashscope.members import LINK_ALL, LINK_UNKNOWN, Members

from .eras import PICK_WALK, KernelProfile

#: The modes that hash (mode names as /sys/class/net/bondX/bonding/mode spells them).
HASH_MODES = ("balance-xor", "802.3ad", "balance-tlb", "balance-alb")


def bond_3ad_xor_xmit(hash_: np.ndarray, valid: np.ndarray, members: Members,
                      profile: KernelProfile) -> np.ndarray:
    """balance-xor and 802.3ad: the slave of each hashed frame.

    3.19+ (ee6377147409): ``usable_slaves[hash % n_usable]``, the usable slaves in enslave
    order (for 802.3ad: those of the active aggregator that are distributing).
    3.13 - 3.18: ``hash % n_all``, then the first usable slave from there, wrapping.
    """
    usable = members.usable
    link = np.full(len(hash_), LINK_UNKNOWN, dtype=np.int64)
    if len(usable) == 0:
        return link  # no usable slave: the frame is dropped
    h = np.asarray(hash_, dtype=np.uint32)
    if profile.pick == PICK_WALK:
        link[:] = next_usable(members)[h % np.uint32(members.count)]
    else:
        link[:] = usable[h % np.uint32(len(usable))]
    link[~np.asarray(valid, dtype=bool)] = LINK_UNKNOWN
    return link


def next_usable(members: Members) -> np.ndarray:
    """Per member position: the first usable member at or after it, wrapping around."""
    up, n = members.up, members.count
    walk = np.full(n, LINK_UNKNOWN, dtype=np.int64)
    if up.any():
        for i in range(n):  # per member (at most 64), not per packet
            j = i
            while not up[j % n]:
                j += 1
            walk[i] = j % n
    return walk


def active_slave(members: Members) -> int:
    """curr_active_slave as assumed here: the first member that is up (the primary)."""
    usable = members.usable
    return int(usable[0]) if len(usable) else LINK_UNKNOWN


class ActiveBackup:
    """active-backup over time: every frame on the active slave; when it loses its link
    (a ``--link-event``), the first slave in order that is up takes over, and stays
    active when the old one comes back (no ``primary``: bond_find_best_slave,
    drivers/net/bonding/bond_main.c). Frames are taken in time order."""

    def __init__(self, members: Members, link_events: tuple = ()):
        self.up = members.up.copy()
        self.active = active_slave(members)
        self.events = sorted(link_events)

    def assign(self, packets: np.ndarray) -> np.ndarray:
        ts = packets["ts_ns"]
        link = np.empty(len(packets), dtype=np.int64)
        start = 0
        while self.events and len(ts) and self.events[0][0] <= ts[-1]:  # per link event
            t, member, up = self.events.pop(0)
            cut = max(int(np.searchsorted(ts, t, "left")), start)
            link[start:cut] = self.active
            start = cut
            self.up[member] = up
            if up and self.active == LINK_UNKNOWN:
                self.active = member
            elif not up and member == self.active:
                usable = np.flatnonzero(self.up)
                self.active = int(usable[0]) if len(usable) else LINK_UNKNOWN
        link[start:] = self.active
        return link


class BalanceRR:
    """balance-rr: a packet counter over all slaves; a down slave's turn passes on.

    ``slave = first usable at position >= id % slave_cnt``; ``id = counter //
    packets_per_slave`` (3.13+). Up to 5.13 one counter read then incremented (the first
    frame gets id 0); since 5.14 a per-CPU counter incremented then read (first id 1) —
    exact for a single sending CPU only. IGMP goes to the active slave.
    """

    def __init__(self, members: Members, profile: KernelProfile, packets_per_slave: int = 1):
        self.members = members
        self.per_slave = max(1, packets_per_slave)
        self.counter = 1 if profile.first >= (5, 14) else 0
        self.walk = next_usable(members)

    def assign(self, packets: np.ndarray) -> np.ndarray:
        igmp = (packets["ip_ver"] == 4) & (packets["proto"] == 2)
        n_counted = int((~igmp).sum())
        ids = self.counter + np.arange(n_counted, dtype=np.int64)
        self.counter += n_counted
        link = np.full(len(packets), active_slave(self.members), dtype=np.int64)
        link[~igmp] = self.walk[(ids // self.per_slave) % self.members.count]
        return link


def broadcast(n_packets: int) -> np.ndarray:
    """broadcast: every frame on every slave that is up."""
    return np.full(n_packets, LINK_ALL, dtype=np.int64)


def tlb_balanced(packets: np.ndarray, alb: bool) -> np.ndarray:
    """Frames balance-tlb / balance-alb spread by hash; the rest go to the active slave.

    bond_xmit_tlb_slave_get: IPv4/IPv6 with a unicast destination MAC, not IPv6 ND
    (5.17+). bond_xmit_alb_slave_get: IPv4 not to a broadcast MAC or 255.255.255.255 and
    not IGMP; IPv6 not to a broadcast or all-nodes MAC, not ND, not from ::. ARP (ALB's
    receive load balancing) is handled by the caller.
    """
    dst = packets["dst_mac"]
    ip4 = packets["ip_ver"] == 4
    ip6 = packets["ip_ver"] == 6
    nd = ip6 & (packets["proto"] == 58) & np.isin(packets["icmp_type"], (135, 136))
    has_dst = (packets["mac_ok"] & MAC_DST) > 0
    if not alb:
        multicast = (dst >> np.uint64(40)) & np.uint64(1) > 0
        return has_dst & (ip4 | ip6) & ~multicast & ~nd
    bcast = dst == np.uint64(0xFFFFFFFFFFFF)
    ok4 = ip4 & ~bcast & (packets["dst_lo"] != 0xFFFFFFFF) & (packets["proto"] != 2)
    unspec = (packets["src_hi"] == 0) & (packets["src_lo"] == 0)
    ok6 = ip6 & ~bcast & (dst != np.uint64(0x333300000001)) & ~nd & ~unspec
    return has_dst & (ok4 | ok6)


def tlb_alb_xmit(packets: np.ndarray, hash_: np.ndarray, valid: np.ndarray, members: Members,
                 profile: KernelProfile, alb: bool, dynamic_lb: bool) -> np.ndarray:
    """balance-tlb / balance-alb: exact with tlb_dynamic_lb=0, unpredictable otherwise.

    With tlb_dynamic_lb=1 (the default) balanced frames go through a 256-entry table
    assigned by measured load every 10 s: not reproducible from a capture (LINK_UNKNOWN).
    ALB's ARP frames go where receive load balancing sends them: unknown as well.
    """
    balanced = tlb_balanced(packets, alb)
    link = np.full(len(packets), active_slave(members), dtype=np.int64)
    if dynamic_lb:
        link[balanced] = LINK_UNKNOWN
    else:
        link[balanced] = bond_3ad_xor_xmit(hash_[balanced], valid[balanced], members, profile)
    if alb:
        link[packets["ethertype"] == 0x0806] = LINK_UNKNOWN
    return link
