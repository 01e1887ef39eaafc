"""Open vSwitch bonds (ofproto/bond.c) as XCP-ng / XenServer run them: the member link of
every packet.

- ``balance-slb``: source MAC + VLAN hashed (:func:`hashscope.hashes.ovs.hash.hash_mac`) into 256
  buckets; a bucket gets the next enabled member round-robin when first used (OVS 2.3+),
  and the rebalancer moves buckets between members every ``bond-rebalance-interval``
  (:class:`SlbBond`, stateful across batches). Checked against a real Open vSwitch 3.1
  (tools/ovs_lab): hash_mac equals ``bond/hash`` for every frame; given the round robin's
  order, first use is exact (every frame of slb-short), link failures are followed
  (learning packets included, when the captures hold them) and bond_rebalance makes the
  moves the real bond logged; only the runs' times are approximate (97.4 to 99.4% of
  slb-long's frames on the real member over four runs of the lab).
- ``balance-tcp``: on the kernel datapath the bucket comes from the boot-keyed skb hash,
  which no capture can reproduce: :func:`ovs_tcp_hash` computes OVS's own flow hash with
  a given basis (``flow_hash_5tuple``, or the OVS <= 2.7 ``flow_hash_symmetric_l4``), and
  a caller varying the basis gets the distribution. On the userspace datapath the bucket
  is exact (``TcpBond(datapath="userspace")``); the bucket table is random either way.
- ``active-backup``: every frame on the active member; failovers followed given the link
  events (exact in the lab).

Sources: openvswitch/ovs ofproto/bond.c, lib/flow.c, lib/odp-execute.c,
lib/dpif-netdev.c (v2.5.3, v2.17.0, v3.1.0, master); research note other_hashes.md §1.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .flow import (
    HASH_5TUPLE,
    HASH_SLB,
    HASH_SYMMETRIC_L4,
    U32,
    check_flavour,
    flow_hash_5tuple,
    flow_hash_symmetric_l4,
    hash_packets,
    hash_packets_timed,
)
from .hash import hash_int

BOND_BUCKETS = 256  #: BOND_BUCKETS (lib/dpif.h / ofproto/bond.c); bucket = hash & BOND_MASK
REBALANCERS = ("2.16", "2.5")  #: multi-bucket moves (OVS >= 2.16) or one at a time (2.5-2.15)
OVS_TCP_VERSIONS = ("2.8", "2.7")  #: flow_hash_5tuple (>= 2.8) or flow_hash_symmetric_l4
DATAPATHS = ("kernel", "userspace")  #: balance-tcp's dp_hash: the skb hash, or software RSS


def ovs_tcp_hash(packets: np.ndarray, basis: int = 0, version: str = "2.8",
                 flavour: str = "generic") -> tuple[np.ndarray, np.ndarray]:
    """balance-tcp's hash with a given basis: (hash uint32, valid bool). APPROXIMATE.

    The kernel datapath (XCP-ng) uses jhash_1word(skb_get_hash(skb), basis) with a hash
    keyed at boot: no capture can reproduce a flow's bucket. OVS's own flow hash with a
    random basis has the same per-flow randomness, so the distribution over many bases is
    the meaningful answer. ``version="2.8"``: flow_hash_5tuple (OVS 2.8+, the userspace
    datapath without an RSS hash); ``"2.7"``: flow_hash_symmetric_l4 (OVS <= 2.7).
    """
    if version not in OVS_TCP_VERSIONS:
        raise ValueError(f"version must be one of {OVS_TCP_VERSIONS}, not {version!r}")
    if version == "2.7":
        return flow_hash_symmetric_l4(packets, basis)
    return flow_hash_5tuple(packets, basis, flavour)


def slb_hash(packets: np.ndarray, basis: int = 0, flavour: str = "generic"
             ) -> tuple[np.ndarray, np.ndarray]:
    """balance-slb's bond_hash_src = hash_mac(dl_src, vid, basis): (hash, valid)."""
    return hash_packets(packets, HASH_SLB, basis, flavour)


def _insert_bal(bals: list[int], m: int, load: list[int]) -> None:
    """insert_bal (ofproto/bond.c): keep ``bals`` in descending load, after equal loads."""
    i = next((k for k, o in enumerate(bals) if load[m] > load[o]), len(bals))
    bals.insert(i, m)


