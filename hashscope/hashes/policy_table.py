"""The policy registry's entries: one adapter per family from the hash core to assigners.

Importing this module registers every policy in :mod:`hashscope.hashes.policy`.
"""

from __future__ import annotations

import numpy as np

from hashscope.errors import HashscopeError
from hashscope.hashes.linux.if_bonding import MODES
from hashscope.hashes.linux.if_bonding import POLICIES as LINUX_POLICIES
from hashscope.hashes.linux.modes import (
    HASH_MODES,
    BalanceRR,
    active_slave,
    bond_3ad_xor_xmit,
    broadcast,
    tlb_alb_xmit,
)
from hashscope.hashes.linux.xmit_hash import linux_xmit_hash
from hashscope.members import LINK_ALL

from .policy import LAGG_SUBSETS, Assignment, Policy, Setup, register

LINUX_SUMMARY = {
    "layer2": "source and destination MAC (last byte) and the ethertype",
    "layer2+3": "MACs and IP addresses",
    "layer3+4": "IP addresses and ports (ICMP echo id); fragments without ports",
    "encap2+3": "MACs and the innermost IP addresses (tunnels dissected)",
    "encap3+4": "the innermost IP addresses and ports (tunnels dissected)",
    "vlan+srcmac": "VLAN id and source MAC (5.12+)",
}
LINUX_MODES = ("802.3ad", "balance-xor", "balance-rr", "active-backup", "broadcast",
               "balance-tlb", "balance-alb")


class LinuxBond:
    """A Linux bond: xmit_hash_policy + mode over the members, for one kernel era."""

    def __init__(self, policy: str, setup: Setup):
        self.policy, self.setup = policy, setup
        self.mode = setup.mode or "802.3ad"
        if self.mode not in MODES:
            raise HashscopeError(f"--mode {self.mode}: one of {', '.join(MODES)}")
        if policy not in setup.kernel.policies:
            raise HashscopeError(f"xmit_hash_policy {policy} does not exist in Linux "
                                 f"{setup.kernel.name}")
        self.rr = (BalanceRR(setup.members, setup.kernel, setup.packets_per_slave)
                   if self.mode == "balance-rr" else None)

    def assign(self, packets: np.ndarray) -> Assignment:
        s, n = self.setup, len(packets)
        if self.mode in HASH_MODES:
            h, valid = linux_xmit_hash(packets, self.policy, s.vlan, s.kernel)
        else:
            h, valid = np.zeros(n, np.uint32), np.zeros(n, bool)
        if self.mode in ("balance-xor", "802.3ad"):
            link = bond_3ad_xor_xmit(h, valid, s.members, s.kernel)
        elif self.mode in ("balance-tlb", "balance-alb"):
            link = tlb_alb_xmit(packets, h, valid, s.members, s.kernel,
                                self.mode == "balance-alb", s.tlb_dynamic_lb)
        elif self.rr is not None:
            link = self.rr.assign(packets)
        elif self.mode == "broadcast":
            link = broadcast(n)
        else:  # active-backup
            link = np.full(n, active_slave(s.members), dtype=np.int64)
        return Assignment(h, valid, link)


ENCAP34_CAVEAT = ("encap3+4: for traffic the bonded host originates itself (its own TCP "
                  "connections, and UDP sockets that set a hash), the kernel uses the "
                  "socket's random hash (skb->l4_hash) instead, which no capture shows: "
                  "those frames' members are not predictable; the prediction holds for "
                  "forwarded or bridged traffic and for frames injected with AF_PACKET")


def _linux(policy: str) -> Policy:
    return Policy(policy, "linux", True, f"Linux bonding: {LINUX_SUMMARY[policy]}; "
                  "checked against the real 6.1 kernel",
                  lambda setup: LinuxBond(policy, setup), modes=LINUX_MODES,
                  caveat=ENCAP34_CAVEAT if policy == "encap3+4" else "")


for _name, _number in LINUX_POLICIES.items():
    register(_linux(_name), str(_number))


LAGG_MODES = ("lacp", "loadbalance", "roundrobin", "failover", "broadcast")
LAGG_CAVEAT = ("FreeBSD lagg: the key is random per lagg (without --seed: a spread over "
               "random keys). With use_flowid on (the default up to 11.x) the NIC's or the "
               "stack's flowid replaces this hash and cannot be rebuilt from a capture; "
               "lacp's port order (pm_map) is the order ports began distributing")


