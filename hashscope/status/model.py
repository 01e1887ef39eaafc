"""What a bond's status text says: its kind, mode, policy and members, and what was not
read (ignored lines, warnings)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StatusMember:
    """One member (slave, port) of the bond, in the bond's order.

    ``up``: it has link (MII Status up, lagg ACTIVE, OVS enabled, teamd link up).
    ``active``: the status names it the active one (the active-backup slave, OVS's active
    member, teamd's active port), or it is in the active aggregator; None when the text
    does not say. ``out``: why the bond does not send on it (its link is down, it is
    outside the active aggregator, not distributing, disabled), empty when it does.
    """

    name: str
    up: bool
    speed_bps: int | None = None
    aggregator: int | None = None
    flags: tuple[str, ...] = ()
    active: bool | None = None
    out: str = ""
    #: OVS bond/show: the hash buckets on this member and their loads in kB
    buckets: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class BondStatus:
    """A bond's own account of itself, as read from one text.

    ``kind``: ``linux`` (/proc/net/bonding/bondN), ``freebsd`` (ifconfig laggN),
    ``ovs-bond`` (ovs-appctl bond/show), ``ovs-lacp`` (ovs-appctl lacp/show), ``teamd``
    (teamdctl state, state dump or config dump). ``mode`` as ``--mode`` takes it
    (FreeBSD's laggproto, OVS's bond_mode); ``policy`` as hashscope names it
    (``layer3+4``, ``lagg:l2,l3,l4``, ``ovs:balance-tcp``), None when the text gives none.
    ``ignored``: (line number, text) of every line that was not understood;
    ``details``: other values read (driver version, LACP status, ...).
    """

    path: str
    kind: str
    name: str | None = None
    mode: str | None = None
    policy: str | None = None
    members: tuple[StatusMember, ...] = ()
    active_aggregator: int | None = None
    ignored: tuple[tuple[int, str], ...] = ()
    warnings: tuple[str, ...] = ()
    details: tuple[tuple[str, str], ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.members)

    @property
    def down(self) -> tuple[str, ...]:
        """The members the bond does not send on (as ``--down``)."""
        return tuple(m.name for m in self.members if m.out)

    @property
    def active(self) -> str | None:
        """The active member, where the text names one (active-backup)."""
        name = self.detail("active")
        return name if name in self.names else None

    def detail(self, key: str) -> str | None:
        return dict(self.details).get(key)
