"""The bytes the FreeBSD lagg hash feeds, per packet, in order: the hash without its key.

``m_ether_tcpip_hash`` (sys/kern/uipc_mbufhash.c, 11.0+) and ``lagg_hashmbuf``
(sys/net/if_lagg.c, 9.x/10.x) run one fixed byte string through ``fnv_32_buf`` or
``hash32_buf``, starting from the key. :func:`lagg_hash_bytes` records that string for
every packet by walking the same field sequences the hash walks -- :func:`fast.fast_fields`
for the frames the column fast path takes, :func:`mbufhash.m_ether_tcpip_hash` for the
others -- with a recording sink in place of :func:`fast.feed`. Nothing here restates which
bytes are hashed; so ``feed`` over a row's recorded bytes from key K is ``lagg_hash(...,
K)`` of that row, bit for bit (tested), and a key search can hash many keys per row.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from hashscope.hashes.frames import CHUNK, check_vlan_mode, frame_view

from .fast import SKIP, fast_case, fast_fields
from .mbufhash import VARIANTS, freebsd_vlan_view, m_ether_tcpip_hash, parse_layers

#: The most bytes one frame can feed: MACs 12, tag 2, IPv6 addresses 32, flow label 4.
MAX_BYTES = 64


@njit(cache=True)
def record(state, v, nbytes, fnv):
    """A sink that appends the ``nbytes`` bytes of ``v`` (most significant first) to a row.

    ``state`` is (row buffer, bytes so far)."""
    buf, n = state
    v = np.uint64(v)
    for j in range(nbytes):
        buf[n + j] = np.uint8((v >> np.uint64(8 * (nbytes - 1 - j))) & np.uint64(0xFF))
    return buf, n + nbytes


@njit(cache=True, nogil=True, parallel=True)
def _fast_bytes(pk, flags, fnv, offload, out, length, done):
    for i in prange(pk.shape[0]):
        r = pk[i]
        case, tagged = fast_case(r, flags, offload)
        done[i] = case != SKIP
        if case != SKIP:
            _, n = fast_fields(r, case, tagged, flags, fnv, (out[i], np.int64(0)), record)
            length[i] = n


@njit(cache=True, nogil=True)
def _general_bytes(buf, kn, wire, shift, tci, l4_off, flags, fnv, out, length, valid):
    miss = np.zeros(1, dtype=np.uint8)
    for i in range(buf.shape[0]):
        miss[0] = 0
        s = np.int64(shift[i])
        f = (buf[i], kn[i], s, np.int64(wire[i]) - s, miss)
        _, n = m_ether_tcpip_hash(f, flags, (out[i], np.int64(0)), fnv, s != 0, tci[i],
                                  np.int64(l4_off[i]), record)
        length[i] = n
        valid[i] = miss[0] == 0


def lagg_hash_bytes(packets: np.ndarray, layers: str = "l2,l3,l4", variant: str = "fnv",
                    vlan: str = "offload") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per packet, the bytes :func:`~hashscope.hashes.freebsd.mbufhash.lagg_hash` hashes.

    Returns (bytes uint8 [n, MAX_BYTES], length int64 [n], valid bool [n]): row i's first
    ``length[i]`` bytes, fed one by one from the key through fnv_32_buf (``variant="fnv"``)
    or hash32_buf (``"djb"``), give lagg_hash's value; ``valid`` is lagg_hash's (where it is
    False the recorded bytes are not the kernel's). Same arguments as lagg_hash.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, not {variant!r}")
    flags = parse_layers(layers)
    check_vlan_mode(vlan)
    fnv = variant == "fnv"
    n = len(packets)
    out = np.zeros((n, MAX_BYTES), dtype=np.uint8)
    length = np.zeros(n, dtype=np.int64)
    valid = np.zeros(n, dtype=bool)
    _fast_bytes(packets, flags, fnv, vlan == "offload", out, length, valid)
    rest = np.flatnonzero(~valid)
    if len(rest) == 0:
        return out, length, valid
    pk = packets[rest]
    wire = np.maximum(pk["caplen"], pk["wirelen"]).astype(np.int64)
    shift, tci = freebsd_vlan_view(pk, vlan)
    l4_off = pk["l4_off"].astype(np.int64)
    rb = np.zeros((len(pk), MAX_BYTES), dtype=np.uint8)
    rl = np.zeros(len(pk), dtype=np.int64)
    ok = np.zeros(len(pk), dtype=bool)
    for lo in range(0, len(pk), CHUNK):
        sl = slice(lo, min(len(pk), lo + CHUNK))
        buf, kn = frame_view(pk[sl])
        _general_bytes(buf, kn, wire[sl], shift[sl], tci[sl], l4_off[sl], flags, fnv, rb[sl],
                       rl[sl], ok[sl])
    out[rest], length[rest] = rb, rl
    valid[rest] = ok & (pk["mac_ok"] == 3)
    return out, length, valid
