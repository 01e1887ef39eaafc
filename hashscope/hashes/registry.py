"""Every policy hashscope knows, by name: the families' tables, concatenated explicitly.

Names: bare names are Linux ``xmit_hash_policy`` values spelled as the kernel spells
them (``layer3+4``; the kernel's numbers are accepted too); FreeBSD lagg as
``lagg:l2,l3,l4`` (any subset of the layers, in any order); other models namespaced
(``ovs:balance-slb``, ``cisco:src-dst-ip``, ...).

The built-in table is a plain tuple. A plugin or a test that wants more policies builds
its own :class:`Registry` from ``(*BUILT_IN, mine)``; nothing registers itself on import.
"""

from __future__ import annotations

from collections.abc import Iterable

from hashscope.errors import HashscopeError, SetupError

from .freebsd.policies import POLICIES as FREEBSD
from .freebsd.policies import lagg_layers
from .linux.policies import POLICIES as LINUX
from .ovs.policies import POLICIES as OVS
from .policy import Assigner, Policy, Setup
from .switches.policies import POLICIES as SWITCHES

#: Every built-in policy, in the order ``hashscope policies`` lists them.
BUILT_IN: tuple[Policy, ...] = (*LINUX, *FREEBSD, *OVS, *SWITCHES)


class Registry:
    """Policies by name and by alias."""

    def __init__(self, policies: Iterable[Policy] = BUILT_IN):
        self.policies = tuple(policies)
        self._by_name: dict[str, Policy] = {}
        for p in self.policies:
            for name in (p.name, *p.aliases):
                if name in self._by_name:
                    raise ValueError(f"policy name {name!r} is used twice")
                self._by_name[name] = p

    def get(self, name: str) -> Policy:
        """The policy called ``name`` (Linux names and numbers, ``lagg:...`` in any order)."""
        key = name.strip()
        if key.startswith("lagg:"):
            key = "lagg:" + lagg_layers(key[5:])
        if key not in self._by_name:
            raise HashscopeError(f"unknown policy {name!r}; `hashscope policies` lists them")
        return self._by_name[key]

    def applicable(self, setup: Setup) -> list[Policy]:
        """The policies ``compare`` runs: every one that exists for this set-up."""
        return [p for p in self.policies
                if p.family != "linux" or p.name in setup.kernel.policies]


#: The built-in policies.
REGISTRY = Registry()


def all_policies() -> list[Policy]:
    """Every built-in policy, in the order ``hashscope policies`` lists them."""
    return list(REGISTRY.policies)


def get_policy(name: str) -> Policy:
    """The built-in policy called ``name``; HashscopeError if there is none."""
    return REGISTRY.get(name)


def applicable_policies(setup: Setup) -> list[Policy]:
    """The built-in policies that exist for this set-up (Linux policies by kernel era)."""
    return REGISTRY.applicable(setup)


def make_assigner(policy: Policy | str, setup: Setup) -> Assigner:
    """A fresh assigner for one pass over the packets, in capture order."""
    p = get_policy(policy) if isinstance(policy, str) else policy
    if setup.mode is not None and p.modes and setup.mode not in p.modes:
        raise SetupError("mode", f"{{option}} {setup.mode} does not apply to {p.name}; "
                                 f"one of {', '.join(p.modes)}")
    return p.make(setup)
