"""Linux kernel eras of the bonding transmit hash, as data (``--kernel VERSION``).

The hash changed over the years (drivers/net/bonding/bond_main.c; the research note
linux_bonding.md section 10 has the commits). Each era is one :class:`KernelProfile`;
the compiled hash reads its switches packed into one integer (:meth:`KernelProfile.code`).

Only the current era (5.18+) is checked bit for bit against vectors from a real kernel
(6.1); the older eras are reproduced from the kernel source and flagged as such. Stable
and distribution kernels backport freely: a profile is chosen by version, but per-member
captures are the real test (``hashscope infer``-style calibration).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hashscope.errors import SetupError

#: bond_eth_hash's type term
ETH_NO_TYPE, ETH_RAW_TYPE, ETH_BE16_TYPE = 0, 1, 2
#: which folded policies drop the low bit (bond_ip_hash's ``>> 1``)
SHIFT_NONE, SHIFT_ALL_FOLDED, SHIFT_34_ONLY = 0, 1, 2
#: ICMP/ICMPv6 echo identifier in the layer3+4 hash
ICMP_IGNORED, ICMP_RAW_ID, ICMP_NTOHS_ID = 0, 1, 2
#: slave choice for balance-xor / 802.3ad
PICK_ARRAY = "array"  #: usable_slaves[hash % n_usable] (3.19+)
PICK_WALK = "walk"  #: hash % all slaves, then the next usable one in list order (3.13-3.18)

BASE_POLICIES = ("layer2", "layer3+4", "layer2+3", "encap2+3", "encap3+4")


@dataclass(frozen=True)
class KernelProfile:
    """One era of the transmit hash."""

    name: str
    first: tuple[int, int]  #: first kernel version of the era
    eth_type: int
    shift: int
    icmp: int
    pick: str
    policies: tuple[str, ...]
    verified: bool  #: checked against vectors from a real kernel of this era

    def code(self) -> int:
        """The switches packed for the compiled hash: eth | shift << 2 | icmp << 4."""
        return self.eth_type | self.shift << 2 | self.icmp << 4

    def describe(self) -> str:
        how = ("checked against the real 6.1 kernel" if self.verified
               else "reproduced from the kernel source, not checked against a real kernel")
        return f"Linux {self.name} ({how})"


PROFILES = (
    KernelProfile("3.13-3.14", (3, 13), ETH_NO_TYPE, SHIFT_NONE, ICMP_IGNORED, PICK_WALK,
                  BASE_POLICIES, False),
    KernelProfile("3.15-3.18", (3, 15), ETH_RAW_TYPE, SHIFT_NONE, ICMP_IGNORED, PICK_WALK,
                  BASE_POLICIES, False),
    KernelProfile("3.19-4.13", (3, 19), ETH_RAW_TYPE, SHIFT_NONE, ICMP_IGNORED, PICK_ARRAY,
                  BASE_POLICIES, False),
    KernelProfile("4.14-5.4", (4, 14), ETH_RAW_TYPE, SHIFT_ALL_FOLDED, ICMP_IGNORED,
                  PICK_ARRAY, BASE_POLICIES, False),
    KernelProfile("5.5-5.11", (5, 5), ETH_RAW_TYPE, SHIFT_ALL_FOLDED, ICMP_RAW_ID, PICK_ARRAY,
                  BASE_POLICIES, False),
    KernelProfile("5.12-5.14", (5, 12), ETH_RAW_TYPE, SHIFT_ALL_FOLDED, ICMP_NTOHS_ID,
                  PICK_ARRAY, (*BASE_POLICIES, "vlan+srcmac"), False),
    KernelProfile("5.15-5.17", (5, 15), ETH_BE16_TYPE, SHIFT_ALL_FOLDED, ICMP_NTOHS_ID,
                  PICK_ARRAY, (*BASE_POLICIES, "vlan+srcmac"), False),
    KernelProfile("5.18+", (5, 18), ETH_BE16_TYPE, SHIFT_34_ONLY, ICMP_NTOHS_ID, PICK_ARRAY,
                  (*BASE_POLICIES, "vlan+srcmac"), True),
)

CURRENT = PROFILES[-1]


def kernel_profile(version: str | None) -> KernelProfile:
    """The era of a kernel version ("6.1", "5.10.0-28-amd64", "4.19"); None: current."""
    if version is None or version.strip().lower() in ("", "current", "latest"):
        return CURRENT
    m = re.match(r"\s*v?(\d+)\.(\d+)", version)
    if not m:
        raise SetupError("kernel", f"{{option}} {version!r}: expected a version such as 6.1 "
                         "or 4.19")
    ver = (int(m.group(1)), int(m.group(2)))
    if ver < PROFILES[0].first:
        raise SetupError("kernel", f"{{option}} {version}: kernels before 3.13 (another hash "
                         "function) are not modelled")
    return [p for p in PROFILES if p.first <= ver][-1]