def choose_entries_to_migrate(entries: list[int], tx: np.ndarray, from_tx: int, to_tx: int
                              ) -> list[int]:
    """choose_entries_to_migrate (ofproto/bond.c, OVS 2.16+, commit 298d4151f): the
    largest-first buckets whose bytes fit the gap to the midpoint, stopping within 10%
    of it, or else the smallest bucket; kept only if the lower side rises by >= 10%."""
    if len(entries) <= 1:  # never strip a member's last bucket
        return []
    ideal_delta = (from_tx + to_tx) // 2 - to_tx
    threshold = ideal_delta // 10
    picked, delta = [], 0
    for e in entries:  # sorted by tx_bytes, descending
        if delta + int(tx[e]) <= ideal_delta:
            picked.append(e)
            delta += int(tx[e])
        if ideal_delta - delta < threshold:
            break
    if not picked:
        picked, delta = [entries[-1]], int(tx[entries[-1]])
    new_low = min(from_tx - delta, to_tx + delta)
    return picked if new_low > to_tx and new_low - to_tx >= threshold else []


def choose_entry_to_migrate(entries: list[int], tx: np.ndarray, from_tx: int, to_tx: int
                            ) -> list[int]:
    """choose_entry_to_migrate (ofproto/bond.c, OVS 2.5 - 2.15): the first bucket, in
    bucket order, whose move raises the lower side by >= 10% of the gap to the midpoint."""
    if len(entries) <= 1:
        return []
    ideal = (from_tx + to_tx) // 2
    for e in entries:
        new_low = min(from_tx - int(tx[e]), to_tx + int(tx[e]))
        if new_low > to_tx and new_low - to_tx >= (ideal - to_tx) // 10:
            return [e]
    return []


def bond_rebalance(member: np.ndarray, tx: np.ndarray, n_links: int, rebalancer: str = "2.16",
                   enabled: np.ndarray | None = None) -> list[tuple[int, int, int]]:
    """bond_rebalance (ofproto/bond.c): move buckets from the most to the least loaded
    enabled member until the gap is < 1/32 of the lower load or < 100000 bytes, then
    halve every bucket's byte count. Updates ``member`` and ``tx`` (256 entries each) in
    place; returns the moves, (bucket, from, to), in order.

    ``enabled``: which members take part (default all), in index order where OVS uses its
    hash-map order. Loops over buckets and members only (at most 256), once per run.
    """
    choose = choose_entries_to_migrate if rebalancer == "2.16" else choose_entry_to_migrate
    order = np.argsort(-tx, kind="stable") if rebalancer == "2.16" else np.arange(len(tx))
    live = order[(member[order] >= 0) & (tx[order] > 0)]
    entries: list[list[int]] = [[] for _ in range(n_links)]
    for e in live.tolist():
        entries[member[e]].append(e)
    load = [int(tx[es].sum()) for es in entries]
    bals: list[int] = []
    for m in range(n_links):
        if enabled is None or enabled[m]:
            _insert_bal(bals, m, load)
    moves = []
    while len(bals) > 1:
        frm, to = bals[0], bals[-1]
        overload = load[frm] - load[to]
        if overload < load[to] >> 5 or overload < 100000:
            break
        picked = choose(entries[frm], tx, load[frm], load[to])
        if not picked:
            bals.pop(0)  # nothing useful to move away from 'from': not reconsidered
            continue
        for e in picked:  # bond_shift_load; a moved bucket is not moved again this run
            moves.append((e, frm, to))
            member[e] = to
            load[frm] -= int(tx[e])
            load[to] += int(tx[e])
            entries[frm].remove(e)
        for m in (frm, to):
            bals.remove(m)
            _insert_bal(bals, m, load)
    tx //= 2  # exponentially weighted moving average, weight 1/2
    return moves


