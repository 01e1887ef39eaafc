"""What every hash family shares: a policy, the bond's set-up, and per-packet assignments.

A :class:`Policy` is a named way to pick the member of each frame; each family
(:mod:`hashscope.hashes.linux`, ``freebsd``, ``ovs``, ``switches``) lists its own in a
``POLICIES`` table and :mod:`hashscope.hashes.registry` looks them up by name. Each policy
says whether it is exact (reproduces the real code bit for bit) or approximate, and whether
it depends on a random key that a capture cannot reveal (``keyed``: the analysis then
reports a distribution over many keys).

An *assigner* is made per run (:meth:`Policy.make`) and fed packet tables in capture order;
it keeps whatever state the bond keeps (a round-robin counter, OVS's buckets).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np

from hashscope.errors import SetupError
from hashscope.hashes.linux.eras import CURRENT, KernelProfile, kernel_profile
from hashscope.members import Members, parse_link_events, parse_links


@dataclass
class Assignment:
    """Per packet: the 32-bit hash (where defined) and the member link (or a LINK_* code)."""

    hash: np.ndarray  #: uint32
    has_hash: np.ndarray  #: bool
    link: np.ndarray  #: int64 member index, or LINK_UNKNOWN / LINK_ALL / LINK_NOT_SENT


class Assigner(Protocol):
    """Members for packet tables fed in capture order.

    ``ordered``: the members depend on the order of the frames (a round-robin counter,
    OVS's buckets and rebalancing), so every frame goes through :meth:`assign` in order.
    Otherwise a frame's member is a function of its headers alone, and the analysis may
    hash one frame per header signature (:mod:`hashscope.hashes.signature`).
    """

    ordered: bool

    def assign(self, packets: np.ndarray) -> Assignment: ...


@dataclass(frozen=True)
class Setup:
    """Everything about the bond besides its policy."""

    members: Members
    vlan: str = "offload"  #: Linux/FreeBSD: was an outer tag out of band for the bond?
    kernel: KernelProfile = CURRENT  #: Linux era
    mode: str | None = None  #: Linux bonding mode / FreeBSD laggproto; None: the default
    seed: int | None = None  #: FreeBSD lagg key / OVS basis; None: unknown (random)
    freebsd: str = "14.0"  #: FreeBSD version (FNV-1 from 11.0, h*33+byte before)
    packets_per_slave: int = 1  #: Linux balance-rr
    rr_limit: int = 1  #: FreeBSD roundrobin stride
    tlb_dynamic_lb: bool = True  #: Linux balance-tlb/alb
    rebalance_interval_ms: int = 10_000  #: OVS other_config:bond-rebalance-interval
    #: (ts_ns, member index, up) of the links that went down or came up (OVS bonds)
    link_events: tuple[tuple[int, int, bool], ...] = ()
    extra: dict = field(default_factory=dict)

    def with_seed(self, seed: int) -> Setup:
        return replace(self, seed=seed)


def parse_seed(text: str | int | None) -> int | None:
    """A 32-bit key (``0x1234abcd``, ``305441741``) or None; SetupError if it is not one."""
    if text is None:
        return None
    try:
        key = int(text, 0) if isinstance(text, str) else int(text)
    except ValueError:
        raise SetupError("seed", f"{{option}} {text!r}: a number such as 0x1234abcd") from None
    if not 0 <= key < 2**32:
        raise SetupError("seed", f"{{option}} {text}: a 32-bit key")
    return key


def make_setup(links: str | int | None = None, down: Sequence[str] = (), vlan: str = "offload",
               kernel: str | None = None, mode: str | None = None,
               seed: str | int | None = None, freebsd: str = "14.0",
               packets_per_slave: int = 1, rr_limit: int = 1,
               tlb_dynamic_lb: int = 1, rebalance_interval: int = 10_000,
               link_events: Sequence[str] = ()) -> Setup:
    """A :class:`Setup` from the settings as a user gives them: ``links`` a count or names
    (see :func:`hashscope.members.parse_links`), ``kernel`` a version, ``seed`` a number
    or its text, ``tlb_dynamic_lb`` 0 or 1, ``rebalance_interval`` in ms (OVS),
    ``link_events`` as :func:`hashscope.members.parse_link_events` reads them. Raises
    SetupError naming the bad setting."""
    key = parse_seed(seed)
    if tlb_dynamic_lb not in (0, 1):
        raise SetupError("tlb_dynamic_lb", "{option}: 0 or 1")
    if rebalance_interval < 0:
        raise SetupError("rebalance_interval", f"{{option}} {rebalance_interval}: "
                                               "milliseconds, 0 for none")
    members = parse_links(links, down or ())
    return Setup(members, vlan, kernel_profile(kernel), mode, key, freebsd,
                 packets_per_slave, rr_limit, bool(tlb_dynamic_lb), rebalance_interval,
                 parse_link_events(link_events or (), members))


@dataclass(frozen=True)
class Policy:
    """A named hash policy: how a bond or switch picks the member of each frame."""

    name: str
    family: str  #: linux, freebsd, ovs, cisco, aruba, vmware, baseline
    exact: bool
    summary: str
    make: Callable[[Setup], Assigner]
    keyed: bool = False  #: depends on a random key: without --seed, a distribution
    modes: tuple[str, ...] = ()  #: --mode values (first: the default)
    caveat: str = ""  #: printed wherever the policy's results are
    aliases: tuple[str, ...] = ()  #: other names it is looked up by (Linux's numbers)

    @property
    def accuracy(self) -> str:
        return "exact" if self.exact else "approximate"


class UpMembers:
    """A model that spreads over the members that are up: its link i is the i-th of them.

    ``bond``, for an ordered model whose hash is stateless (OVS's buckets): its
    ``buckets`` and ``route`` are offered apart (:meth:`buckets`, :meth:`route`), so that
    the analysis can hash once per header signature and route every frame in order.
    """

    def __init__(self, setup: Setup, run, ordered: bool = False, bond=None):
        self.ordered = ordered
        self.usable = setup.members.usable
        self.identity = bool((self.usable == np.arange(len(self.usable))).all())
        self.run = run  # packets -> (hash, valid, link among the usable members)
        if bond is not None:
            self.buckets, self._route = bond.buckets, bond.route

    def assign(self, packets: np.ndarray) -> Assignment:
        n = len(packets)
        if len(self.usable) == 0:
            return Assignment(np.zeros(n, np.uint32), np.zeros(n, bool),
                              np.full(n, -1, dtype=np.int64))
        return self._members(*self.run(packets))

    def route(self, bucket: np.ndarray, ts: np.ndarray, wirelen: np.ndarray) -> np.ndarray:
        """The members (-1: none) of frames given their buckets (:meth:`buckets`), times
        and sizes, in capture order."""
        if len(self.usable) == 0:
            return np.full(len(ts), -1, dtype=np.int64)
        return self._links(self._route(bucket, ts, wirelen))

    def _members(self, h, valid, link) -> Assignment:
        return Assignment(np.asarray(h, np.uint32), np.asarray(valid, bool), self._links(link))

    def _links(self, link) -> np.ndarray:
        link = np.asarray(link, dtype=np.int64)
        if not self.identity:  # (all up, or only the last ones down: link i is member i)
            link = np.where(link >= 0, self.usable[np.clip(link, 0, None)], -1)
        return link
