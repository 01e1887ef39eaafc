"""Open vSwitch hash primitives (lib/hash.h, lib/packets.h's hash_mac, lib/jhash.c), compiled.

Numba scalar functions on 32-bit values (carried in integers, every result reduced
modulo 2^32), callable from Python and from the compiled loops of
:mod:`hashscope.hashes.ovs.flow`, which runs them over every row of the packet table.

``lib/hash.h`` has two build flavours, chosen by the compiler, not by configuration:

- ``"generic"``: Murmur3 steps (any build without ``-msse4.2``; distribution packages,
  XCP-ng / XenServer);
- ``"sse42"``: CRC32C steps (``__SSE4_2__ && __x86_64__``, e.g. ``-march=native``).

The compiled functions take ``sse42`` (bool) instead of the flavour's name. Both are
identical in OVS 2.5.3 and current master (research note other_hashes.md §1.2); checked
on the note's worked examples (§1.8).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from hashscope.hashes.words import M32

U32 = np.uint32
FLAVOURS = ("generic", "sse42")


def _crc32c_table() -> np.ndarray:
    t = np.arange(256, dtype=U32)
    for _ in range(8):
        t = np.where(t & U32(1), (t >> U32(1)) ^ U32(0x82F63B78), t >> U32(1)).astype(U32)
    return t


CRC32C = _crc32c_table()


@njit(cache=True)
def rotl32(x, r):
    x = np.uint64(x) & M32
    return ((x << np.uint64(r)) | (x >> np.uint64(32 - r))) & M32


@njit(cache=True, inline="always")
def crc32c(h, data, nbytes):
    """_mm_crc32_u32/_u64: raw CRC32C (no inversions) of the low ``nbytes`` of ``data``,
    least significant byte first (the little-endian memory order of the word)."""
    h = np.uint64(h) & M32
    data = np.uint64(data)
    for i in range(nbytes):
        byte = (data >> np.uint64(8 * i)) & np.uint64(0xFF)
        h = np.uint64(CRC32C[(h ^ byte) & np.uint64(0xFF)]) ^ (h >> np.uint64(8))
    return h


@njit(cache=True)
def mhash_add(h, d):
    """mhash_add (lib/hash.h): one Murmur3 body step. (2.5.3 also multiplies when d == 0;
    newer OVS skips it: the result is the same.)"""
    k = rotl32(np.uint64(d) * np.uint64(0xCC9E2D51), 15) * np.uint64(0x1B873593)
    h = (np.uint64(h) ^ k) & M32
    return (rotl32(h, 13) * np.uint64(5) + np.uint64(0xE6546B64)) & M32


@njit(cache=True)
def mhash_finish(h):
    """mhash_finish (lib/hash.h): the Murmur3 fmix32."""
    h = np.uint64(h) & M32
    h = ((h ^ (h >> np.uint64(16))) * np.uint64(0x85EBCA6B)) & M32
    h = ((h ^ (h >> np.uint64(13))) * np.uint64(0xC2B2AE35)) & M32
    return h ^ (h >> np.uint64(16))


@njit(cache=True)
def hash_add(h, d, sse42):
    """hash_add (lib/hash.h): fold the 32-bit word d into h."""
    if sse42:
        return crc32c(h, np.uint64(d) & M32, 4)
    return mhash_add(h, d)


@njit(cache=True)
def hash_add64(h, d, sse42):
    """hash_add64 (lib/hash.h): the 64-bit word d, low half first (generic) or as 8 CRC
    bytes (SSE4.2): both follow the word's little-endian memory order."""
    d = np.uint64(d)
    if sse42:
        return crc32c(h, d, 8)
    return mhash_add(mhash_add(h, d & M32), d >> np.uint64(32))


@njit(cache=True)
def hash_finish(h, final, sse42):
    """hash_finish (lib/hash.h). Generic: fmix32(h ^ final). SSE4.2:
    x = crc32c_u64(h, final) * 0x805204f3 (low 32 bits), x ^ (x >> 16)."""
    if sse42:
        x = (crc32c(h, final, 8) * np.uint64(0x805204F3)) & M32
        return x ^ (x >> np.uint64(16))
    return mhash_finish(np.uint64(h) ^ np.uint64(final))


@njit(cache=True, inline="always")
def hash_uint64_basis(x, basis, sse42):
    """hash_uint64_basis (lib/hash.h): finish(add64(basis, x), 8); 23 in the SSE4.2 build."""
    return hash_finish(hash_add64(basis, x, sse42), 23 if sse42 else 8, sse42)


@njit(cache=True, inline="always")
def hash_int_scalar(x, basis, sse42):
    """hash_int (lib/hash.h): generic finish(add(add(x, 0), basis), 8); SSE4.2
    hash_uint64_basis(basis << 32 | x, 0). OVS-DPDK's dp_hash of a NIC RSS hash."""
    x = np.uint64(x) & M32
    if sse42:
        return hash_uint64_basis((np.uint64(basis) << np.uint64(32)) | x, 0, True)
    return hash_finish(hash_add(hash_add(x, 0, False), basis, False), 8, False)


