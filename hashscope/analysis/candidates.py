"""The configurations ``infer`` tries, each as classes of the observations.

Transmit side: every Linux hash policy in every kernel era with ``--vlan offload`` and
``inband``; FreeBSD lagg with every lagghash set, FNV-1 (11.0+) and h*33+byte (9.x/10.x),
its key searched (:mod:`hashscope.hashes.freebsd.keysearch`); Open vSwitch balance-slb
(its 256 buckets) and balance-tcp (each 5-tuple: its key is random per boot); and the
modes that do not hash (active-backup, round robin, broadcast; see :mod:`.modes`).
Receive side: the switch models, which are approximate.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from hashscope.errors import HashscopeError
from hashscope.hashes.linux.eras import PROFILES
from hashscope.hashes.policy import Setup
from hashscope.hashes.registry import all_policies, make_assigner
from hashscope.members import Members

from .buckets import blips, round_robin_fill
from .evidence import Evaluation, binomial_tail, evaluate
from .observations import Observations

LINUX_POLICIES = ("layer2", "layer2+3", "layer3+4", "encap2+3", "encap3+4", "vlan+srcmac")
VLAN_MODES = ("offload", "inband")
FREEBSD_LAYERS = ("l2,l3,l4", "l2,l3", "l2,l4", "l3,l4", "l2", "l3", "l4")
FREEBSD_VARIANTS = {"fnv": "14.0", "djb": "10.3"}  #: variant -> a --freebsd version of it
SWITCH_FAMILIES = ("cisco", "aruba", "vmware", "hp-bl", "hp-gbe2c")


@dataclass
class Candidate:
    """One configuration and how it explains the observations."""

    family: str  #: linux, freebsd, ovs, a switch family, or mode
    policy: str | None  #: the --policy value (None: a mode that does not hash)
    mode: str | None
    exact: bool
    evaluation: Evaluation
    links: list[str] = field(default_factory=list)  #: member names in bond order
    kernel: str | None = None
    vlan: str | None = None
    seed: int | None = None
    freebsd: str | None = None
    note: str = ""
    also: list[str] = field(default_factory=list)  #: equivalent on this data
    deciding_flows: int = 0
    extra: list[str] = field(default_factory=list)  #: more options of the bond (--link-event)

    def label(self) -> str:
        parts = [self.policy or self.mode or ""]
        if self.policy and self.mode:
            parts.append(f"mode {self.mode}")
        if self.kernel:
            parts.append(f"kernel {self.kernel}")
        if self.vlan:
            parts.append(f"vlan {self.vlan}")
        if self.freebsd:
            parts.append(f"FreeBSD {self.freebsd}")
        if self.seed is not None:
            parts.append(f"key {self.seed:#010x}")
        return ", ".join(parts)

    def args(self) -> list[str]:
        """The options that give this bond to ``assign`` or ``analyze``."""
        out = []
        if self.policy:
            out += ["--policy", self.policy]
        if self.mode:
            out += ["--mode", self.mode]
        out += ["--links", ",".join(self.links)]
        for option, value in (("--kernel", self.kernel), ("--vlan", self.vlan),
                              ("--freebsd", self.freebsd)):
            if value:
                out += [option, value]
        if self.seed is not None:
            out += ["--seed", f"{self.seed:#010x}"]
        return out + self.extra


def bond_order(mapping: np.ndarray, names: tuple[str, ...]) -> list[str]:
    """Member names by class (the bond's order); classes never seen take the members
    never seen, in the order given."""
    left = [i for i in range(len(names)) if i not in set(mapping.tolist())]
    out = []
    for m in mapping.tolist():
        out.append(names[m] if m >= 0 else names[left.pop(0)])
    return out


def anonymous(n: int) -> Members:
    return Members(tuple(str(i) for i in range(n)))


def _judge(obs: Observations, idx: np.ndarray, classes: np.ndarray, units: np.ndarray,
           n_classes: int, one_to_one: bool = True) -> Evaluation:
    return evaluate(classes, units, obs.member[idx], obs.flow[idx], obs.packets[idx],
                    obs.bytes[idx], n_classes, obs.members.count, one_to_one)


def hashed(obs: Observations, idx: np.ndarray, policy_name: str, setup: Setup,
           rows: np.ndarray | None = None) -> Evaluation | None:
    """A stateless hash policy over the observations ``idx`` (``rows``: their rows, when
    already taken); None if it does not apply."""
    policy = {p.name: p for p in all_policies()}[policy_name]
    try:
        a = make_assigner(policy, setup).assign(obs.rows[idx] if rows is None else rows)
    except (HashscopeError, ValueError):
        return None
    units = np.where(a.has_hash, a.hash.astype(np.int64), -1 - np.arange(len(idx)))
    return _judge(obs, idx, a.link, units, setup.members.count)


def linux(obs: Observations, idx: np.ndarray) -> Iterator[Candidate]:
    """Every policy, era and VLAN mode; eras whose hash is the same for these frames (the
    slave pick differs only with a member down, the ICMP term only for ICMP, the VLAN
    mode only for tagged frames) are hashed once."""
    n, rows = obs.members.count, obs.rows[idx]
    tagged = bool((rows["vlan_n"] > 0).any())
    icmp = bool(np.isin(rows["proto"], (1, 58)).any())
    done: dict[tuple, Evaluation | None] = {}
    for policy in LINUX_POLICIES:
        for vlan in VLAN_MODES if tagged else VLAN_MODES[:1]:
            for era in reversed(PROFILES):
                key = (policy, vlan, era.eth_type, era.shift, era.icmp if icmp else None,
                       policy in era.policies)
                if key not in done:
                    done[key] = hashed(obs, idx, policy,
                                       Setup(anonymous(n), vlan=vlan, kernel=era), rows)
                ev = done[key]
                if ev is not None:
                    yield Candidate("linux", policy, None, True, ev,
                                    bond_order(ev.mapping, obs.members.names),
                                    kernel=era.name.split("-")[0].rstrip("+"), vlan=vlan,
                                    note=f"Linux {era.name} (802.3ad or balance-xor)")


def switches(obs: Observations, idx: np.ndarray) -> Iterator[Candidate]:
    n = obs.members.count
    for policy in all_policies():
        if policy.family in SWITCH_FAMILIES:
            ev = hashed(obs, idx, policy.name, Setup(anonymous(n)))
            if ev is not None:
                yield Candidate(policy.family, policy.name, None, policy.exact, ev,
                                bond_order(ev.mapping, obs.members.names),
                                note="a model of the switch's hash: approximate")


def ovs(obs: Observations, idx: np.ndarray) -> Iterator[Candidate]:
    """balance-slb: the bucket of each source MAC and VLAN, each bucket's member learnt
    (OVS places and moves buckets itself); balance-tcp: each 5-tuple on one member (the
    datapath's key is random per boot, so nothing more can be tested)."""
    from hashscope.hashes.ovs.bond import SlbBond, TcpBond, bucket_of

    rows = obs.rows[idx]
    slb = slb_candidate(obs, idx, SlbBond(1), bucket_of)
    if slb is not None:
        yield slb
    h, valid = TcpBond(1).hash(rows)
    _, cls = np.unique(np.where(valid, h.astype(np.int64), -1), return_inverse=True)
    cls = np.where(valid, cls.reshape(-1), -1)
    ev = _judge(obs, idx, cls, cls, max(int(cls.max(initial=-1)) + 1, 1), one_to_one=False)
    yield Candidate("ovs", "ovs:balance-tcp", None, False, ev, list(obs.members.names),
                    note="balance-tcp's datapath hash has a per-boot random key: only "
                         "that every 5-tuple stays on one member can be tested")


def slb_candidate(obs: Observations, idx: np.ndarray, bond, bucket_of) -> Candidate | None:
    """balance-slb judged on the sent frames in time order (:mod:`.buckets`)."""
    n, seq_obs = obs.members.count, obs.sequence_obs
    if not len(seq_obs) or not len(idx):
        return None
    h, valid = bond.hash(obs.rows)
    obs_bucket = np.where(valid, bucket_of(h, valid), -1).astype(np.int64)
    bucket, member = obs_bucket[seq_obs], obs.sequence.astype(np.int64)
    bad = blips(bucket, member, obs.sequence_ts)
    judged = bucket >= 0
    flow = obs.flow[seq_obs]
    flows = np.unique(flow[judged])
    bad_flows = np.unique(flow[judged & bad])
    size = obs.sequence_len.astype(np.int64)
    ring, tested, hits = round_robin_fill(bucket, member, n)
    obs_bad = np.zeros(len(obs.rows), bool)
    obs_bad[seq_obs[bad]] = True
    predicted = np.where(obs_bad | (obs_bucket < 0), -1, obs.member)[idx]
    ev = Evaluation(np.array(ring), predicted, predicted == obs.member[idx], len(flows),
                    len(flows) - len(bad_flows), int(judged.sum()),
                    int((judged & ~bad).sum()), int(size[judged].sum()),
                    int(size[judged & ~bad].sum()), tested, hits, 0,
                    binomial_tail(tested, hits, 1.0 / n) if n > 1 and tested else 1.0)
    order = [obs.members.names[m] for m in ring]
    order += [m for m in obs.members.names if m not in order]
    return Candidate("ovs", "ovs:balance-slb", None, True, ev, order,
                     note=f"buckets filled in turn in this order ({hits} of {tested} later "
                          "new buckets where the round robin puts them); a bucket moving "
                          "to another member (rebalancing, a failover) is not counted "
                          "against it; the rebalancing interval is not inferred")


def freebsd(obs: Observations, idx: np.ndarray, run=None) -> Iterator[Candidate]:
    """Every lagghash set and hash generation, its key searched (its scans where ``run``
    sends them: :func:`~hashscope.hashes.freebsd.keysearch.search_keys`)."""
    from hashscope.hashes.freebsd.keysearch import search_keys

    n = obs.members.count
    rows, member = obs.rows[idx], obs.member[idx]
    for layers in FREEBSD_LAYERS:
        for variant, version in FREEBSD_VARIANTS.items():
            found = search_keys(rows, member, n, layers=layers, variant=variant,
                                vlan="offload", run=run)
            if not found.count:
                continue
            key = int(found.keys[0])
            setup = Setup(anonymous(n), freebsd=version, seed=key, mode="lacp")
            ev = hashed(obs, idx, f"lagg:{layers}", setup)
            if ev is None:
                continue
            note = (f"{found.count} keys explain it" if found.count > 1 else "the one key")
            if found.power_of_two:
                note = (f"{n} ports, a power of two: the key only matters mod {n}; "
                        f"this key reproduces the observations")
            yield Candidate("freebsd", f"lagg:{layers}", "lacp", True, ev,
                            bond_order(ev.mapping, obs.members.names), seed=key,
                            freebsd=version, note=note + " (lacp or loadbalance)")
