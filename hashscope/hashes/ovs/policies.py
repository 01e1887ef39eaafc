"""Open vSwitch's entries in the policy table: the bond modes over the members that are up."""

from __future__ import annotations

from hashscope.hashes.policy import Policy, Setup, UpMembers

from .bond import MODELS

OVS_CAVEATS = {
    "ovs:balance-slb": "ovs:balance-slb: buckets are handed out in first-use order and "
                       "rebalanced every 10 s from the capture's own traffic; the real bond "
                       "started earlier and saw traffic the capture may not hold",
    "ovs:balance-tcp": "ovs:balance-tcp: the kernel datapath's hash has a per-boot random "
                       "key: a statistical model only (a spread over random keys)",
}


def _ovs_assigner(name: str, setup: Setup) -> UpMembers:
    from .bond import SlbBond, TcpBond, ovs_active_backup

    n = max(len(setup.members.usable), 1)
    if name in ("ovs:balance-slb", "ovs:balance-tcp"):
        bond = SlbBond(n) if name == "ovs:balance-slb" else TcpBond(n, basis=setup.seed or 0)
        return UpMembers(setup, bond.assign, ordered=True, bond=bond)
    return UpMembers(setup, lambda pk: ovs_active_backup(pk, n, 0))


POLICIES = tuple(Policy(name, "ovs", exact, f"Open vSwitch bond: {summary}",
                        lambda setup, name=name: _ovs_assigner(name, setup),
                        keyed=name == "ovs:balance-tcp", caveat=OVS_CAVEATS.get(name, ""))
                 for name, (exact, summary) in MODELS.items())
