"""Open vSwitch's entries in the policy table: the bond modes over the members that are up."""

from __future__ import annotations

from hashscope.hashes.policy import Policy, Setup, UpMembers

from .bond import MODELS

OVS_CAVEATS = {
    "ovs:balance-slb": "ovs:balance-slb: new buckets go round robin in member order (give "
                       "--links in the order the bond enabled them, which bond/show does "
                       "not print) and are rebalanced every --rebalance-interval (10 s) "
                       "from the capture's own traffic; the real bond started earlier, "
                       "saw traffic the capture may not hold and rebalances at its own "
                       "times",
    "ovs:balance-tcp": "ovs:balance-tcp: the kernel datapath's hash has a per-boot random "
                       "key: a statistical model only (a spread over random keys)",
}


def _ovs_assigner(name: str, setup: Setup) -> UpMembers:
    from .bond import SlbBond, TcpBond, ovs_active_backup

    n = max(len(setup.members.usable), 1)
    events = link_events(setup)
    interval = setup.rebalance_interval_ms * 10**6
    if name == "ovs:balance-slb":
        bond = SlbBond(n, interval, link_events=events)
    elif name == "ovs:balance-tcp":
        bond = TcpBond(n, interval, basis=setup.seed or 0, link_events=events)
    else:
        return UpMembers(setup, lambda pk: ovs_active_backup(pk, n, 0, events))
    return UpMembers(setup, bond.assign, ordered=True, bond=bond)


def link_events(setup: Setup) -> tuple[tuple[int, int, bool], ...]:
    """The setup's link events with each member as its place among the usable members
    (the bond's own numbering); events of members that are never usable are dropped."""
    place = {int(m): k for k, m in enumerate(setup.members.usable)}
    return tuple((t, place[m], up) for t, m, up in setup.link_events if m in place)


POLICIES = tuple(Policy(name, "ovs", exact, f"Open vSwitch bond: {summary}",
                        lambda setup, name=name: _ovs_assigner(name, setup),
                        keyed=name == "ovs:balance-tcp", caveat=OVS_CAVEATS.get(name, ""))
                 for name, (exact, summary) in MODELS.items())
