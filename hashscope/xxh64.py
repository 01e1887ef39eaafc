"""XXH64 of fixed-size rows of 64-bit words, compiled, for flow keys.

The same function as the ``xxhash`` package's ``xxh64`` (tests check them
against each other on the same bytes), but over many rows at once, with no
Python per row: the flow table hashes every packet's key with it.
"""

from __future__ import annotations

import numpy as np
from numba import njit

P1 = np.uint64(0x9E3779B185EBCA87)
P2 = np.uint64(0xC2B2AE3D27D4EB4F)
P3 = np.uint64(0x165667B19E3779F9)
P4 = np.uint64(0x85EBCA77C2B2AE63)
P5 = np.uint64(0x27D4EB2F165667C5)


@njit(cache=True)
def _rotl(x, r):
    return (x << np.uint64(r)) | (x >> np.uint64(64 - r))


@njit(cache=True)
def _round(acc, lane):
    acc = acc + lane * P2
    acc = _rotl(acc, 31)
    return acc * P1


@njit(cache=True)
def _merge(acc, val):
    acc = acc ^ _round(np.uint64(0), val)
    return acc * P1 + P4


@njit(cache=True, inline="always")
def xxh64_words(words, seed):
    """XXH64 of the little-endian bytes of ``words``: a uint64 array, or a tuple of uint64
    (a key built in registers inside a compiled loop: no allocation per row)."""
    n = len(words)
    seed = np.uint64(seed)
    if n >= 4:
        v1 = seed + P1 + P2
        v2 = seed + P2
        v3 = seed
        v4 = seed - P1
        for i in range(0, n - n % 4, 4):
            v1 = _round(v1, words[i])
            v2 = _round(v2, words[i + 1])
            v3 = _round(v3, words[i + 2])
            v4 = _round(v4, words[i + 3])
        h = _rotl(v1, 1) + _rotl(v2, 7) + _rotl(v3, 12) + _rotl(v4, 18)
        h = _merge(h, v1)
        h = _merge(h, v2)
        h = _merge(h, v3)
        h = _merge(h, v4)
    else:
        h = seed + P5
    h = h + np.uint64(n * 8)
    for i in range(n - n % 4, n):
        h = h ^ _round(np.uint64(0), words[i])
        h = _rotl(h, 27) * P1 + P4
    h = h ^ (h >> np.uint64(33))
    h = h * P2
    h = h ^ (h >> np.uint64(29))
    h = h * P3
    h = h ^ (h >> np.uint64(32))
    return h
