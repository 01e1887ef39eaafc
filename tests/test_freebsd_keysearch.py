"""Recovering the FreeBSD lagg key from members, on real captures split by the real hash."""

from __future__ import annotations

import numpy as np
import pytest
import xxhash
from helpers import ROOT, real_packets

from hashscope import read_packets
from hashscope.hashes.freebsd.hashbytes import lagg_hash_bytes
from hashscope.hashes.freebsd.keysearch import search_keys
from hashscope.hashes.freebsd.mbufhash import lagg_hash
from hashscope.hashes.freebsd.policies import LAGG_SUBSETS

SCENARIOS = sorted((ROOT / "captures" / "scenarios").glob("*/input.pcap"))
M32 = np.uint64(0xFFFFFFFF)


def _flows(packets: np.ndarray) -> np.ndarray:
    """One row per distinct flow as the hash sees it (distinct hashed bytes), valid only."""
    b, length, valid = lagg_hash_bytes(packets, "l2,l3,l4", "fnv")
    keep = np.flatnonzero(valid)
    _, first = np.unique(np.column_stack([b[keep], length[keep].astype(np.uint8)]), axis=0,
                         return_index=True)
    return packets[np.sort(keep[first])]


@pytest.fixture(scope="module")
def corpus() -> np.ndarray:
    """The repository's real captures (the backup capture, the scenario inputs and the
    tcpdump subset): every packet."""
    packets, n_files = real_packets(ROOT / "captures" / "two-links-backup.pcapng", *SCENARIOS)
    assert n_files > 40
    return packets


@pytest.fixture(scope="module")
def flows(corpus) -> np.ndarray:
    rows = _flows(corpus)
    assert len(rows) > 500  # IPv4 and IPv6, TCP and UDP, tagged, and MAC-only frames
    return rows


def _hash_bytes(b, length, key, fnv) -> np.ndarray:
    """fnv_32_buf / hash32_buf over each row's recorded bytes from ``key`` (numpy)."""
    h = np.full(len(b), key, np.uint64)
    for j in range(b.shape[1]):
        c = b[:, j].astype(np.uint64)
        step = ((h * np.uint64(0x01000193)) & M32) ^ c if fnv else (h * np.uint64(33) + c) & M32
        h = np.where(length > j, step, h)
    return h.astype(np.uint32)


def _fits(rows, member, n, key, variant) -> bool:
    """Whether lagg_hash with ``key`` splits the rows as ``member`` under a one-to-one map."""
    h, valid = lagg_hash(rows, "l2,l3,l4", int(key), variant)
    r, m = h[valid] % np.uint32(n), member[valid]
    pairs = set(zip(r.tolist(), m.tolist(), strict=True))
    return len(pairs) == len({p[0] for p in pairs}) == len({p[1] for p in pairs})


@pytest.mark.parametrize("variant", ["fnv", "djb"])
@pytest.mark.parametrize("vlan", ["offload", "inband"])
def test_recorded_bytes_are_the_hashed_bytes(corpus, variant, vlan):
    """lagg_hash_bytes walks the hash's own field sequences: hashing its bytes from a key is
    lagg_hash, fast path and general path, every layer set."""
    for layers in LAGG_SUBSETS:
        b, length, valid = lagg_hash_bytes(corpus, layers, variant, vlan)
        for key in (0, 0x9E3779B9):
            h, ok = lagg_hash(corpus, layers, key, variant, vlan)
            assert (ok == valid).all(), (layers, key)
            assert (_hash_bytes(b, length, key, variant == "fnv")[ok] == h[ok]).all(), layers


@pytest.mark.parametrize("variant", ["fnv", "djb"])
@pytest.mark.parametrize("n", [3, 4, 5])
def test_the_key_and_member_order_are_recovered(flows, n, variant):
    """Flows split by lagg_hash with a random key and a shuffled residue -> member map."""
    rng = np.random.default_rng(1000 * n + (variant == "djb"))
    key, perm = int(rng.integers(0, 1 << 32)), rng.permutation(n)
    h, valid = lagg_hash(flows, "l2,l3,l4", key, variant)
    member = perm[h % np.uint32(n)]
    limit = 64
    found = search_keys(flows, member, n, variant=variant, limit=limit)
    assert found.rows_used == valid.sum() == len(flows)
    assert found.power_of_two == (n == 4)
    assert 1 <= len(found.keys) <= limit and (np.diff(found.keys.astype(np.int64)) > 0).all()
    assert all(_fits(flows, member, n, k, variant) for k in found.keys)
    if n == 4:  # only key % 4 matters: the classes, each 2**30 keys
        assert found.count == len(found.keys) << 30 and key % 4 in found.keys.tolist()
        assert (found.keys < 4).all()
    else:
        assert found.count >= len(found.keys)
        if found.count <= limit:  # all of them listed: the true key among them
            assert key in found.keys.tolist()
    # order is the member of each residue under keys[0]: the shuffled map for the true key
    h0, _ = lagg_hash(flows, "l2,l3,l4", int(found.keys[0]), variant)
    want = np.full(n, -1)
    want[h0 % np.uint32(n)] = member
    assert (found.order == want).all()
    if int(found.keys[0]) % (4 if n == 4 else 1 << 32) == key % (4 if n == 4 else 1 << 32):
        assert (found.order == perm).all()
    if variant == "fnv" and n != 4:  # FNV-1 over 500+ real flows pins the key down
        assert found.count == 1 and (found.order == perm).all()


@pytest.mark.parametrize("variant", ["fnv", "djb"])
def test_members_from_another_hash_fit_no_key(flows, variant):
    """Members chosen by xxhash of the ports, % 3: no lagg key explains them."""
    member = np.array([xxhash.xxh64_intdigest(int(r["sport"]).to_bytes(2, "big")
                                              + int(r["dport"]).to_bytes(2, "big")) % 3
                       for r in flows])
    found = search_keys(flows, member, 3, variant=variant)
    assert found.count == 0 and len(found.keys) == 0 and (found.order == -1).all()


