"""Open vSwitch's flow hashes over the packet table (lib/flow.c), compiled.

The hashes of the bond modes: balance-tcp's :func:`flow_hash_5tuple` (OVS 2.8+) and
:func:`flow_hash_symmetric_l4` (before), and balance-slb's :func:`hash_mac` of a frame's
source MAC and VLAN. :func:`ovs_hash_rows` runs one of them over every row on all cores
and returns (hash, valid).

OVS hashes *memory words*: a field stored in network order (an address, a port) is
loaded little-endian on x86, i.e. its column value (the network-order number) is
byte-swapped first; :func:`~hashscope.hashes.words.bswap16` and friends say so where
they happen.
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
from hashscope.ethertypes import ETHERTYPE_ARP
from hashscope.hashes.words import M32, bswap16, bswap32, bswap64

from .hash import (
    FLAVOURS,
    U32,
    hash_add,
    hash_add64,
    hash_finish,
    hash_mac_scalar,
    jhash_words,
)

FLOW_DL_TYPE_NONE = 0x05FF  #: struct flow's dl_type of an 802.3 length frame
MAC_BOTH = MAC_DST | MAC_SRC
#: which hash :func:`ovs_hash_rows` computes
HASH_SLB, HASH_5TUPLE, HASH_SYMMETRIC_L4 = 0, 1, 2


@njit(cache=True)
def le32_ports(sport, dport):
    """The x86 load of two consecutive ovs_be16 fields (struct flow's tp_src, tp_dst)."""
    return bswap16(sport) | (bswap16(dport) << np.uint64(16))


# -- struct flow fields and the flow hashes (lib/flow.c) ------------------------------

def check_flavour(flavour: str) -> None:
    if flavour not in FLAVOURS:
        raise ValueError(f"flavour must be one of {FLAVOURS}, not {flavour!r}")


@njit(cache=True)
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


@njit(cache=True)
def arp_fields(r):
    """(Ethernet/IPv4 ARP with its fields captured, SPA, TPA, nw_proto) from the raw head
    bytes, as flow_extract reads them (lib/flow.c: nw_proto = opcode if < 256); zeros
    where the ARP is not Ethernet/IPv4."""
    z = np.uint64(0)
    off = 14 + 4 * np.int64(r.vlan_n)
    if not (r.ethertype == ETHERTYPE_ARP and r.mac_ok == MAC_BOTH
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


@njit(cache=True)
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


@njit(cache=True)
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
    valid = valid and not (r.ethertype == ETHERTYPE_ARP and not arp)
    return hash_finish(h, 42, sse42), valid


@njit(cache=True)
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
