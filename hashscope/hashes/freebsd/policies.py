"""FreeBSD lagg's entries in the policy table: lagghash layers with the laggproto."""

from __future__ import annotations

from itertools import combinations

import numpy as np

from hashscope.errors import HashscopeError, SetupError
from hashscope.hashes.policy import Assignment, Policy, Setup
from hashscope.members import LINK_ALL

LAGG_MODES = ("lacp", "loadbalance", "roundrobin", "failover", "broadcast")
LAGG_CAVEAT = ("FreeBSD lagg: the key is random per lagg (without --seed: a spread over "
               "random keys). With use_flowid on (the default up to 11.x) the NIC's or the "
               "stack's flowid replaces this hash and cannot be rebuilt from a capture; "
               "lacp's port order (pm_map) is the order ports began distributing")


class FreeBSDLagg:
    """A FreeBSD lagg: laggproto + lagghash layers, one key, FreeBSD version."""

    def __init__(self, layers: str, setup: Setup):
        from .lagg import RoundRobin
        from .mbufhash import freebsd_variant

        self.layers, self.setup = layers, setup
        self.proto = setup.mode or "lacp"
        if self.proto not in LAGG_MODES:
            raise SetupError("mode", f"{{option}} {self.proto}: a laggproto, one of "
                                     f"{', '.join(LAGG_MODES)}")
        try:
            self.variant = freebsd_variant(setup.freebsd)
        except ValueError as exc:
            raise SetupError("freebsd", f"{{option}}: {exc}") from None
        m = setup.members
        self.ordered = self.proto == "roundrobin"
        self.rr = RoundRobin(m.count, setup.rr_limit) if self.ordered else None

    def assign(self, packets: np.ndarray) -> Assignment:
        from .lagg import failover_port_index, lagg_port_index
        from .mbufhash import lagg_hash

        s, n, up = self.setup, len(packets), self.setup.members.up
        if self.proto in ("lacp", "loadbalance"):
            h, valid = lagg_hash(packets, self.layers, s.seed or 0, self.variant, s.vlan)
            link = lagg_port_index(h, valid, s.members.count, up, self.proto)
            return Assignment(h, valid, link)
        h, valid = np.zeros(n, np.uint32), np.zeros(n, bool)
        if self.rr is not None:
            link = self.rr.assign(n, up)
        elif self.proto == "failover":
            link = failover_port_index(n, s.members.count, 0, up)
        else:
            link = np.full(n, LINK_ALL, dtype=np.int64)
        return Assignment(h, valid, link)


def _lagg(layers: str) -> Policy:
    return Policy(f"lagg:{layers}", "freebsd", True,
                  f"FreeBSD lagg, lagghash {layers}: FNV-1 (11.0+) or h*33+byte (9.x/10.x) "
                  "over MACs/addresses/ports; checked against the real FreeBSD code",
                  lambda setup: FreeBSDLagg(layers, setup), keyed=True, modes=LAGG_MODES,
                  caveat=LAGG_CAVEAT)


def lagg_layers(spec: str) -> str:
    """Normalise a lagghash layer list ("l4,l3" -> "l3,l4"); HashscopeError if bad."""
    parts = [p.strip() for p in spec.split(",") if p.strip()]
    if not parts or any(p not in ("l2", "l3", "l4") for p in parts) or len(set(parts)) != len(
            parts):
        raise HashscopeError(f"lagghash {spec!r}: a comma-separated subset of l2,l3,l4")
    return ",".join(sorted(parts))


LAGG_SUBSETS = [",".join(c) for k in (3, 2, 1) for c in combinations(("l2", "l3", "l4"), k)]
#: lagg:<layers> for every lagghash subset.
POLICIES = tuple(_lagg(layers) for layers in LAGG_SUBSETS)
