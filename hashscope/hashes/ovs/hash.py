"""Open vSwitch hash functions (lib/hash.h, lib/jhash.c, lib/flow.c), compiled.

The primitives are numba scalar functions on 32-bit values (carried in integers, every
result reduced modulo 2^32), callable from Python and from the compiled loops; the flow
hashes (:func:`flow_hash_5tuple`, :func:`flow_hash_symmetric_l4`, balance-slb's
:func:`hash_mac` of a frame) run them over every row of the packet table on all cores
(:func:`ovs_hash_rows`) and return (hash, valid).

OVS hashes *memory words*: a field stored in network order (an address, a port) is
loaded little-endian on x86, i.e. its column value (the network-order number) is
byte-swapped first; :func:`bswap16` and friends say so where they happen.

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
from numba import njit, prange

from hashscope.columns import (
    DEPTH_LINK,
    DEPTH_NET,
    DEPTH_TRANSPORT,
    FRAG_LATER,
    HEAD_BYTES,
    MAC_DST,
    MAC_SRC,
)
from hashscope.hashes.linux.fast import bswap32

U32 = np.uint32
M32 = np.uint64(0xFFFFFFFF)
FLAVOURS = ("generic", "sse42")
ETH_TYPE_ARP = 0x0806
FLOW_DL_TYPE_NONE = 0x05FF  #: struct flow's dl_type of an 802.3 length frame
MAC_BOTH = MAC_DST | MAC_SRC
#: which hash :func:`ovs_hash_rows` computes
HASH_SLB, HASH_5TUPLE, HASH_SYMMETRIC_L4 = 0, 1, 2


def _crc32c_table() -> np.ndarray:
    t = np.arange(256, dtype=U32)
    for _ in range(8):
        t = np.where(t & U32(1), (t >> U32(1)) ^ U32(0x82F63B78), t >> U32(1)).astype(U32)
    return t


CRC32C = _crc32c_table()


@njit(cache=True, inline="always")
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


@njit(cache=True, inline="always")
def mhash_add(h, d):
    """mhash_add (lib/hash.h): one Murmur3 body step. (2.5.3 also multiplies when d == 0;
    newer OVS skips it: the result is the same.)"""
    k = rotl32(np.uint64(d) * np.uint64(0xCC9E2D51), 15) * np.uint64(0x1B873593)
    h = (np.uint64(h) ^ k) & M32
    return (rotl32(h, 13) * np.uint64(5) + np.uint64(0xE6546B64)) & M32


@njit(cache=True, inline="always")
def mhash_finish(h):
    """mhash_finish (lib/hash.h): the Murmur3 fmix32."""
    h = np.uint64(h) & M32
    h = ((h ^ (h >> np.uint64(16))) * np.uint64(0x85EBCA6B)) & M32
    h = ((h ^ (h >> np.uint64(13))) * np.uint64(0xC2B2AE35)) & M32
    return h ^ (h >> np.uint64(16))


@njit(cache=True, inline="always")
def hash_add(h, d, sse42):
    """hash_add (lib/hash.h): fold the 32-bit word d into h."""
    if sse42:
        return crc32c(h, np.uint64(d) & M32, 4)
    return mhash_add(h, d)


@njit(cache=True, inline="always")
def hash_add64(h, d, sse42):
    """hash_add64 (lib/hash.h): the 64-bit word d, low half first (generic) or as 8 CRC
    bytes (SSE4.2): both follow the word's little-endian memory order."""
    d = np.uint64(d)
    if sse42:
        return crc32c(h, d, 8)
    return mhash_add(mhash_add(h, d & M32), d >> np.uint64(32))


@njit(cache=True, inline="always")
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


# -- byte order: column values are network-order numbers; OVS loads memory words --------

@njit(cache=True, inline="always")
def bswap16(x):
    """The x86 load of a 2-byte network-order field (a port, an EtherType)."""
    x = np.uint64(x) & np.uint64(0xFFFF)
    return ((x & np.uint64(0xFF)) << np.uint64(8)) | (x >> np.uint64(8))


@njit(cache=True, inline="always")
def bswap64(x):
    """The x86 load of 8 network-order bytes (half of an IPv6 address)."""
    x = np.uint64(x)
    return (np.uint64(bswap32(x & M32)) << np.uint64(32)) | np.uint64(bswap32(x >> np.uint64(32)))


@njit(cache=True, inline="always")
def le32_ports(sport, dport):
    """The x86 load of two consecutive ovs_be16 fields (struct flow's tp_src, tp_dst)."""
    return bswap16(sport) | (bswap16(dport) << np.uint64(16))


# -- Bob Jenkins lookup3 as in lib/jhash.c ----------------------------------------------

@njit(cache=True, inline="always")
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


@njit(cache=True, inline="always")
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


# -- struct flow fields and the flow hashes (lib/flow.c) ------------------------------

