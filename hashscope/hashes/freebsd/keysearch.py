"""Recover the FreeBSD lagg hash key from which member each packet was seen on.

lagg (sys/net/if_lagg.c: ``lagg_lb_start``, and ``lacp_select_tx_port`` in
sys/net/ieee8023ad_lacp.c) sends a frame on port ``pi(hash % n)``, where ``hash`` is
``m_ether_tcpip_hash`` (sys/kern/uipc_mbufhash.c, 11.0+) or ``lagg_hashmbuf`` (if_lagg.c,
9.x/10.x) from a random 32-bit key, and ``pi`` is the port order (``lb_ports`` or
``pm_map``), unknown to an observer. :func:`search_keys` finds every key under which
some one-to-one ``pi`` explains all observations; ``pi`` is learned, never enumerated.

* ``n`` a power of two: ``hash mod n`` depends only on ``key mod n`` (multiplying, adding
  and XORing never carry high bits down; research note freebsd_lagg.md, section 10), so
  the n key classes are tried with :func:`~hashscope.hashes.freebsd.mbufhash.lagg_hash`.
* Otherwise all 2**32 keys, compiled (:mod:`hashscope.hashes.freebsd.keyscan`: SIMD
  stages, early exit, all cores, no GIL), on the byte strings
  :func:`~hashscope.hashes.freebsd.hashbytes.lagg_hash_bytes` records -- the same walk as
  the hash, so every row with a valid hash takes part, the column fast path's and the
  general path's alike, and ``count`` is exact over all of them (checked against a plain
  loop over every key). The rows that prune hardest go first: rows of one member must
  share a residue, which about 1/n of the keys pass.

  - ``fnv`` (fnv_32_buf): the search runs over the hash state after a byte prefix the
    first rows share (each FNV-1 step is a bijection of the state, so this enumerates
    the keys and never hashes the prefix); the prefix is chosen among the runs of rows
    sharing one by the work the compiled search reports on a sample of values. Rows that
    differ only in their last bytes (flows of one host pair) prune far less than 1/n
    together: with few distinct hosts many keys can remain consistent.
  - ``djb`` (hash32_buf, 9.x/10.x): affine in the key, so rows of one length hash to a
    pivot's hash plus a constant, and only intervals of that hash can fit them
    (:mod:`hashscope.hashes.freebsd.keydjb`); the search runs over those intervals alone,
    staging the rows of other lengths (two constants each). hash32_buf is weak here:
    flows differing in their ports often leave millions of keys consistent.

Keys are reported ascending, the smallest ``limit``; a found key is checked once more
against :func:`~hashscope.hashes.freebsd.mbufhash.lagg_hash` before it is returned.

The compiled scan is planned once (:func:`plan_scan`: a picklable :class:`ScanPlan`) and
its values scanned in pieces (:func:`scan_pieces`) anywhere -- here by default, or on a
cluster (``search_keys(..., run=...)``, :mod:`hashscope.distributed.keys`); the pieces'
answers merge exactly (:func:`merge_scans`: counts add up, the smallest keys of all).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np

from hashscope.hashes.words import M32

from .hashbytes import MAX_BYTES, lagg_hash_bytes
from .keydjb import affine, feasible
from .keyscan import BLOCK, SLOTS, scan
from .mbufhash import lagg_hash

MAX_STAGES = 256
DIVERSE = 32  #: rows per member ordered for diversity (the first stages matter most)
TARGET_BITS = 40  #: the costing of a prefix counts stages up to this expected pruning
PIECE = 1 << 22  #: values per parallel task
BATCH = 128  #: pieces per call of the compiled scan
CANDIDATES = 12  #: FNV-1 prefix groups tried on a sample
SAMPLE_BLOCKS = 64  #: blocks of values they are tried on
#: hash32_buf, rows of one length: from this many consistent values the keys are counted
#: from the intervals and the smallest found by trying keys upward, not by a scan
WHOLE = 1 << 26
MAX_INTERVALS = 16  #: hash32_buf: a length's rows are one interval test up to this many


@dataclass
class KeySearch:
    """The keys consistent with every observed row, and the member order of the first.

    ``keys``: up to ``limit`` consistent keys, the smallest, ascending (uint32; for a power
    of two n, the consistent key classes among 0..n-1: key K behaves as ``K % n``).
    ``count``: how many of the 2**32 keys are consistent (every one counted; for a power of
    two, classes * 2**32 / n). ``order``: for ``keys[0]``, residue ``hash % n`` -> member
    index (-1: no row had that residue; all -1 when no key fits). ``rows_used``: rows with
    a valid hash (the others say nothing about the key). ``seconds``: wall time.
    ``note``: why the answer is as it is where that is not the search itself (a power of
    two, no valid row, one byte string seen on two members).
    """

    keys: np.ndarray
    count: int
    power_of_two: bool
    order: np.ndarray
    rows_used: int
    seconds: float
    note: str = ""


def _order(packets, member, n, key, layers, variant, vlan) -> tuple[np.ndarray, bool]:
    """(residue -> member for this key, whether that map is one to one over every row)."""
    h, valid = lagg_hash(packets, layers, int(key), variant, vlan)
    r = (h[valid] % np.uint32(n)).astype(np.int64)
    m = member[valid]
    order = np.full(n, -1, np.int64)
    order[r] = m
    back = np.full(n, -1, np.int64)
    back[m] = r
    return order, bool((order[r] == m).all() and (back[m] == r).all())


def _power_of_two(packets, member, n, layers, variant, vlan, limit):
    classes = [k for k in range(n) if _order(packets, member, n, k, layers, variant, vlan)[1]]
    return np.array(classes[:limit], np.uint32), len(classes) * ((1 << 32) // n)


def _stage_plan(member: np.ndarray, n: int, pinned: tuple = (), max_bits: float = math.inf,
                b: np.ndarray | None = None) -> tuple[list[int], list[float]]:
    """Rows (indices into ``member``) in the order that prunes hardest, and the share of
    values each is expected to pass: rows of the ``pinned`` members (a residue known: 1/n
    pass), then the members with most rows first (the k-th member's first row passes
    (n - k)/n, its others 1/n). Within a member, with the row bytes ``b``, each next row
    is the one sharing the shortest prefix with those before it (rows differing only in
    their last bytes constrain the key less independently). Stops at MAX_STAGES rows,
    SLOTS members or ``max_bits`` of expected pruning."""
    counts = np.bincount(member, minlength=n)
    new = [m for m in np.argsort(-counts, kind="stable") if counts[m] and m not in pinned]
    plan, passes, bits = [], [], 0.0
    for k, mb in enumerate([*pinned, *new][:SLOTS]):
        rows = np.flatnonzero(member == mb)
        if b is not None:
            rows = rows[_diverse(b[rows], min(DIVERSE, MAX_STAGES - len(plan)))]
        for j, i in enumerate(rows):
            if len(plan) >= MAX_STAGES or bits >= max_bits:
                return plan, passes
            p = 1 / n if j or k < len(pinned) else (n - k) / n
            plan.append(int(i))
            passes.append(p)
            bits -= math.log2(p)
    return plan, passes


def _diverse(b: np.ndarray, picks: int) -> np.ndarray:
    """An order of the rows ``b`` whose first ``picks`` each share the shortest prefix with
    the ones before (greedy); the others follow in their order."""
    picks = max(0, min(picks, len(b)))
    if len(b) <= 2 or picks == 0:
        return np.arange(len(b))
    cand = np.arange(min(len(b), 1024))
    near = np.full(len(cand), -1, np.int64)  # longest prefix shared with a picked row
    taken = np.zeros(len(cand), bool)
    order = []
    i = 0
    for _ in range(min(picks, len(cand))):
        order.append(i)
        taken[i] = True
        d = b[cand] != b[i]
        lcp = np.where(d.any(axis=1), d.argmax(axis=1), b.shape[1])
        near = np.maximum(near, lcp)
        near_free = np.where(taken, np.iinfo(np.int64).max, near)
        i = int(np.argmin(near_free))
        if taken[i]:
            break
    rest = np.setdiff1d(np.arange(len(b)), order, assume_unique=True)
    return np.concatenate([np.array(order, np.int64), rest])


def _intervals(b: np.ndarray, length: np.ndarray) -> tuple[np.ndarray, list]:
    """The rows sorted by bytes, and the runs of them sharing a prefix (the nodes of their
    trie) as (prefix length, first, last): the lcp-intervals of the sorted list."""
    order = np.lexsort(np.column_stack([b, length]).T[::-1])
    bs, ls = b[order], length[order]
    diff = bs[1:] != bs[:-1]
    first = np.where(diff.any(axis=1), diff.argmax(axis=1), MAX_BYTES)
    lcp = np.minimum(first, np.minimum(ls[1:], ls[:-1]))
    intervals, stack = [], [[0, 0]]
    for i in range(1, len(order) + 1):
        d = int(lcp[i - 1]) if i < len(order) else -1
        lb = i - 1
        while stack and d < stack[-1][0]:
            depth, lb = stack.pop()
            intervals.append((depth, lb, i - 1))
        if d >= 0 and (not stack or d > stack[-1][0]):
            stack.append([d, lb])
    return order, intervals


def _prefix_groups(b, length, member, n) -> list[tuple[int, np.ndarray]]:
    """FNV-1: candidate (prefix length, rows sharing it) to stage from, the likeliest
    first by a rough cost per value: the suffix bytes each stage hashes and its judging,
    weighted by the share of values alive (as if the rows pruned independently, which rows
    differing only in their last bytes do not), plus the values left over. The candidates
    are the runs of sorted rows sharing a prefix, and all rows with none."""
    order, intervals = _intervals(b, length)
    costs = []
    for depth, lo, hi in intervals:
        rows = order[lo:hi + 1]
        plan, passes = _stage_plan(member[rows], n, max_bits=TARGET_BITS)
        alive, cost = 1.0, 0.0
        for i, p in zip(rows[plan], passes, strict=True):
            # the values a stage runs over: those alive at the last compaction
            cost += min(1.0, 2 * alive) * (0.25 * (length[i] - depth) + 0.8)
            alive *= p
        costs.append((cost + alive * 300, depth, lo, hi))
    costs.sort(key=lambda c: c[0])
    picked = [(d, order[lo:hi + 1]) for _, d, lo, hi in costs[:CANDIDATES]]
    return [*picked, (0, np.arange(len(length)))]


def _unique_rows(b, length, member):
    """Distinct byte strings with their member; None if one string has two members."""
    whole = np.column_stack([b, length.astype(np.uint8)])
    _, first, inverse = np.unique(whole, axis=0, return_index=True, return_inverse=True)
    if (member != member[first][inverse.reshape(-1)]).any():
        return None
    return b[first], length[first], member[first]


def _rest(member, n, staged, slots) -> np.ndarray:
    """The rows not staged, for the one-by-one checks: pinned members' rows first."""
    rest = np.setdiff1d(np.arange(len(member)), staged)
    counts = np.bincount(member[rest], minlength=n)
    known = np.isin(member[rest], slots)
    return rest[np.lexsort((-counts[member[rest]], ~known))]


