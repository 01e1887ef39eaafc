"""Policies whose member depends on a key a capture cannot reveal (FreeBSD lagg's random
per-boot key without --seed, Open vSwitch balance-tcp's basis): what a plan can promise.

FreeBSD lagg hashes with FNV-1 (11.0+) seeded by a random 32-bit key. For some member
counts the key only relabels the members: two frames that share a member under one key
share one under every key. Whether it does is computed here, not assumed: the candidates
are hashed under several keys and grouped by the members they get under each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hashscope.hashes.policy import Policy, Setup

from .ports import Endpoints, hash_candidates

KEYS = 16  #: keys tried
KEY_SEED = 20260601  #: the keys are drawn from a fixed generator: the same run after run


@dataclass
class KeyGroups:
    """The candidates' members under several keys, grouped."""

    keys: np.ndarray  #: the keys tried
    links: np.ndarray  #: (keys, candidates) member index
    group: np.ndarray  #: per candidate: its group (same members under every key tried)
    relabels: bool  #: every key only relabels the members (groups == members, one each)


def key_groups(policy: Policy, setup: Setup, ends: Endpoints, vary: str, values: Sequence,
               keys: int = KEYS) -> KeyGroups:
    """Hash the candidates under ``keys`` keys (0 and random ones) and group them."""
    rng = np.random.default_rng(KEY_SEED)
    tried = np.concatenate([[0], rng.integers(1, 2**32, keys - 1, dtype=np.uint64)])
    links = np.stack([hash_candidates(policy, setup.with_seed(int(k)), ends, vary, values)[1]
                      for k in tried])
    _, group = np.unique(links.T, axis=0, return_inverse=True)
    group = group.reshape(-1)
    n_members = len(np.unique(links[0][links[0] >= 0]))
    relabels = bool(len(np.unique(group)) == n_members and all(
        len(np.unique(np.stack([group, row]), axis=1).T) == n_members for row in links))
    return KeyGroups(tried, links, group, relabels)


def ovs_statistical(policy: Policy) -> str:
    """Why an Open vSwitch balance-tcp plan can only give odds."""
    return (f"{policy.name}: Open vSwitch hashes each flow into one of 256 buckets with a "
            "basis that is random per boot of ovs-vswitchd (and rebalances buckets by load "
            "every 10 s), so no choice of ports is reliable: the odds below are what N "
            "streams get (give --seed with the basis to see one boot's buckets in "
            "`hashscope analyze`)")


def lagg_unreliable(policy: Policy, n: int) -> str:
    return (f"{policy.name}: FreeBSD lagg's key is random per boot (a lagg's lagg_key), so "
            f"with {n} members no choice of ports is reliable: the keys tried put the "
            "candidates together in different ways; give --seed with the key (it is not "
            "visible from userland: `hashscope infer` finds it from per-member captures) or "
            "use the odds below")


def lagg_relabel(policy: Policy, n: int) -> str:
    return (f"{policy.name}: the key is random per boot, but with {n} members it only "
            "relabels the members (FNV-1's low bits; computed over the keys tried): "
            "streams in distinct groups land on distinct members whatever the key, which "
            "member each group takes depends on the key")