def test_equal_bytes_on_two_members_fit_no_key(flows):
    rows = np.concatenate([flows[:50], flows[:1]])
    member = np.zeros(len(rows), np.int64)
    member[-1] = 1
    found = search_keys(rows, member, 3)
    assert found.count == 0 and found.seconds < 5


def _consistent(b, length, member, n, keys, fnv) -> np.ndarray:
    """Per key: the rows' residues map one to one onto their members (numpy, every row)."""
    res = np.stack([_hash_bytes(np.repeat(b[i:i + 1], len(keys), 0),
                                np.full(len(keys), length[i]), keys, fnv) % np.uint32(n)
                    for i in range(len(b))])
    ok = np.ones(len(keys), bool)
    first = {}
    for i, m in enumerate(member.tolist()):
        first.setdefault(m, i)
        ok &= res[i] == res[first[m]]
    heads = list(first.values())
    for x, i in enumerate(heads):
        for j in heads[x + 1:]:
            ok &= res[i] != res[j]
    return ok


def _plans(ub, ul, um, fnv):
    """Every plan the search considers: each FNV-1 candidate prefix group, or hash32_buf's."""
    import hashscope.hashes.freebsd.keysearch as ks

    if not fnv:
        return [ks._djb_args(ub, ul, um, 3)]
    return [ks._fnv_args(ub, ul, um, 3, d, g) for d, g in ks._prefix_groups(ub, ul, um, 3)]


@pytest.mark.parametrize("variant, flows_used", [("fnv", 7), ("djb", 40)])
@pytest.mark.parametrize("stages", [256, 1])
def test_scan_counts_exactly_on_a_sample(monkeypatch, variant, flows_used, stages):
    """The compiled scan over sampled blocks of its values, against every row evaluated
    for the key of each value, for every plan (on flows of one capture: many keys fit, the
    sample has hits). With 1 stage every row but the pivot is left to the one-by-one checks."""
    import hashscope.hashes.freebsd.keysearch as ks

    monkeypatch.setattr(ks, "MAX_STAGES", stages)
    rows = _flows(read_packets([str(SCENARIOS[0])]))[:flows_used]
    h, _ = lagg_hash(rows, "l2,l3,l4", 0x2545F491, variant)
    member = np.array([2, 0, 1])[h % np.uint32(3)]
    b, length, _ = lagg_hash_bytes(rows, "l2,l3,l4", variant)
    ub, ul, um = ks._unique_rows(b, length, member)
    fnv = variant == "fnv"
    for args in _plans(ub, ul, um, fnv):
        assert fnv or not args["whole"]  # the 12-byte row: the scan, not the intervals alone
        assert stages > 1 or len(args["rest"]) > 0
        rng = np.random.default_rng(3)
        lo = np.sort(rng.choice(args["lo"], 64)) + rng.integers(0, 1 << 20, 64) * ks.BLOCK
        lo = np.clip(lo, args["lo"][0], args["hi"][-1] - ks.BLOCK)
        count, keys, _ = ks._scan(args, fnv, 3, ub, ul, um, 1 << 20, lo, lo + ks.BLOCK)
        y = (lo[:, None] + np.arange(ks.BLOCK)).reshape(-1)
        x = y.astype(np.uint64)
        if fnv:  # the FNV-1 state after the prefix, steps undone
            inv = np.uint64(pow(0x01000193, -1, 1 << 32))
            for c in args["prefix"][::-1]:
                x = ((x ^ np.uint64(c)) * inv) & M32
        else:
            x = ((x - np.uint64(args["c0"])) * np.uint64(args["a_inv"])) & M32
        inside = np.zeros(len(x), bool)  # djb: only values inside the intervals are scanned
        for a, z in zip(args["lo"], args["hi"], strict=True):
            inside |= (y >= a) & (y < z)
        fit = _consistent(ub, ul, um, 3, x, fnv) & inside
        assert 50 < fit.sum() < len(x) and count == fit.sum()
        assert sorted(keys.tolist()) == sorted(x[fit].astype(np.uint32).tolist())


def test_count_is_every_consistent_key():
    """hash32_buf over flows of one length, differing mostly in their ports: many keys fit,
    counted from the intervals alone; the count is the share of random keys that fit."""
    rows = _flows(read_packets([str(SCENARIOS[0])]))
    b, length, _ = lagg_hash_bytes(rows, "l2,l3,l4", "djb")
    rows, b, length = rows[length == 24][:60], b[length == 24][:60], length[length == 24][:60]
    h, _ = lagg_hash(rows, "l2,l3,l4", 0x2545F491, "djb")
    member = (h % np.uint32(3)).astype(np.int64)
    found = search_keys(rows, member, 3, variant="djb")
    keys = np.random.default_rng(7).integers(0, 1 << 32, 20000).astype(np.uint64)
    expect = _consistent(b, length, member, 3, keys, False).mean()
    assert 0.01 < expect < 0.99 and found.seconds < 5
    assert abs(found.count / 2**32 - expect) < 5 * np.sqrt(expect * (1 - expect) / len(keys))
    assert all(_fits(rows, member, 3, k, "djb") for k in found.keys)


def test_bad_arguments(flows):
    with pytest.raises(ValueError):
        search_keys(flows, np.zeros(len(flows) - 1), 3)
    with pytest.raises(ValueError):
        search_keys(flows, np.full(len(flows), 3), 3)
    with pytest.raises(ValueError):
        search_keys(flows, np.zeros(len(flows)), 0)
