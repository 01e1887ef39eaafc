"""Candidate frames: the packets a planned stream would send, built as bytes and decoded.

Every candidate (one per source port, address or MAC tried) is a real Ethernet frame,
built in one numpy array for all candidates at once and run through hashscope's own
decoder, so the hash core reads exactly the packet-table row a capture of that stream
would give (``caplen``, offsets, the raw ``head`` bytes and all). No Python loop per
candidate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hashscope.capture.records import RecordBatch
from hashscope.decode.packets import decode

ETHERNET = 1  #: LINKTYPE_ETHERNET
PROTOCOLS = {"tcp": 6, "udp": 17}


@dataclass(frozen=True)
class Tuples:
    """The headers of n frames, each field one value or an array of n (broadcast).

    Addresses are integers (IPv4 below 2**32 with ``ipv6`` False, else 128-bit); MACs are
    48-bit integers; ``vlan`` an 802.1Q VLAN id or None (no tag)."""

    src: object
    dst: object
    sport: object
    dport: object
    src_mac: object
    dst_mac: object
    proto: int = 6
    ipv6: bool = False
    vlan: int | None = None


def _put(mat: np.ndarray, at: int, value, nbytes: int) -> None:
    """Write big-endian ``nbytes``-byte integers (an array of Python ints or uint64) into
    columns at..at+nbytes of every row."""
    v = np.asarray(value, dtype=object) if nbytes > 8 else np.asarray(value, dtype=np.uint64)
    for k in range(nbytes):
        shift = 8 * (nbytes - 1 - k)
        col = (v >> shift) & 0xFF
        mat[:, at + k] = np.asarray(col, dtype=np.uint64).astype(np.uint8)


def build_frames(t: Tuples, n: int) -> np.ndarray:
    """The n frames as a (n, length) uint8 array."""
    l2 = 14 + (4 if t.vlan is not None else 0)
    l3 = 40 if t.ipv6 else 20
    l4 = 20 if t.proto == 6 else 8
    length = l2 + l3 + l4
    mat = np.zeros((n, length), np.uint8)
    _put(mat, 0, np.broadcast_to(np.asarray(t.dst_mac, np.uint64), (n,)), 6)
    _put(mat, 6, np.broadcast_to(np.asarray(t.src_mac, np.uint64), (n,)), 6)
    etype = 0x86DD if t.ipv6 else 0x0800
    if t.vlan is not None:
        _put(mat, 12, np.full(n, 0x8100), 2)
        _put(mat, 14, np.full(n, t.vlan & 0xFFF), 2)
    _put(mat, l2 - 2, np.full(n, etype), 2)
    if t.ipv6:
        mat[:, l2] = 0x60
        _put(mat, l2 + 4, np.full(n, l4), 2)
        mat[:, l2 + 6], mat[:, l2 + 7] = t.proto, 64
        _put(mat, l2 + 8, np.broadcast_to(np.asarray(t.src, dtype=object), (n,)), 16)
        _put(mat, l2 + 24, np.broadcast_to(np.asarray(t.dst, dtype=object), (n,)), 16)
    else:
        mat[:, l2] = 0x45
        _put(mat, l2 + 2, np.full(n, l3 + l4), 2)
        mat[:, l2 + 6], mat[:, l2 + 8], mat[:, l2 + 9] = 0x40, 64, t.proto  # DF, TTL
        _put(mat, l2 + 12, np.broadcast_to(np.asarray(t.src, np.uint64), (n,)), 4)
        _put(mat, l2 + 16, np.broadcast_to(np.asarray(t.dst, np.uint64), (n,)), 4)
    at = l2 + l3
    _put(mat, at, np.broadcast_to(np.asarray(t.sport, np.uint64), (n,)), 2)
    _put(mat, at + 2, np.broadcast_to(np.asarray(t.dport, np.uint64), (n,)), 2)
    if t.proto == 6:
        mat[:, at + 12], mat[:, at + 13] = 0x50, 0x18  # data offset 5, PSH|ACK
        _put(mat, at + 14, np.full(n, 64240), 2)
    else:
        _put(mat, at + 4, np.full(n, l4), 2)
    return mat


def packet_table(t: Tuples, n: int) -> np.ndarray:
    """The n frames decoded into a packet table (:data:`hashscope.columns.PACKET_DTYPE`)."""
    mat = build_frames(t, n)
    length = mat.shape[1]
    batch = RecordBatch(
        data=mat.reshape(-1), offset=np.arange(n, dtype=np.int64) * length,
        caplen=np.full(n, length, np.uint32), wirelen=np.full(n, length, np.uint32),
        ts_ns=np.arange(n, dtype=np.int64), iface=np.zeros(n, np.int32),
        direction=np.zeros(n, np.int8))
    return decode(batch, np.array([ETHERNET], np.int32))