def check_flavour(flavour: str) -> None:
    if flavour not in FLAVOURS:
        raise ValueError(f"flavour must be one of {FLAVOURS}, not {flavour!r}")


@njit(cache=True, inline="always")
def vid_of(r):
    """The VLAN ID a frame carries on the bond (output_normal's out_xvlan.v[0].vid), 0 if
    untagged: the outer tag of the capture."""
    return np.uint64(r.vlan0_tci & 0x0FFF) if r.vlan_n > 0 else np.uint64(0)


@njit(cache=True, inline="always")
def _vids(pk, out):
    for i in range(pk.shape[0]):
        out[i] = vid_of(pk[i])


def bond_vid(packets: np.ndarray) -> np.ndarray:
    """:func:`vid_of` every packet: uint32."""
    out = np.empty(len(packets), U32)
    _vids(packets, out)
    return out


@njit(cache=True, inline="always")
def arp_fields(r):
    """(Ethernet/IPv4 ARP with its fields captured, SPA, TPA, nw_proto) from the raw head
    bytes, as flow_extract reads them (lib/flow.c: nw_proto = opcode if < 256); zeros
    where the ARP is not Ethernet/IPv4."""
    z = np.uint64(0)
    off = 14 + 4 * np.int64(r.vlan_n)
    if not (r.ethertype == ETH_TYPE_ARP and r.mac_ok == MAC_BOTH
            and off + 28 <= min(np.int64(r.caplen), HEAD_BYTES)):
        return False, z, z, z
    b = r.head
    if not (b[off] == 0 and b[off + 1] == 1 and b[off + 2] == 8 and b[off + 3] == 0
            and b[off + 4] == 6 and b[off + 5] == 4):
        return True, z, z, z
    spa, tpa = z, z
    for k in range(4):
        spa = (spa << np.uint64(8)) | np.uint64(b[off + 14 + k])
        tpa = (tpa << np.uint64(8)) | np.uint64(b[off + 24 + k])
    return True, spa, tpa, np.uint64(b[off + 7]) if b[off + 6] == 0 else z


@njit(cache=True, inline="always")
def ports_missing(r, tcp_sctp_only):
    """The hash needs tp_src/tp_dst the capture did not keep (later fragments have none:
    OVS sets them to 0, like the decoder). Protocols: flow_hash_5tuple's TCP, UDP, SCTP,
    ICMP, ICMPv6, or flow_hash_symmetric_l4's TCP, SCTP."""
    p = r.proto
    if tcp_sctp_only:
        wants = p == 6 or p == 132
    else:
        wants = p == 6 or p == 17 or p == 132 or p == 1 or p == 58
    return wants and (r.frag & FRAG_LATER) == 0 and r.depth < DEPTH_TRANSPORT


@njit(cache=True, inline="always")
def flow_hash_5tuple_row(r, basis, sse42):
    """flow_hash_5tuple (lib/flow.c, OVS 2.8+; = miniflow_hash_5tuple): (hash, valid).

    IPv6: the 32 address bytes as four little-endian 64-bit words; IPv4 (and ARP's SPA,
    TPA): the two addresses as little-endian words; then nw_proto, then for TCP, UDP,
    SCTP, ICMP, ICMPv6 the tp_src/tp_dst word (ICMP: type and code). Any other frame:
    finish(basis, 42).
    """
    net = r.depth >= DEPTH_NET
    v4, v6 = net and r.ip_ver == 4, net and r.ip_ver == 6
    arp, spa, tpa, arp_proto = arp_fields(r)
    h = np.uint64(basis) & M32
    if v6:
        for x in (r.src_hi, r.src_lo, r.dst_hi, r.dst_lo):
            h = hash_add64(h, bswap64(x), sse42)
    if v4 or arp:
        src = spa if arp else np.uint64(r.src_lo) & M32
        dst = tpa if arp else np.uint64(r.dst_lo) & M32
        h = hash_add(hash_add(h, bswap32(src), sse42), bswap32(dst), sse42)
    ip = v4 or v6
    proto = arp_proto if arp else np.uint64(r.proto)
    if ip or arp:
        h = hash_add(h, proto, sse42)
        if proto == 6 or proto == 17 or proto == 132 or proto == 1 or proto == 58:
            tp = np.uint64(0)  # ARP: none
            p = r.proto
            if not arp and (p == 1 or p == 58):
                tp = le32_ports(r.icmp_type, r.icmp_code)
            elif not arp and (p == 6 or p == 17 or p == 132):
                tp = le32_ports(r.sport, r.dport)
            h = hash_add(h, tp, sse42)
    valid = (r.depth >= DEPTH_LINK or ip) and not (ip and ports_missing(r, False))
    valid = valid and not (r.ethertype == ETH_TYPE_ARP and not arp)
    return hash_finish(h, 42, sse42), valid


