"""hash32_buf (9.x/10.x lagg_hashmbuf, sys/net/if_lagg.c; sys/sys/hash.h) is affine in the key.

``h = h * 33 + byte`` from the key K over L bytes gives ``33**L * K + hash(0)`` mod 2**32.
Rows of one length L therefore hash to ``y + d`` mod 2**32, where ``y`` is a pivot row's
hash and ``d`` the difference of their hashes from key 0: as the key runs over all 2**32
values so does ``y``, and a row's residue ``(y + d mod 2**32) % n`` is ``(y % n + d % n)``
until ``y + d`` wraps past 2**32, then less ``2**32 % n``. Its residue relative to the
pivot's changes only where ``y`` crosses ``2**32 - d``. Between two such thresholds every
relative residue is fixed, so whether residues map one to one onto members there does not
depend on ``y`` at all: :func:`feasible` sweeps the thresholds once and returns the
intervals of ``y`` where that holds (for a power of two, as the research note says, only
``K % n`` would matter).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from hashscope.hashes.words import M32


def affine(b: np.ndarray, length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(a, c) per row, uint32: hash32_buf from key K over the row is a*K + c mod 2**32,
    a = 33**length, c = the hash from key 0."""
    c = np.zeros(len(b), np.uint64)
    for j in range(b.shape[1]):
        c = np.where(length > j, (c * np.uint64(33) + b[:, j]) & M32, c)
    a = np.array([pow(33, int(L), 1 << 32) for L in length], np.uint64)
    return a.astype(np.uint32), c.astype(np.uint32)


@njit(cache=True)
def _add(cnt, per_member, per_residue, m, r, step):
    """Add (step 1) or remove (-1) a row (member m, relative residue r); returns the change
    in how many members or residues have two partners."""
    bad = 0
    if step > 0:
        if cnt[m, r] == 0:
            per_member[m] += 1
            per_residue[r] += 1
            bad += (per_member[m] == 2) + (per_residue[r] == 2)
        cnt[m, r] += 1
    else:
        cnt[m, r] -= 1
        if cnt[m, r] == 0:
            bad -= (per_member[m] == 2) + (per_residue[r] == 2)
            per_member[m] -= 1
            per_residue[r] -= 1
    return bad


@njit(cache=True)
def feasible(d, member, n):
    """The intervals [lo, hi) of the pivot's hash y where rows hashing to y + d[i] (mod
    2**32) can be mapped one to one onto their members (the pivot among them, d = 0).
    Returns (lo, hi) int64 arrays, ascending, adjacent intervals merged."""
    wrap = (np.int64(1) << 32) % n
    cnt = np.zeros((n, n), np.int64)
    per_member = np.zeros(n, np.int64)
    per_residue = np.zeros(n, np.int64)
    bad = 0
    rel = np.empty(d.shape[0], np.int64)
    for i in range(d.shape[0]):
        rel[i] = np.int64(d[i]) % n
        bad += _add(cnt, per_member, per_residue, member[i], rel[i], 1)
    at = (np.int64(1) << 32) - d.astype(np.int64)  # y from which row i wraps (2**32: never)
    order = np.argsort(at, kind="mergesort")
    lo = np.empty(d.shape[0] + 1, np.int64)
    hi = np.empty(d.shape[0] + 1, np.int64)
    k, y = 0, np.int64(0)
    for j in range(d.shape[0] + 1):
        nxt = at[order[j]] if j < d.shape[0] else np.int64(1) << 32
        if nxt > y:  # [y, nxt) has the current residues
            if bad == 0:
                if k > 0 and hi[k - 1] == y:
                    hi[k - 1] = nxt
                else:
                    lo[k], hi[k] = y, nxt
                    k += 1
            y = nxt
        if j < d.shape[0] and nxt < (np.int64(1) << 32):
            i = order[j]
            bad += _add(cnt, per_member, per_residue, member[i], rel[i], -1)
            rel[i] = (rel[i] - wrap) % n
            bad += _add(cnt, per_member, per_residue, member[i], rel[i], 1)
    return lo[:k].copy(), hi[:k].copy()