def _stages(member, staged):
    """Slot per staged row (members by first appearance), first-row flags, pinned so far;
    a negative entry (an interval test) pins nothing."""
    slots = list(dict.fromkeys(member[staged[staged >= 0]].tolist()))
    slot = np.array([slots.index(member[i]) if i >= 0 else 0 for i in staged], np.int64)
    first = np.zeros(len(staged), bool)
    seen = set()
    for k, i in enumerate(staged):
        if i >= 0 and slot[k] not in seen:
            first[k] = True
            seen.add(slot[k])
    pins = np.where(staged >= 0, slot + 1, 0)
    return slots, slot, first, np.maximum.accumulate(pins)


def _no_intervals(n_stages: int) -> dict:
    return dict(st_span=np.zeros(n_stages + 1, np.int64), st_lo=np.zeros(0, np.int64),
                st_hi=np.zeros(0, np.int64))


def _fnv_args(b, length, member, n, depth, group) -> dict:
    """FNV-1: x is the state after the ``depth`` bytes the ``group`` rows share; they are
    staged from x, then the others from the key, then what is left is checked."""
    staged = group[_stage_plan(member[group], n, b=b[group])[0]]
    others = np.setdiff1d(np.arange(len(length)), group)
    pinned = tuple(dict.fromkeys(member[staged].tolist()))
    plan, _ = _stage_plan(member[others], n, pinned, b=b[others])
    staged = np.concatenate([staged, others[plan][:MAX_STAGES - len(staged)]]).astype(np.int64)
    from_key = np.isin(staged, others)
    slots, slot, first, pinned = _stages(member, staged)
    rest = _rest(member, n, staged, slots)
    prefix = b[staged[0], :depth].copy()
    shares = (length[rest] >= depth) & (b[rest, :depth] == prefix).all(axis=1)
    st_bytes = np.zeros((len(staged), MAX_BYTES), np.uint8)
    st_len = np.zeros(len(staged), np.int64)
    for k, i in enumerate(staged):
        skip = 0 if from_key[k] else depth
        st_len[k] = length[i] - skip
        st_bytes[k, :st_len[k]] = b[i, skip:length[i]]
    zs, zr = np.zeros(len(staged), np.uint32), np.zeros(len(rest), np.uint32)
    return dict(lo=np.array([0]), hi=np.array([1 << 32]), st_bytes=st_bytes, st_len=st_len,
                st_key=from_key, st_a=zs, st_c=zs, st_slot=slot, st_first=first,
                st_pinned=pinned, slots=slots, rest=rest,
                ck_start=np.where(shares, depth, 0).astype(np.int64), ck_a=zr, ck_c=zr,
                prefix=prefix, c0=0, a_inv=0, **_no_intervals(len(staged)))