@njit(cache=True, inline="always")
def hash_mac_scalar(mac, vid, basis, sse42):
    """hash_mac (lib/packets.h): hash_uint64_basis(vid << 48 | MAC, basis), the MAC as the
    48-bit big-endian number (eth_addr_vlan_to_uint64)."""
    x = (np.uint64(vid) << np.uint64(48)) | (np.uint64(mac) & np.uint64(0xFFFFFFFFFFFF))
    return hash_uint64_basis(x, basis, sse42)


@njit(cache=True, inline="always")
def _hash_int_array(x, basis, sse42, out):
    for i in range(out.shape[0]):
        out[i] = hash_int_scalar(x[i], basis, sse42)


@njit(cache=True, inline="always")
def _hash_mac_array(mac, vid, basis, sse42, out):
    for i in range(out.shape[0]):
        out[i] = hash_mac_scalar(mac[i], vid[i], basis, sse42)


def _u64_arrays(*xs) -> list[np.ndarray]:
    """The arguments as contiguous uint64 arrays of one (at least 1-d) shape."""
    return [np.ascontiguousarray(a).ravel() for a in np.broadcast_arrays(
        *(np.atleast_1d(np.asarray(x, dtype=np.uint64)) for x in xs))]


def hash_int(x, basis: int, flavour: str = "generic") -> np.ndarray:
    """:func:`hash_int_scalar` of every element of ``x``: a uint32 array."""
    (x,) = _u64_arrays(x)
    out = np.empty(len(x), U32)
    _hash_int_array(x, basis, flavour == "sse42", out)
    return out


def hash_mac(mac, vid, basis: int, flavour: str = "generic") -> np.ndarray:
    """:func:`hash_mac_scalar` of every (MAC, VID) pair (broadcast): a uint32 array."""
    mac, vid = _u64_arrays(mac, vid)
    out = np.empty(len(mac), U32)
    _hash_mac_array(mac, vid, basis, flavour == "sse42", out)
    return out


# -- Bob Jenkins lookup3 as in lib/jhash.c ----------------------------------------------

@njit(cache=True)
def jhash_mix(a, b, c):
    """jhash_mix (lib/jhash.c)."""
    a = ((a - c) & M32) ^ rotl32(c, 4)
    c = (c + b) & M32
    b = ((b - a) & M32) ^ rotl32(a, 6)
    a = (a + c) & M32
    c = ((c - b) & M32) ^ rotl32(b, 8)
    b = (b + a) & M32
    a = ((a - c) & M32) ^ rotl32(c, 16)
    c = (c + b) & M32
    b = ((b - a) & M32) ^ rotl32(a, 19)
    a = (a + c) & M32
    c = ((c - b) & M32) ^ rotl32(b, 4)
    b = (b + a) & M32
    return a, b, c


@njit(cache=True)
def jhash_final(a, b, c):
    """jhash_final (lib/jhash.c)."""
    c = ((c ^ b) - rotl32(b, 14)) & M32
    a = ((a ^ c) - rotl32(c, 11)) & M32
    b = ((b ^ a) - rotl32(a, 25)) & M32
    c = ((c ^ b) - rotl32(b, 16)) & M32
    a = ((a ^ c) - rotl32(c, 4)) & M32
    b = ((b ^ a) - rotl32(a, 14)) & M32
    c = ((c ^ b) - rotl32(b, 24)) & M32
    return a, b, c


@njit(cache=True)
def jhash_words(words, basis):
    """jhash_bytes (lib/jhash.c) of k little-endian 32-bit ``words`` (an array or a tuple),
    4k bytes, not a multiple of 12 (the only use is the 32-byte struct of
    flow_hash_symmetric_l4): whole 12-byte blocks are mixed, the zero-filled last block
    is finalised."""
    k = len(words)
    if k % 3 == 0:
        raise ValueError("jhash_words: a multiple of 12 bytes is not modelled")
    a = (np.uint64(0xDEADBEEF) + np.uint64(4 * k) + np.uint64(basis)) & M32
    b, c = a, a
    i = 0
    while k - i > 3:
        a = (a + np.uint64(words[i])) & M32
        b = (b + np.uint64(words[i + 1])) & M32
        c = (c + np.uint64(words[i + 2])) & M32
        a, b, c = jhash_mix(a, b, c)
        i += 3
    a = (a + np.uint64(words[i])) & M32
    if i + 1 < k:
        b = (b + np.uint64(words[i + 1])) & M32
    if i + 2 < k:
        c = (c + np.uint64(words[i + 2])) & M32
    return jhash_final(a, b, c)[2]
