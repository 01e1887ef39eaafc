"""The compiled part of the lagg key search: every 32-bit key against the observed members.

Each row is the byte string the lagg hash feeds (:mod:`hashscope.hashes.freebsd.hashbytes`)
and the member it was seen on. A key survives while the residues ``hash % n`` of the rows
so far can be mapped one to one onto their members. The search runs over a value ``x`` in
0..2**32-1 that is the key itself for ``hash32_buf`` (9.x/10.x ``lagg_hashmbuf``,
sys/net/if_lagg.c), and for ``fnv_32_buf`` (``m_ether_tcpip_hash``,
sys/kern/uipc_mbufhash.c) the hash state after a prefix of bytes every staged row starts
with: each FNV-1 step (multiply by an odd prime, XOR a byte) is a bijection of the 32-bit
state, so enumerating that state enumerates the keys, the prefix is hashed zero times, and
a surviving state is turned back into its key (:func:`unfeed`).

Per block of values: the first rows ("stages") are evaluated for the whole block in loops
that run over a uint32 array (the byte loop outside, the value loop inside: SIMD), then
the survivors are compacted and each further stage runs over fewer; what remains after the
stages goes through the other rows one by one, with an early exit. Slots are the members
the stages met, numbered in the order of their first row; ``res[slot]`` is that member's
residue for each surviving value.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .headers import FNV_32_PRIME

BLOCK = 2048  #: values per block (the working arrays stay in the L1/L2 cache)
SLOTS = 32  #: most members the stages may pin (LAGG_MAX_PORTS)
COMPACT_BELOW = 4  #: compact when at most 1/COMPACT_BELOW of the values are alive
PRIME = np.uint32(FNV_32_PRIME)
PRIME_INV = np.uint32(pow(FNV_32_PRIME, -1, 1 << 32))  #: FNV_32_PRIME**-1 mod 2**32


@njit(cache=True, inline="always")
def residue(h, n, inv_n):
    """``h % n`` for a uint32 ``h`` and n < 2**19, through a double (vectorizes; exact:
    (h + 0.5) / n is at least 0.5/n from an integer, the rounding error below 2**-20)."""
    q = np.uint32((np.float64(h) + 0.5) * inv_n)
    return np.uint32(h - q * np.uint32(n))


@njit(cache=True)
def unfeed(h, prefix):
    """The key whose fnv_32_buf state after ``prefix`` is ``h`` (the FNV-1 steps undone)."""
    for j in range(prefix.shape[0] - 1, -1, -1):
        h = np.uint32((h ^ np.uint32(prefix[j])) * PRIME_INV)
    return h


@njit(cache=True, inline="always")
def _keys(xs, m, out, fnv, prefix, c0, a_inv):
    """out[:m] = the key of each value xs[:m] (:func:`unfeed`, or (x - c0) * a_inv)."""
    if fnv:
        for t in range(m):
            out[t] = xs[t]
        for j in range(prefix.shape[0] - 1, -1, -1):
            p = np.uint32(prefix[j])
            for t in range(m):
                out[t] = np.uint32((out[t] ^ p) * PRIME_INV)
    else:
        for t in range(m):
            out[t] = np.uint32((np.uint64(xs[t]) - np.uint64(c0)) * np.uint64(a_inv))


@njit(cache=True, inline="always")
def _fnv4(src, dst, m, sb, j):
    """dst[:m] = four fnv_32_buf steps (bytes sb[j:j+4]) from src[:m]."""
    b0, b1 = np.uint32(sb[j]), np.uint32(sb[j + 1])
    b2, b3 = np.uint32(sb[j + 2]), np.uint32(sb[j + 3])
    for t in range(m):
        v = np.uint32(src[t] * PRIME) ^ b0
        v = np.uint32(v * PRIME) ^ b1
        v = np.uint32(v * PRIME) ^ b2
        dst[t] = np.uint32(v * PRIME) ^ b3


@njit(cache=True, inline="always")
def _fnv_bytes(src, dst, m, sb, sl):
    """dst[:m] = fnv_32_buf over sb[:sl] from each src[:m]: four bytes a pass, the first
    from src, then in place (a separate loop: src and dst may be one array, and two
    pointers to it would defeat the vectorizer's overlap check)."""
    j = sl % 4
    if j == 0 and sl > 0:
        _fnv4(src, dst, m, sb, 0)
        j = 4
    else:  # the odd bytes first, one a pass
        for t in range(m):
            dst[t] = src[t]
        for i in range(j):
            b = np.uint32(sb[i])
            for t in range(m):
                dst[t] = np.uint32(dst[t] * PRIME) ^ b
    while j < sl:
        _fnv4(dst, dst, m, sb, j)
        j += 4


@njit(cache=True, inline="always")
def _stage(xs, m, h, fnv, sb, sl, from_key, a, c, prefix, c0, a_inv):
    """h[:m] = the stage row's hash for each value xs[:m]."""
    if not fnv:  # hash32_buf is affine: a * x + c
        for t in range(m):
            h[t] = np.uint32(a * xs[t] + c)
    elif from_key:  # a row without the prefix: hashed whole from the key
        _keys(xs, m, h, fnv, prefix, c0, a_inv)
        _fnv_bytes(h, h, m, sb, sl)  # (in place: the copy loop is harmless)
    else:
        _fnv_bytes(xs, h, m, sb, sl)


@njit(cache=True, inline="always")
def _judge(h, m, ok, res, slot, first, n, inv_n):
    """ok[:m] &= the residues of h fit the slots (a slot's first row pins its residue);
    returns how many are alive."""
    alive = 0
    if first and slot == 0:  # the pivot: its residue pinned, nothing to compare
        for t in range(m):
            res[0, t] = residue(h[t], n, inv_n)
            alive += ok[t]
    elif first:  # a new member: its residue must be no pinned member's
        for t in range(m):
            h[t] = residue(h[t], n, inv_n)
        for s in range(slot):
            for t in range(m):
                ok[t] &= np.uint8(res[s, t] != h[t])
        for t in range(m):
            res[slot, t] = h[t]
            alive += ok[t]
    else:
        for t in range(m):
            v = ok[t] & np.uint8(res[slot, t] == residue(h[t], n, inv_n))
            ok[t] = v
            alive += v
    return alive


@njit(cache=True, inline="always")
def _within(xs, m, h, ok, flag, a, c, ilo, ihi, k0, k1):
    """ok[:m] &= a * x + c lies in one of the intervals [ilo[k], ihi[k]), k0 <= k < k1 (a
    group of hash32_buf rows of one length, reduced to where its pivot's hash fits them
    all: :func:`keydjb.feasible`); returns how many are alive."""
    for t in range(m):
        h[t] = np.uint32(a * xs[t] + c)
        flag[t] = 0
    for k in range(k0, k1):
        a_k, b_k = ilo[k], ihi[k]
        for t in range(m):
            flag[t] |= np.uint8(h[t] >= a_k) & np.uint8(h[t] < b_k)
    alive = 0
    for t in range(m):
        ok[t] &= flag[t]
        alive += ok[t]
    return alive


@njit(cache=True, inline="always")
def _compact(xs, m, ok, res, pinned, idx):
    """Keep the values (and their pinned residues) with ok set, in order; returns how many."""
    k = 0
    for t in range(m):
        idx[k] = t
        k += ok[t]
    for t in range(k):  # idx[t] >= t: in place
        xs[t] = xs[idx[t]]
    for s in range(pinned):
        for t in range(k):
            res[s, t] = res[s, idx[t]]
    for t in range(k):
        ok[t] = 1
    return k


@njit(cache=True, inline="always")
def _check(fnv, x, key, n, inv_n, res, t, pinned, slot_member, mor, rom, ck_bytes, ck_start,
           ck_len, ck_a, ck_c, ck_member):
    """The check rows one by one for the value x (key ``key``), from the pinned residues:
    the index of the first row that contradicts them, -1 if none does."""
    for r in range(n):
        mor[r] = -1  # residue -> member
        rom[r] = -1  # member -> residue
    for s in range(pinned):
        mor[res[s, t]] = slot_member[s]
        rom[slot_member[s]] = res[s, t]
    for i in range(ck_len.shape[0]):
        if fnv:
            hv = x if ck_start[i] > 0 else key
            cb = ck_bytes[i]
            for j in range(ck_start[i], ck_len[i]):
                hv = np.uint32(hv * PRIME) ^ np.uint32(cb[j])
        else:
            hv = np.uint32(ck_a[i] * x + ck_c[i])
        r = residue(hv, n, inv_n)
        mb = ck_member[i]
        if mor[r] == mb:
            continue
        if mor[r] != -1 or rom[mb] != -1:
            return i
        mor[r] = mb
        rom[mb] = r
    return -1


@njit(cache=True, nogil=True, parallel=True)
def scan(fnv, n, lo, hi, st_bytes, st_len, st_key, st_a, st_c, st_slot, st_first,
         st_pinned, st_span, st_lo, st_hi, slot_member, ck_bytes, ck_start, ck_len, ck_a,
         ck_c, ck_member, prefix, c0, a_inv, limit, top0):
    """The values x in the pieces [lo[i], hi[i]) against the stages, then the check rows.

    Returns per piece: the count of consistent keys, the up to ``limit`` smallest of them,
    how many those are, and the work (a deterministic estimate from the loop lengths, in
    about 0.01 ns of one core, by which plans are compared on a sample).

    x is the FNV-1 state after ``prefix`` (the key: :func:`unfeed`), or for hash32_buf a
    pivot row's hash (the key: (x - c0) * a_inv). ``st_*``: the staged rows (FNV-1: the
    bytes to hash, from x -- the suffix after the prefix -- or, st_key, from the key -- the
    whole row; hash32_buf: hash = a * x + c), their slot, whether it is the slot's first
    row, the slots pinned after each; a stage with intervals ``st_lo[st_span[j]:
    st_span[j + 1]]`` (and ``st_hi``) is instead a test that a * x + c lies in one of
    them (it pins nothing). A stage runs over the values alive, the dead being
    skipped (compacted away) once they are three quarters or more. ``ck_*``: the rows
    checked one value at a time after the stages (FNV-1: full bytes, ``start`` =
    len(prefix) where they share it, else 0; hash32_buf: a, c; member). Only keys below
    ``top0`` are kept (the smallest found so far elsewhere make the others useless).
    """
    inv_n = 1.0 / n
    pieces = lo.shape[0]
    count = np.zeros(pieces, np.int64)
    cap = max(2 * limit, 1)
    kept = np.zeros((pieces, cap), np.uint32)
    n_kept = np.zeros(pieces, np.int64)
    work = np.zeros(pieces, np.int64)
    n_st = st_len.shape[0]
    n_pre = prefix.shape[0] if fnv else 0
    pinned = st_pinned[n_st - 1]
    for piece in prange(pieces):
        xs = np.empty(BLOCK, np.uint32)
        h = np.empty(BLOCK, np.uint32)
        ok = np.empty(BLOCK, np.uint8)
        flag = np.empty(BLOCK, np.uint8)
        idx = np.empty(BLOCK, np.int64)
        res = np.empty((SLOTS, BLOCK), np.uint32)
        mor = np.empty(n, np.int64)
        rom = np.empty(n, np.int64)
        top = np.int64(top0)  # keys at or above it cannot be among the smallest kept
        found, nk, w = 0, 0, 0
        for base in range(lo[piece], hi[piece], BLOCK):
            m = min(BLOCK, hi[piece] - base)
            for t in range(m):
                xs[t] = np.uint32(base + t)
                ok[t] = 1
            for j in range(n_st):
                k0, k1 = st_span[j], st_span[j + 1]
                if k1 > k0:
                    alive = _within(xs, m, h, ok, flag, st_a[j], st_c[j], st_lo, st_hi, k0, k1)
                    w += m * (4 * (k1 - k0) + 30)
                else:
                    _stage(xs, m, h, fnv, st_bytes[j], st_len[j], st_key[j], st_a[j], st_c[j],
                           prefix, c0, a_inv)
                    alive = _judge(h, m, ok, res, st_slot[j], st_first[j], n, inv_n)
                    w += m * (2 * (st_len[j] + (n_pre if st_key[j] else 0)) + 30)
                # compact once the dead are worth skipping (and after the last stage)
                if alive < m and (alive * COMPACT_BELOW <= m or j == n_st - 1):
                    w += m * 20 + alive * 10 * st_pinned[j]
                    m = _compact(xs, m, ok, res, st_pinned[j], idx)
                    if m == 0:
                        break
            if m == 0:
                continue
            _keys(xs, m, h, fnv, prefix, c0, a_inv)
            w += m * (2 * n_pre + 20)
            if ck_len.shape[0]:
                for t in range(m):
                    rows = _check(fnv, xs[t], h[t], n, inv_n, res, t, pinned, slot_member,
                                  mor, rom, ck_bytes, ck_start, ck_len, ck_a, ck_c,
                                  ck_member)
                    ok[t] = rows < 0
                    w += 50 + 130 * ck_len[0] * (ck_len.shape[0] if rows < 0 else rows + 1)
            for t in range(m):
                found += ok[t]
            if limit == 0:
                continue
            for t in range(m):
                if ok[t] and np.int64(h[t]) < top:
                    kept[piece, nk] = h[t]
                    nk += 1
                    if nk == cap:
                        kept[piece, :nk].sort()
                        nk = limit
                        top = np.int64(kept[piece, limit - 1])
        count[piece] = found
        n_kept[piece] = nk
        work[piece] = w
    return count, kept, n_kept, work
