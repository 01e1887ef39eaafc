"""Linux bonding's entries in the policy table: xmit_hash_policy with the bond's mode."""

from __future__ import annotations

import numpy as np

from hashscope.errors import HashscopeError, SetupError
from hashscope.hashes.policy import Assignment, Policy, Setup

from .if_bonding import MODES
from .if_bonding import POLICIES as XMIT_POLICIES
from .modes import (
    HASH_MODES,
    ActiveBackup,
    BalanceRR,
    bond_3ad_xor_xmit,
    broadcast,
    tlb_alb_xmit,
)
from .xmit_hash import linux_xmit_hash

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
            raise SetupError("mode", f"{{option}} {self.mode}: one of {', '.join(MODES)}")
        if policy not in setup.kernel.policies:
            raise HashscopeError(f"xmit_hash_policy {policy} does not exist in Linux "
                                 f"{setup.kernel.name}")
        self.ordered = self.mode == "balance-rr" or (self.mode == "active-backup"
                                                     and bool(setup.link_events))
        self.rr = (BalanceRR(setup.members, setup.kernel, setup.packets_per_slave)
                   if self.mode == "balance-rr" else None)
        self.backup = (ActiveBackup(setup.members, setup.link_events)
                       if self.mode == "active-backup" else None)

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
            link = self.backup.assign(packets)
        return Assignment(h, valid, link)


ENCAP34_CAVEAT = ("encap3+4: for traffic the bonded host originates itself (its own TCP "
                  "connections, and UDP sockets that set a hash), the kernel uses the "
                  "socket's random hash (skb->l4_hash) instead, which no capture shows: "
                  "those frames' members are not predictable; the prediction holds for "
                  "forwarded or bridged traffic and for frames injected with AF_PACKET")


def _linux(policy: str, number: int) -> Policy:
    return Policy(policy, "linux", True, f"Linux bonding: {LINUX_SUMMARY[policy]}; "
                  "checked against the real 6.1 kernel",
                  lambda setup: LinuxBond(policy, setup), modes=LINUX_MODES,
                  caveat=ENCAP34_CAVEAT if policy == "encap3+4" else "",
                  aliases=(str(number),))


#: Every xmit_hash_policy, by name and by the kernel's number.
POLICIES = tuple(_linux(name, number) for name, number in XMIT_POLICIES.items())