def _first_per_member(rows: np.ndarray, member: np.ndarray) -> np.ndarray:
    _, first = np.unique(member[rows], return_index=True)
    return rows[np.sort(first)]


def _djb_args(b, length, member, n) -> dict | None:
    """hash32_buf: x is the hash of a pivot row of the commonest length. Rows of one length
    fit each other only in intervals of their pivot's hash (:func:`keydjb.feasible`):
    those of the commonest length bound the values searched; every other length is one
    interval test on its pivot's hash (a * x + c) where its intervals are few, else its
    rows are staged one by one. One row per member of each length pins or checks the
    residues against the other lengths'. None if some length fits no key."""
    a, c = affine(b, length)
    lengths, counts = np.unique(length, return_counts=True)
    groups = [np.flatnonzero(length == lengths[i]) for i in np.argsort(-counts, kind="stable")]
    same, pivot = groups[0], groups[0][0]
    c0, a_inv = int(c[pivot]), pow(int(a[pivot]), -1, 1 << 32)
    alpha = (a.astype(np.uint64) * np.uint64(a_inv)) & M32  # h = alpha * x + beta
    beta = (c.astype(np.uint64) - alpha * np.uint64(c0)) & M32
    lo, hi = feasible(beta[same], member[same], n)
    if len(lo) == 0:
        return None
    tests = []  # (measure, group, its pivot, intervals of the pivot's hash)
    for g in groups[1:]:
        glo, ghi = feasible((beta[g] - beta[g[0]]) & M32, member[g], n)
        if len(glo) == 0:
            return None
        if len(g) > 1 and len(glo) <= MAX_INTERVALS:
            tests.append((int((ghi - glo).sum()), g, g[0], glo, ghi))
    tests.sort(key=lambda t: t[0])  # the strongest tests first
    entries, spans, parts = list(_first_per_member(same, member)), [], [(None, same)]
    for _, g, p, glo, ghi in tests:
        test = -1 - len(spans)  # an entry < 0: the interval test spans[-1 - entry]
        spans.append((p, glo, ghi))
        entries.extend([test, *_first_per_member(g, member)])
        parts.append((test, g))
    grouped = np.concatenate([g for _, g in parts])
    single = np.setdiff1d(np.arange(len(length)), grouped)
    pinned = tuple(dict.fromkeys(member[[i for i in entries if i >= 0]].tolist()))
    plan, _ = _stage_plan(member[single], n, pinned, b=b[single])
    staged = np.array([*entries, *single[plan]][:MAX_STAGES], np.int64)
    slots, slot, first, pins = _stages(member, staged)
    # a row of a length is vouched for if its length's test and its member's row of that
    # length are staged (the commonest length needs no test: x stays in its intervals)
    kept, vouched = set(staged.tolist()), []
    for test, g in parts:
        if test is None or test in kept:
            reps = _first_per_member(g, member)
            staged_reps = {int(member[r]) for r in reps if int(r) in kept}
            vouched.extend(i for i in g.tolist() if int(member[i]) in staged_reps)
    rest = np.setdiff1d(np.arange(len(length)), [*staged.tolist(), *vouched])
    counts = np.bincount(member[rest], minlength=n)
    rest = rest[np.lexsort((-counts[member[rest]], ~np.isin(member[rest], slots)))]
    row = np.where(staged >= 0, staged, [spans[-1 - i][0] if i < 0 else 0 for i in staged])
    span = np.zeros(len(staged) + 1, np.int64)
    for k, i in enumerate(staged):
        span[k + 1] = span[k] + (len(spans[-1 - i][1]) if i < 0 else 0)
    zs = np.zeros((len(staged), 1), np.uint8)
    return dict(lo=lo, hi=hi, st_bytes=zs, st_len=np.zeros(len(staged), np.int64),
                st_key=np.zeros(len(staged), bool),
                st_a=alpha[row].astype(np.uint32), st_c=beta[row].astype(np.uint32),
                st_slot=slot, st_first=first, st_pinned=pins, slots=slots, rest=rest,
                ck_start=np.zeros(len(rest), np.int64), ck_a=alpha[rest].astype(np.uint32),
                ck_c=beta[rest].astype(np.uint32), prefix=np.zeros(0, np.uint8), c0=c0,
                a_inv=a_inv, a0=int(a[pivot]),
                whole=len(groups) == 1 and len(rest) == 0 and len(staged) == len(entries),
                st_span=span,
                st_lo=np.concatenate([np.zeros(0, np.int64), *(t[1] for t in spans)]),
                st_hi=np.concatenate([np.zeros(0, np.int64), *(t[2] for t in spans)]))