class FreeBSDLagg:
    """A FreeBSD lagg: laggproto + lagghash layers, one key, FreeBSD version."""

    def __init__(self, layers: str, setup: Setup):
        from hashscope.hashes.freebsd.lagg import RoundRobin
        from hashscope.hashes.freebsd.mbufhash import freebsd_variant

        self.layers, self.setup = layers, setup
        self.proto = setup.mode or "lacp"
        if self.proto not in LAGG_MODES:
            raise HashscopeError(f"--mode {self.proto}: a laggproto, one of "
                                 f"{', '.join(LAGG_MODES)}")
        try:
            self.variant = freebsd_variant(setup.freebsd)
        except ValueError as exc:
            raise HashscopeError(f"--freebsd: {exc}") from None
        m = setup.members
        self.rr = RoundRobin(m.count, setup.rr_limit) if self.proto == "roundrobin" else None

    def assign(self, packets: np.ndarray) -> Assignment:
        from hashscope.hashes.freebsd.lagg import failover_port_index, lagg_port_index
        from hashscope.hashes.freebsd.mbufhash import lagg_hash

        s, n, up = self.setup, len(packets), self.setup.members.up
        if self.proto in ("lacp", "loadbalance"):
            h, valid = lagg_hash(packets, self.layers, s.seed or 0, self.variant, s.vlan)
            link = lagg_port_index(h, valid, s.members.count, up, self.proto)
            return Assignment(h, valid, link)
        h, valid = np.zeros(n, np.uint32), np.zeros(n, bool)
        if self.rr is not None:
            link = self.rr.assign(n, up)
        elif self.proto == "failover":
            link = failover_port_index(n, s.members.count, 0, up)
        else:
            link = np.full(n, LINK_ALL, dtype=np.int64)
        return Assignment(h, valid, link)


def _lagg(layers: str) -> Policy:
    return Policy(f"lagg:{layers}", "freebsd", True,
                  f"FreeBSD lagg, lagghash {layers}: FNV-1 (11.0+) or h*33+byte (9.x/10.x) "
                  "over MACs/addresses/ports; checked against the real FreeBSD code",
                  lambda setup: FreeBSDLagg(layers, setup), keyed=True, modes=LAGG_MODES,
                  caveat=LAGG_CAVEAT)


for _layers in LAGG_SUBSETS:
    register(_lagg(_layers))


class UpMembers:
    """A model that spreads over the members that are up: its link i is the i-th of them."""

    def __init__(self, setup: Setup, run):
        self.usable = setup.members.usable
        self.identity = bool((self.usable == np.arange(len(self.usable))).all())
        self.run = run  # packets -> (hash, valid, link among the usable members)

    def assign(self, packets: np.ndarray) -> Assignment:
        n = len(packets)
        if len(self.usable) == 0:
            return Assignment(np.zeros(n, np.uint32), np.zeros(n, bool),
                              np.full(n, -1, dtype=np.int64))
        h, valid, link = self.run(packets)
        link = np.asarray(link, dtype=np.int64)
        if not self.identity:  # (all up, or only the last ones down: link i is member i)
            link = np.where(link >= 0, self.usable[np.clip(link, 0, None)], -1)
        return Assignment(np.asarray(h, np.uint32), np.asarray(valid, bool), link)


def _ovs_assigner(name: str, setup: Setup) -> UpMembers:
    from hashscope.hashes.ovs.bond import SlbBond, TcpBond, ovs_active_backup

    n = max(len(setup.members.usable), 1)
    if name == "ovs:balance-slb":
        return UpMembers(setup, SlbBond(n).assign)
    if name == "ovs:balance-tcp":
        return UpMembers(setup, TcpBond(n, basis=setup.seed or 0).assign)
    return UpMembers(setup, lambda pk: ovs_active_backup(pk, n, 0))


def _switch_assigner(name: str, setup: Setup) -> UpMembers:
    from hashscope.hashes.switches.models import ASSIGNERS

    n = max(len(setup.members.usable), 1)
    return UpMembers(setup, lambda pk: ASSIGNERS[name](pk, n))


def _register_models() -> None:
    from hashscope.hashes.ovs.bond import MODELS as OVS_MODELS
    from hashscope.hashes.switches.models import MODELS as SWITCH_MODELS

    for name, (exact, summary) in OVS_MODELS.items():
        register(Policy(name, "ovs", exact, f"Open vSwitch bond: {summary}",
                        lambda setup, name=name: _ovs_assigner(name, setup),
                        keyed=name == "ovs:balance-tcp",
                        caveat=OVS_CAVEATS.get(name, "")))
    for name, (exact, summary) in SWITCH_MODELS.items():
        family = name.split(":")[0] if ":" in name else "baseline"
        register(Policy(name, family, exact, summary,
                        lambda setup, name=name: _switch_assigner(name, setup),
                        caveat="" if exact else SWITCH_CAVEAT))


OVS_CAVEATS = {
    "ovs:balance-slb": "ovs:balance-slb: buckets are handed out in first-use order and "
                       "rebalanced every 10 s from the capture's own traffic; the real bond "
                       "started earlier and saw traffic the capture may not hold",
    "ovs:balance-tcp": "ovs:balance-tcp: the kernel datapath's hash has a per-boot random "
                       "key: a statistical model only (a spread over random keys)",
}
SWITCH_CAVEAT = ("switch models are approximate: vendors document which fields are hashed "
                 "and how hash values map to links, not the hash function itself")

_register_models()
