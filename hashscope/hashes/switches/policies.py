"""The switch models' entries in the policy table, over the members that are up."""

from __future__ import annotations

from hashscope.hashes.policy import Policy, Setup, UpMembers

from .models import ASSIGNERS, MODELS

SWITCH_CAVEAT = ("switch models are approximate: vendors document which fields are hashed "
                 "and how hash values map to links, not the hash function itself")


def _switch_assigner(name: str, setup: Setup) -> UpMembers:
    n = max(len(setup.members.usable), 1)
    return UpMembers(setup, lambda pk: ASSIGNERS[name](pk, n))


POLICIES = tuple(Policy(name, name.split(":")[0] if ":" in name else "baseline", exact,
                        summary, lambda setup, name=name: _switch_assigner(name, setup),
                        caveat="" if exact else SWITCH_CAVEAT)
                 for name, (exact, summary) in MODELS.items())