def _djb_smallest(lo, hi, a0: int, c0: int, limit: int) -> np.ndarray:
    """The ``limit`` smallest keys whose pivot hash a0 * K + c0 lies in the intervals, by
    trying keys upward (for intervals that hold a good share of all values)."""
    keys, start, step = [], 0, 1 << 16
    while len(keys) < limit and start < 1 << 32:
        k = np.arange(start, min(start + step, 1 << 32), dtype=np.uint64)
        y = ((k * np.uint64(a0) + np.uint64(c0)) & M32).astype(np.int64)
        i = np.maximum(np.searchsorted(lo, y, side="right") - 1, 0)
        keys.extend(k[(y >= lo[i]) & (y < hi[i])][:limit - len(keys)].tolist())
        start += step
    return np.array(keys, np.uint32)


def _pieces(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The intervals cut into pieces of at most PIECE values (the parallel tasks)."""
    starts = [np.arange(a, b, PIECE, dtype=np.int64) for a, b in zip(lo, hi, strict=True)]
    plo = np.concatenate(starts)
    phi = np.concatenate([np.minimum(s + PIECE, b) for s, b in zip(starts, hi, strict=True)])
    return plo, phi


def _scan(args: dict, fnv: bool, n: int, b, length, member, limit: int, lo=None, hi=None):
    """Run :func:`keyscan.scan` on a plan over its values (or the pieces ``lo``, ``hi``):
    (count, up to ``limit`` smallest keys, work)."""
    rest = args["rest"]
    if lo is None:
        lo, hi = _pieces(args["lo"], args["hi"])
    count, work, keys, top = 0, 0, np.zeros(0, np.uint32), 1 << 32
    for at in range(0, len(lo), BATCH):  # in batches: the kept keys' memory is per piece
        c, kept, n_kept, w = scan(
            fnv, n, lo[at:at + BATCH], hi[at:at + BATCH], args["st_bytes"], args["st_len"],
            args["st_key"], args["st_a"], args["st_c"], args["st_slot"], args["st_first"],
            args["st_pinned"], args["st_span"], args["st_lo"], args["st_hi"],
            np.array(args["slots"], np.int64),
            np.ascontiguousarray(b[rest]), args["ck_start"], length[rest].astype(np.int64),
            args["ck_a"], args["ck_c"], member[rest].astype(np.int64), args["prefix"],
            args["c0"], args["a_inv"], int(limit), top)
        count, work = count + int(c.sum()), work + int(w.sum())
        found = [kept[i, :n_kept[i]] for i in range(len(c))]
        keys = np.sort(np.concatenate([keys, *found]))[:limit]
        if limit and len(keys) == limit:
            top = int(keys[-1])
    return count, keys, work


@dataclass
class ScanPlan:
    """A compiled search prepared (:func:`plan_scan`), to scan in pieces anywhere (it
    pickles): ``args`` of :func:`keyscan.scan` with the value intervals ``args["lo"]``,
    ``args["hi"]`` to cover, over the distinct rows ``b``, ``length``, ``member``."""

    args: dict
    fnv: bool
    n: int
    b: np.ndarray
    length: np.ndarray
    member: np.ndarray
    limit: int

    def pieces(self) -> tuple[np.ndarray, np.ndarray]:
        """Every value to scan, as pieces [lo, hi) of at most PIECE values, in order."""
        return _pieces(self.args["lo"], self.args["hi"])


#: ``run(plan, pieces) -> [(count, keys), ...]``: scans the pieces (lo, hi arrays), in any
#: split; :func:`merge_scans` of the results is the search's answer
Run = Callable[[ScanPlan, tuple[np.ndarray, np.ndarray]], list[tuple[int, np.ndarray]]]


def plan_scan(b, length, member, n: int, fnv: bool, limit: int) -> ScanPlan | None:
    """The search over distinct rows (:func:`_unique_rows`), prepared; None if no key fits
    (hash32_buf: a length fits no interval)."""
    args = _fnv_plan(b, length, member, n) if fnv else _djb_args(b, length, member, n)
    return None if args is None else ScanPlan(args, fnv, n, b, length, member, int(limit))


def scan_pieces(plan: ScanPlan, lo: np.ndarray, hi: np.ndarray) -> tuple[int, np.ndarray]:
    """The pieces [lo, hi) of a plan's values scanned here (on numba's threads): the count
    of consistent keys among them and the up to ``plan.limit`` smallest, ascending."""
    lo, hi = (np.ascontiguousarray(v, np.int64) for v in (lo, hi))  # one compiled layout
    return _scan(plan.args, plan.fnv, plan.n, plan.b, plan.length, plan.member, plan.limit,
                 lo, hi)[:2]


def split_pieces(lo: np.ndarray, hi: np.ndarray, parts: int) -> list[tuple[np.ndarray,
                                                                            np.ndarray]]:
    """The pieces in at most ``parts`` runs of neighbours, in order, of about as many
    values each (every piece in one run)."""
    if len(lo) == 0:
        return []
    ends = np.cumsum(hi - lo)
    cuts = np.searchsorted(ends, ends[-1] * np.arange(1, max(1, parts)) // max(1, parts),
                           side="right")
    bounds = np.unique(np.concatenate([[0], cuts, [len(lo)]]))
    return [(lo[a:z], hi[a:z]) for a, z in zip(bounds[:-1], bounds[1:], strict=True)]


def merge_scans(results, limit: int) -> tuple[int, np.ndarray]:
    """The (count, keys) of scans of disjoint pieces as one: counts summed, the smallest
    ``limit`` keys of them all, ascending."""
    results = list(results)
    keys = np.sort(np.concatenate([np.zeros(0, np.uint32), *(k for _, k in results)]))
    return sum(int(c) for c, _ in results), keys[:max(0, int(limit))].astype(np.uint32)


def in_process(plan: ScanPlan, pieces) -> list[tuple[int, np.ndarray]]:
    """The default :data:`Run`: every piece here, on all of numba's threads."""
    return [scan_pieces(plan, *pieces)]