@njit(cache=True, inline="always")
def flow_hash_symmetric_l4_row(r, basis):
    """bond_hash_tcp (ofproto/bond.c, OVS <= 2.7, e.g. XCP-ng 8.2's 2.5.3) =
    flow_hash_symmetric_l4 (lib/flow.c) with vlan_tci := the bond VID: jhash_bytes over

    ``ip_xor[16] | eth_type be16 | vid be16 | port_xor be16 (TCP, SCTP only) | mac_xor[6] |
    ip_proto | 3 zero bytes`` = 8 little-endian words. Needs both MACs.
    """
    net = r.depth >= DEPTH_NET
    v4, v6 = net and r.ip_ver == 4, net and r.ip_ver == 6
    ip = v4 or v6
    z = np.uint64(0)
    w0, w1, w2, w3 = z, z, z, z
    if v6:
        hi = bswap64(np.uint64(r.src_hi) ^ np.uint64(r.dst_hi))
        lo = bswap64(np.uint64(r.src_lo) ^ np.uint64(r.dst_lo))
        w0, w1 = hi & M32, hi >> np.uint64(32)
        w2, w3 = lo & M32, lo >> np.uint64(32)
    if v4:
        w0 |= np.uint64(bswap32((np.uint64(r.src_lo) ^ np.uint64(r.dst_lo)) & M32))
    eth_type = FLOW_DL_TYPE_NONE if r.ethertype == 0 else r.ethertype
    w4 = bswap16(eth_type) | (bswap16(vid_of(r)) << np.uint64(16))
    port_xor = z
    if ip and (r.proto == 6 or r.proto == 132):
        port_xor = np.uint64(r.sport ^ r.dport)
    mac = bswap64(np.uint64(r.src_mac) ^ np.uint64(r.dst_mac)) >> np.uint64(16)  # LE bytes
    w5 = bswap16(port_xor) | ((mac & np.uint64(0xFFFF)) << np.uint64(16))
    w6 = (mac >> np.uint64(16)) & M32
    w7 = np.uint64(r.proto) if ip else z
    valid = r.mac_ok == MAC_BOTH and not (ip and ports_missing(r, True))
    return jhash_words((w0, w1, w2, w3, w4, w5, w6, w7), basis), valid


@njit(cache=True, nogil=True, parallel=True)
def ovs_hash_rows(pk, which, basis, sse42, h, valid, ts, wirelen):
    """One hash of every packet row into ``h`` (uint32) and ``valid`` (bool): HASH_SLB
    (balance-slb's hash_mac of the source MAC and the bond VID; needs the source MAC),
    HASH_5TUPLE or HASH_SYMMETRIC_L4. If ``ts`` and ``wirelen`` are not empty, the rows'
    times and sizes are copied there too (for the serial bucket pass of a bond)."""
    times = ts.shape[0] > 0
    for i in prange(pk.shape[0]):
        r = pk[i]
        if which == HASH_SLB:
            x = hash_mac_scalar(r.src_mac, vid_of(r), basis, sse42)
            ok = (r.mac_ok & MAC_SRC) != 0
        elif which == HASH_5TUPLE:
            x, ok = flow_hash_5tuple_row(r, basis, sse42)
        else:
            x, ok = flow_hash_symmetric_l4_row(r, basis)
        h[i] = np.uint32(x & M32)
        valid[i] = ok
        if times:
            ts[i] = r.ts_ns
            wirelen[i] = r.wirelen


def hash_packets_timed(packets: np.ndarray, which: int, basis: int = 0,
                       flavour: str = "generic"):
    """(hash uint32, valid bool, ts_ns int64, wirelen uint32) of :func:`ovs_hash_rows`."""
    check_flavour(flavour)
    n = len(packets)
    h, valid = np.empty(n, U32), np.empty(n, bool)
    ts, wirelen = np.empty(n, np.int64), np.empty(n, np.uint32)
    if n:
        ovs_hash_rows(packets, which, basis, flavour == "sse42", h, valid, ts, wirelen)
    return h, valid, ts, wirelen


def hash_packets(packets: np.ndarray, which: int, basis: int = 0, flavour: str = "generic"
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(hash uint32, valid bool) of :func:`ovs_hash_rows`."""
    check_flavour(flavour)
    n = len(packets)
    h, valid = np.empty(n, U32), np.empty(n, bool)
    if n:
        none = np.empty(0, np.int64)
        ovs_hash_rows(packets, which, basis, flavour == "sse42", h, valid, none,
                      none.view(np.uint32))
    return h, valid


def flow_hash_5tuple(packets: np.ndarray, basis: int = 0, flavour: str = "generic"
                     ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`flow_hash_5tuple_row` of every packet: (hash, valid)."""
    return hash_packets(packets, HASH_5TUPLE, basis, flavour)


def flow_hash_symmetric_l4(packets: np.ndarray, basis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """:func:`flow_hash_symmetric_l4_row` of every packet: (hash, valid)."""
    return hash_packets(packets, HASH_SYMMETRIC_L4, basis)
