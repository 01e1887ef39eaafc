"""Header signatures: what of a frame any policy reads, so that equal frames are hashed once.

Most frames are plain Ethernet + IP + a ported protocol. For them every family's hash is
a function of decoded columns alone: Linux and FreeBSD take their column fast paths
(:func:`hashscope.hashes.linux.fast.fast_case` with the strictest policy, encap3+4;
:func:`hashscope.hashes.freebsd.fast.fast_case` with l4), and the OVS and switch models
read raw bytes only for ARP and other non-IP frames. Such a frame is *column-hashed*; its
signature is its packet-table row without the columns no policy reads for it: time,
interface, wire and captured length (the fast paths only test that the captured bytes
reach the header ends, which a column-hashed frame does), the raw head bytes, IP total
length and TTL, TCP flags and the cooked-capture fields. Two column-hashed frames with
one signature get the same hash and member from every stateless policy.

Every other frame (tunnels, ICMP, fragments, extension headers, stacked or in-band tags,
cut headers, non-IP) is left to the per-packet path: its hash may read the raw bytes.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from hashscope.columns import PACKET_DTYPE
from hashscope.xxh64 import xxh64_words

from .freebsd.fast import IPV4, IPV6
from .freebsd.fast import fast_case as freebsd_case
from .freebsd.headers import HASH_L2, HASH_L3, HASH_L4
from .linux.fast import fast_case as linux_case
from .linux.if_bonding import ENCAP34

#: Columns no policy reads for a column-hashed frame.
IGNORED = ("ts_ns", "wirelen", "caplen", "iface", "head", "ip_len", "ip_ttl", "tcp_flags",
           "inner_tcp_flags", "pkttype", "ll_ifindex", "direction")
ROW_WORDS = PACKET_DTYPE.itemsize // 8  #: a packet-table row as 64-bit words
WHOLE = 0xFFFF  #: the lengths of a signature's row


def _kept_bits() -> np.ndarray:
    keep = np.zeros(PACKET_DTYPE.itemsize, np.uint8)  # padding stays out (always zero)
    for name in PACKET_DTYPE.names:
        if name not in IGNORED:
            dtype, offset = PACKET_DTYPE.fields[name][:2]
            keep[offset:offset + dtype.itemsize] = 0xFF
    return keep.view(np.uint64)


_BITS = _kept_bits()
KEPT = np.flatnonzero(_BITS)  #: the row's words a signature keeps (some of their bits)
MASK = _BITS[KEPT]
WORDS = len(KEPT)  #: words of a signature key
assert PACKET_DTYPE.itemsize % 8 == 0


@njit(cache=True, inline="always")
def signature_of(r, row, offload, kept, mask, key):
    """Fill ``key`` with the signature of record ``r`` (``row``: its 64-bit words);
    returns (column-hashed?, the key's XXH64)."""
    case = freebsd_case(r, HASH_L2 | HASH_L3 | HASH_L4, offload)[0]
    hashed = linux_case(r, ENCAP34, offload) == 2 and (case == IPV4 or case == IPV6)
    for k in range(kept.shape[0]):
        key[k] = row[kept[k]] & mask[k]
    return hashed, xxh64_words(key, 1)


@njit(cache=True, nogil=True, parallel=True)
def _signature_rows(pk, rows, offload, kept, mask, keys, hashes, hashed):
    for i in prange(pk.shape[0]):
        hashed[i], hashes[i] = signature_of(pk[i], rows[i], offload, kept, mask, keys[i])


def signature_keys(packets: np.ndarray, offload: bool
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(key words, their XXH64, column-hashed) per packet of a packet table.

    A key is the frame as every stateless policy sees it (see the module's docstring;
    :func:`signature_rows` turns keys back into rows); ``offload``: the outer tag was out
    of band (``--vlan offload``).
    """
    n = len(packets)
    packets = np.ascontiguousarray(packets)
    keys = np.empty((n, WORDS), np.uint64)
    hashes = np.empty(n, np.uint64)
    hashed = np.empty(n, bool)
    if n:
        _signature_rows(packets, packets.view(np.uint64).reshape(n, ROW_WORDS), offload,
                        KEPT, MASK, keys, hashes, hashed)
    return keys, hashes, hashed


def signature_rows(keys: np.ndarray) -> np.ndarray:
    """Signature keys back as packet-table rows, for the policies to hash: the ignored
    columns zero, but for the lengths, which say the frame was captured whole (what the
    fast paths test of them, that the headers were captured, held for every frame of a
    signature)."""
    rows = np.zeros((len(keys), ROW_WORDS), np.uint64)
    rows[:, KEPT] = keys
    rows = rows.view(PACKET_DTYPE).reshape(len(keys))
    rows["caplen"] = rows["wirelen"] = WHOLE
    return rows