def bucket_of(h: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """The bucket (hash & 0xFF) of each hash, -1 where it is not valid (int16)."""
    return np.where(valid, (h & (BOND_BUCKETS - 1)).astype(np.int16), np.int16(-1))


@njit(cache=True, nogil=True)
def route_rows(ts, wirelen, bucket, i, now, due, has_due, member, tx, rr, ring, enabled,
               link):
    """Route packets from ``i`` on, in order, until a rebalancing run is due.

    Time is the running maximum of ``ts`` from ``now``; the packets stop at the first
    whose time reaches ``due`` (if ``has_due``). A valid packet's bucket (:func:`bucket_of`;
    -1: not valid) gives its member in ``link`` (-1 for the others) and gets its
    ``wirelen`` added to ``tx``; a bucket used for the first time (member -1), or whose
    member is no longer ``enabled``, takes ``ring[rr mod len(ring)]``, then ``rr`` + 1
    (get_enabled_member: the enabled members in a round robin), unless ``rr`` < 0.
    Returns (where it stopped, time, rr).
    """
    n = ts.shape[0]
    while i < n:
        now = max(now, ts[i])
        if has_due and now >= due:
            return i, now, rr
        b = np.int64(bucket[i])
        if b >= 0:
            if (member[b] < 0 or not enabled[member[b]]) and rr >= 0 and ring.shape[0] > 0:
                member[b] = ring[rr % ring.shape[0]]
                rr += 1
            m = member[b]
            if m >= 0 and enabled[m]:
                link[i] = m
                tx[b] += np.int64(wirelen[i])
            else:  # no enabled member: dropped
                link[i] = -1
        else:
            link[i] = -1
        i += 1
    return n, now, rr


class OvsBond:
    """The 256-bucket table of a balancing OVS bond, replayed over a capture.

    Call :meth:`assign` batch after batch in capture order. Packets are routed in order
    (:func:`route_rows`): each follows the current table, a bucket used for the first time
    (or whose member was disabled) is filled (round robin over the enabled members if the
    bond does so; ``rr`` -1: it never meets an empty bucket) and its bytes (``wirelen``)
    are added to its bucket; rebalancing runs and link events apply between packets.
    Time is the running maximum of ``ts_ns`` (captures merged from several interfaces may
    step back a little).

    The round robin (``enabled_members`` in ofproto/bond.c) starts in member order: give
    the members in the order the bond enabled them, which ``bond/show`` does not show (it
    lists them by name; the OVS lab's captures show it). ``link_events``: (ts_ns, member,
    up) in time order; a member that goes down leaves the round robin and its buckets take
    new members as they are next used, one that comes up joins its end.

    The bond is taken to start at the first packet: the first rebalance runs
    ``rebalance_interval_ns`` later (OVS: bond creation + interval, at the next revalidator
    pass), then every interval. ``rebalance_interval_ns=0`` disables it; OVS raises values
    below 1 s to 1 s. Not modelled: the revalidator's delay in accounting (OVS counts a
    flow's bytes at its passes, every 500 ms or so), and traffic the capture does not hold
    (learning packets are in captures taken on the members).
    """

    #: set by the subclass: its hash (:data:`hashscope.hashes.ovs.flow.HASH_SLB`, ...), basis
    #: and flavour; ``dp_basis``: the datapath's hash(l4(basis)) over it (hash_int), if any
    which: int | None = None
    basis, flavour = 0, "generic"
    dp_basis: int | None = None

    def __init__(self, n_links: int, rebalance_interval_ns: int = 10_000_000_000,
                 rebalancer: str = "2.16",
                 link_events: tuple[tuple[int, int, bool], ...] = ()):
        if n_links < 1:
            raise ValueError("n_links must be at least 1")
        if rebalancer not in REBALANCERS:
            raise ValueError(f"rebalancer must be one of {REBALANCERS}, not {rebalancer!r}")
        self.n_links = n_links
        self.interval = max(int(rebalance_interval_ns), 10**9) if rebalance_interval_ns else 0
        self.rebalancer = rebalancer
        self.member = np.full(BOND_BUCKETS, -1, np.int64)  #: bucket -> member, -1: unused
        self.tx_bytes = np.zeros(BOND_BUCKETS, np.int64)
        self.next_rebalance: int | None = None
        self.rebalances = 0  #: rebalancing runs so far
        self.moves: list[tuple[int, int, int, int]] = []  #: (ts_ns, bucket, from, to)
        self.rr = -1  #: round-robin calls so far; -1: no filling
        self.ring = np.arange(n_links, dtype=np.int64)  #: the enabled members, in turn
        self.enabled = np.ones(n_links, bool)
        self.events = sorted((int(t), int(m), bool(up)) for t, m, up in link_events
                             if 0 <= m < n_links)
        self._now = np.iinfo(np.int64).min

    def hash(self, packets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(hash uint32, valid bool) of packets: a function of their headers alone."""
        if self.which is None:
            raise NotImplementedError
        h, valid = hash_packets(packets, self.which, self.basis, self.flavour)
        return self._dp_hash(h), valid

    def _dp_hash(self, h: np.ndarray) -> np.ndarray:
        return h if self.dp_basis is None else hash_int(h, self.dp_basis, self.flavour)

    def buckets(self, packets: np.ndarray) -> np.ndarray:
        """The bucket of each packet (int16; -1: not valid): a function of its headers."""
        return bucket_of(*self.hash(packets))

    def assign(self, packets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(hash uint32, valid bool, link int64; -1 where not valid) for the next batch."""
        if self.which is None:
            raise NotImplementedError
        h, valid, ts, wirelen = hash_packets_timed(packets, self.which, self.basis,
                                                   self.flavour)
        h = self._dp_hash(h)
        return h, valid, self.route(bucket_of(h, valid), ts, wirelen)

    def route(self, bucket: np.ndarray, ts: np.ndarray, wirelen: np.ndarray) -> np.ndarray:
        """The members (int64; -1 where not valid) of the next frames, given their buckets
        (:meth:`buckets`), times and sizes, in capture order: the buckets' members, the
        rebalancing and the link events are ordered."""
        n = len(bucket)
        link = np.empty(n, np.int64)
        if not n:
            return link
        if self.next_rebalance is None and self.interval:
            self.next_rebalance = max(int(ts[0]), self._now) + self.interval
        i = 0
        while i < n:
            due = min([t for t in (self.next_rebalance, self._next_event()) if t is not None],
                      default=None)
            i, now, self.rr = route_rows(ts, wirelen, bucket, i, self._now, due or 0,
                                         due is not None, self.member, self.tx_bytes,
                                         self.rr, self.ring, self.enabled, link)
            self._now = int(now)
            if i < n:
                self._apply_events(self._now)
                if self.interval:
                    self._rebalance_until(self._now)
        return link

    def _next_event(self) -> int | None:
        return self.events[0][0] if self.events else None

    def _apply_events(self, now: int) -> None:
        """Link events due by ``now``: the round robin loses or gains the member
        (bond_enable_member: removed, or appended at the tail)."""
        while self.events and self.events[0][0] <= now:
            _, m, up = self.events.pop(0)
            if self.enabled[m] == up:
                continue
            k = len(self.ring)
            turn = self.rr % k if self.rr >= 0 and k else 0
            ring = [int(x) for x in np.roll(self.ring, -turn)]
            ring = ring + [m] if up else [x for x in ring if x != m]
            self.ring = np.array(ring, np.int64)
            self.rr = 0 if self.rr >= 0 else -1
            self.enabled[m] = up
            self._relinked(m, up)

    def _relinked(self, member: int, up: bool) -> None:
        """What else a link event changes (a subclass's hook)."""

    def _rebalance_until(self, now: int) -> None:
        """Every rebalancing run due by ``now``; once all counts are 0 the runs are no-ops
        and are skipped to the last due time."""
        while self.next_rebalance <= now and self.tx_bytes.any():
            for e, frm, to in bond_rebalance(self.member, self.tx_bytes, self.n_links,
                                             self.rebalancer, self.enabled):
                self.moves.append((self.next_rebalance, e, frm, to))
            self.rebalances += 1
            self.next_rebalance += self.interval
        if self.next_rebalance <= now:
            skipped = (now - self.next_rebalance) // self.interval + 1
            self.rebalances += skipped
            self.next_rebalance += skipped * self.interval


class SlbBond(OvsBond):
    """ovs:balance-slb: hash_mac(src MAC, VID, basis) & 0xFF -> bucket; a new bucket takes
    the next enabled member round-robin (get_enabled_member, OVS 2.3+); rebalanced.
    Exact from the source given the modelling choices of :class:`OvsBond`. XAPI sets a
    30 min interval (1_800_000_000_000 ns) on non-LACP bonds; the OVS default is 10 s.
    """

    def __init__(self, n_links: int, rebalance_interval_ns: int = 10_000_000_000,
                 basis: int = 0, flavour: str = "generic", rebalancer: str = "2.16",
                 link_events: tuple[tuple[int, int, bool], ...] = ()):
        check_flavour(flavour)
        super().__init__(n_links, rebalance_interval_ns, rebalancer, link_events)
        self.which, self.basis, self.flavour = HASH_SLB, basis, flavour
        self.rr = 0


class TcpBond(OvsBond):
    """ovs:balance-tcp replayed with rebalancing (LACP bonds: 10 s). APPROXIMATE: on the
    recirculating datapath every bucket starts on a random member (hmap_random_node, and
    again when its member goes down), drawn here from ``seed`` (default: the basis).

    ``datapath="kernel"`` (XCP-ng): the hash is :func:`ovs_tcp_hash` with ``basis``
    standing in for the boot-keyed skb hash, itself approximate. ``"userspace"`` (the
    netdev datapath, OVS-DPDK without a NIC RSS hash): dp_hash = hash_int(
    flow_hash_5tuple(flow, 0), basis), the software RSS hash that dpif-netdev computes,
    exact (the OVS lab's balance-tcp capture: every bucket on one member)."""

    def __init__(self, n_links: int, rebalance_interval_ns: int = 10_000_000_000,
                 basis: int = 0, version: str = "2.8", flavour: str = "generic",
                 rebalancer: str = "2.16", seed: int | None = None,
                 link_events: tuple[tuple[int, int, bool], ...] = (),
                 datapath: str = "kernel"):
        check_flavour(flavour)
        super().__init__(n_links, rebalance_interval_ns, rebalancer, link_events)
        if version not in OVS_TCP_VERSIONS:
            raise ValueError(f"version must be one of {OVS_TCP_VERSIONS}, not {version!r}")
        if datapath not in DATAPATHS:
            raise ValueError(f"datapath must be one of {DATAPATHS}, not {datapath!r}")
        self.basis, self.version, self.flavour = basis, version, flavour
        self.which = HASH_SYMMETRIC_L4 if version == "2.7" else HASH_5TUPLE  # ovs_tcp_hash
        if datapath == "userspace":
            self.which, self.basis, self.dp_basis = HASH_5TUPLE, 0, basis
        self.rng = np.random.default_rng(basis if seed is None else seed)
        self.member[:] = self.rng.integers(0, n_links, BOND_BUCKETS)

    def _relinked(self, member: int, up: bool) -> None:
        """bond_update_post_recirc_rules__: a down member's buckets to random members."""
        gone = self.member == member
        if not up and gone.any() and len(self.ring):
            self.member[gone] = self.rng.choice(self.ring, int(gone.sum()))


def ovs_balance_tcp(packets: np.ndarray, n_links: int, basis: int = 0, version: str = "2.8",
                    flavour: str = "generic", seed: int | None = None
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ovs:balance-tcp without rebalancing (stateless): :class:`TcpBond`'s random initial
    table, so one call per basis gives one draw of the distribution. APPROXIMATE."""
    return TcpBond(n_links, 0, basis, version, flavour, seed=seed).assign(packets)


def ovs_active_backup(packets: np.ndarray, n_links: int, active: int = 0,
                      link_events: tuple[tuple[int, int, bool], ...] = ()
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ovs:active-backup: every frame on the active member; ``active`` is its index (OVS
    takes bond-primary, else the first enabled member in its hash-map order: not shown
    by bond/show except as "active member"). Hash 0.

    ``link_events`` (ts_ns, member, up): when the active member goes down the first
    enabled member, in member order, takes over (no primary: nothing fails back); with
    none enabled, frames are dropped (-1) until a member comes up.
    """
    if not 0 <= active < n_links:
        raise ValueError(f"active must be a member index below {n_links}")
    enabled = np.ones(n_links, bool)
    times, actives = [np.iinfo(np.int64).min], [active]
    for t, m, up in sorted(link_events):
        if not 0 <= m < n_links:
            continue
        enabled[m] = up
        if up and active < 0:
            active = m
        elif not up and m == active:
            active = int(np.flatnonzero(enabled)[0]) if enabled.any() else -1
        times.append(int(t))
        actives.append(active)
    n = len(packets)
    at = np.searchsorted(np.array(times, np.int64), packets["ts_ns"], side="right") - 1
    return np.zeros(n, U32), np.ones(n, bool), np.array(actives, np.int64)[at]


#: policy name -> (exact, one-line summary)
MODELS = {
    "ovs:balance-slb": (True, "source MAC + VLAN hashed into 256 buckets, round-robin "
                              "first use, bond_rebalance every interval (checked against a "
                              "real OVS 3.1 bond)"),
    "ovs:balance-tcp": (False, "flow hash into 256 buckets; the kernel's boot-keyed hash "
                               "is unknowable: a distribution over random bases"),
    "ovs:active-backup": (True, "every frame on the active member"),
}

#: policy name -> the callable: a class (stateful, ``.assign``) or a stateless function
ASSIGNERS = {"ovs:balance-slb": SlbBond, "ovs:balance-tcp": ovs_balance_tcp,
             "ovs:active-backup": ovs_active_backup}