def _fnv_plan(b, length, member, n) -> dict:
    """The candidate FNV-1 plan with the least work over a sample of the values."""
    lo = np.random.default_rng(0).integers(0, (1 << 32) // BLOCK, SAMPLE_BLOCKS) * BLOCK
    best, least = None, math.inf
    for depth, group in _prefix_groups(b, length, member, n):
        args = _fnv_args(b, length, member, n, depth, group)
        work = _scan(args, True, n, b, length, member, 0, lo, lo + BLOCK)[2]
        if work < least:
            best, least = args, work
    return best


def search_keys(rows: np.ndarray, member: np.ndarray, n_ports: int, layers: str = "l2,l3,l4",
                variant: str = "fnv", vlan: str = "offload", limit: int = 16,
                run: Run | None = None) -> KeySearch:
    """Every 32-bit lagg key under which the rows' hashes split as ``member`` says.

    ``rows``: a packet table (:data:`hashscope.columns.PACKET_DTYPE`); ``member``: the
    member index 0..n_ports-1 each row was seen on; ``layers``, ``variant``, ``vlan`` as in
    :func:`~hashscope.hashes.freebsd.mbufhash.lagg_hash`. A key K is consistent if a one to
    one map pi from residues to members has ``pi(lagg_hash(row, K) % n_ports) == member``
    for every row whose hash is valid; a key is dropped at its first contradicting row.
    See :class:`KeySearch` for what is returned. Runs on all of numba's threads, without
    the GIL; or, with ``run`` (a :data:`Run`, such as
    :func:`hashscope.distributed.keys.dask_scan`), the scan of the value space wherever
    ``run`` sends it, planned and checked here: the same answer.
    """
    t0 = time.perf_counter()
    n = int(n_ports)
    if n < 1:
        raise ValueError(f"n_ports must be at least 1, not {n_ports}")
    member = np.asarray(member, np.int64)
    if member.shape != (len(rows),):
        raise ValueError(f"member must have one entry per row ({len(rows)}), not {member.shape}")
    if ((member < 0) | (member >= n)).any():
        raise ValueError(f"member indices must be 0..{n - 1}")
    limit = max(0, int(limit))
    b, length, valid = lagg_hash_bytes(rows, layers, variant, vlan)
    used = int(valid.sum())
    pow2 = n & (n - 1) == 0

    def done(keys, count, note=""):
        order = (_order(rows, member, n, keys[0], layers, variant, vlan)[0] if len(keys)
                 else np.full(n, -1, np.int64))
        return KeySearch(np.asarray(keys, np.uint32), int(count), pow2, order, used,
                         time.perf_counter() - t0, note)

    if pow2:
        return done(*_power_of_two(rows, member, n, layers, variant, vlan, limit),
                    f"n_ports {n} is a power of two: only key % {n} matters; keys are the "
                    f"consistent classes 0..{n - 1}")
    if used == 0:
        return done(np.arange(limit, dtype=np.uint32), 1 << 32, "no row has a valid hash")
    uniq = _unique_rows(b[valid], length[valid], member[valid])
    if uniq is None:
        return done(np.zeros(0, np.uint32), 0, "equal hashed bytes seen on two members")
    ub, ul, um = uniq
    fnv = variant == "fnv"
    plan = plan_scan(ub, ul, um, n, fnv, limit)
    if plan is None:
        return done(np.zeros(0, np.uint32), 0)
    args = plan.args
    measure = int((args["hi"] - args["lo"]).sum())
    if not fnv and args["whole"] and measure >= WHOLE:  # every value of the intervals fits
        count, keys = measure, _djb_smallest(args["lo"], args["hi"], args["a0"], args["c0"],
                                             limit)
    else:
        count, keys = merge_scans((run or in_process)(plan, plan.pieces()), limit)
    for k in keys:  # the compiled search against the hash itself, cheaply
        if not _order(rows, member, n, k, layers, variant, vlan)[1]:
            raise AssertionError(f"key {int(k):#x} found but not consistent")
    return done(keys, count)


def threads() -> int:
    """Cores the search runs on (numba's threads)."""
    return numba.get_num_threads()
