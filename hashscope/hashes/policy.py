"""Every hash policy hashscope knows, by name, and how to run one over packet tables.

Names: bare names are Linux ``xmit_hash_policy`` values spelled as the kernel spells
them (``layer3+4``; the kernel's numbers are accepted too); FreeBSD lagg as
``lagg:l2,l3,l4`` (any subset of the layers); other models namespaced (``ovs:balance-slb``,
``cisco:src-dst-ip``, ...). Each policy says whether it is exact (reproduces the real
code bit for bit) or approximate, and whether it depends on a random key that a capture
cannot reveal (``keyed``: the analysis then reports a distribution over many keys).

An *assigner* is made per run (:func:`make_assigner`) and fed packet tables in capture
order; it keeps whatever state the bond keeps (a round-robin counter, OVS's buckets).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from itertools import combinations
from typing import Protocol

import numpy as np

from hashscope.errors import HashscopeError
from hashscope.hashes.linux.eras import CURRENT, KernelProfile
from hashscope.members import LINK_UNKNOWN, Members


@dataclass
class Assignment:
    """Per packet: the 32-bit hash (where defined) and the member link (or a LINK_* code)."""

    hash: np.ndarray  #: uint32
    has_hash: np.ndarray  #: bool
    link: np.ndarray  #: int64 member index, or LINK_UNKNOWN / LINK_ALL / LINK_NOT_SENT


class Assigner(Protocol):
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
    extra: dict = field(default_factory=dict)

    def with_seed(self, seed: int) -> Setup:
        return replace(self, seed=seed)


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

    @property
    def accuracy(self) -> str:
        return "exact" if self.exact else "approximate"


_REGISTRY: dict[str, Policy] = {}
_ALIASES: dict[str, str] = {}


def register(policy: Policy, *aliases: str) -> Policy:
    _REGISTRY[policy.name] = policy
    for alias in aliases:
        _ALIASES[alias] = policy.name
    return policy


def _load() -> None:
    if not _REGISTRY:
        from . import policy_table  # noqa: F401 - registers the policies on import


def all_policies() -> list[Policy]:
    """Every policy, in the order ``hashscope policies`` lists them."""
    _load()
    return list(_REGISTRY.values())


def lagg_layers(spec: str) -> str:
    """Normalise a lagghash layer list ("l4,l3" -> "l3,l4"); HashscopeError if bad."""
    parts = [p.strip() for p in spec.split(",") if p.strip()]
    if not parts or any(p not in ("l2", "l3", "l4") for p in parts) or len(set(parts)) != len(
            parts):
        raise HashscopeError(f"lagghash {spec!r}: a comma-separated subset of l2,l3,l4")
    return ",".join(sorted(parts))


LAGG_SUBSETS = [",".join(c) for k in (3, 2, 1) for c in combinations(("l2", "l3", "l4"), k)]


def get_policy(name: str) -> Policy:
    """The policy called ``name`` (Linux names and numbers, ``lagg:...`` in any order)."""
    _load()
    key = name.strip()
    if key.startswith("lagg:"):
        key = "lagg:" + lagg_layers(key[5:])
    key = _ALIASES.get(key, key)
    if key not in _REGISTRY:
        raise HashscopeError(f"unknown policy {name!r}; `hashscope policies` lists them")
    return _REGISTRY[key]


def make_assigner(policy: Policy | str, setup: Setup) -> Assigner:
    """A fresh assigner for one pass over the packets, in capture order."""
    p = get_policy(policy) if isinstance(policy, str) else policy
    if setup.mode is not None and p.modes and setup.mode not in p.modes:
        raise HashscopeError(f"--mode {setup.mode} does not apply to {p.name}; "
                             f"one of {', '.join(p.modes)}")
    return p.make(setup)


def unknown_links(n: int) -> np.ndarray:
    return np.full(n, LINK_UNKNOWN, dtype=np.int64)


def applicable_policies(setup: Setup) -> list[Policy]:
    """The policies ``compare`` runs: every registered one that exists for this set-up."""
    return [p for p in all_policies()
            if p.family != "linux" or p.name in setup.kernel.policies]
