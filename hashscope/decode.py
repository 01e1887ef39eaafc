"""Decoding captured frames into the packet table (:data:`columns.PACKET_DTYPE`).

One compiled pass per batch, no Python per packet. Each layer is a small
function that reads only bytes inside the captured length; where the bytes
run out, decoding stops and the packet's ``cut`` flag says so.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from . import linktypes as lt
from .columns import (
    DEPTH_INNER_NET,
    DEPTH_INNER_TRANSPORT,
    DEPTH_LINK,
    DEPTH_NET,
    DEPTH_NONE,
    DEPTH_TRANSPORT,
    EXT_DSTOPTS,
    EXT_FRAGMENT,
    EXT_HOPOPTS,
    EXT_OTHER,
    EXT_ROUTING,
    FRAG_ANY,
    FRAG_LATER,
    FRAG_MORE,
    HEAD_BYTES,
    INNER_GRE,
    INNER_GRE_ETH,
    INNER_ICMP_ERROR,
    INNER_IP_IN_IP,
    MAC_DST,
    MAC_SRC,
    PACKET_DTYPE,
)
from .records import RecordBatch

VLAN_TPIDS = (0x8100, 0x88A8, 0x9100, 0x9200)
MAX_TAGS = 8
MAX_EXT_HEADERS = 8
MAX_MPLS_LABELS = 8

# IPv6 extension headers walked to reach the upper-layer header.
HOPOPTS, ROUTING, FRAGMENT, DSTOPTS, AH, MOBILITY, HIP, SHIM6 = 0, 43, 44, 60, 51, 135, 139, 140

ICMP_ERRORS_V4 = (3, 4, 5, 11, 12)
ICMP_ERRORS_V6 = (1, 2, 3, 4)


# Field readers return int64 (uint64 for 48/64 bits) so that every branch of a
# decoder returns the same types (numba would otherwise unify mixed ints to float).
@njit(cache=True, inline="always")
def be16(b, p):
    return (np.int64(b[p]) << 8) | np.int64(b[p + 1])


@njit(cache=True, inline="always")
def be32(b, p):
    return (np.int64(b[p]) << 24) | (np.int64(b[p + 1]) << 16) | (np.int64(b[p + 2]) << 8) | \
        np.int64(b[p + 3])


@njit(cache=True, inline="always")
def be48(b, p):
    return (np.uint64(be16(b, p)) << np.uint64(32)) | np.uint64(be32(b, p + 2))


@njit(cache=True, inline="always")
def be64(b, p):
    return (np.uint64(be32(b, p)) << np.uint64(32)) | np.uint64(be32(b, p + 4))


@njit(cache=True)
def ipv4_header(b, p, end):
    """The IPv4 header at p: (ok, hlen, proto, src, dst, frag bits, frag offset, len, ttl).

    ok is False if the 20-byte fixed header is not all captured.
    """
    if p + 20 > end:
        return False, 0, 0, np.uint64(0), np.uint64(0), 0, 0, 0, 0
    hlen = np.int64(b[p] & 0x0F) * 4
    flags_off = be16(b, p + 6)
    frag = 0
    if flags_off & 0x3FFF:
        frag = FRAG_ANY
        if flags_off & 0x2000:
            frag |= FRAG_MORE
        if flags_off & 0x1FFF:
            frag |= FRAG_LATER
    return (True, hlen, np.int64(b[p + 9]), np.uint64(be32(b, p + 12)),
            np.uint64(be32(b, p + 16)), frag, flags_off & 0x1FFF, be16(b, p + 2),
            np.int64(b[p + 8]))


@njit(cache=True)
def ipv6_header(b, p, end):
    """The IPv6 header at p and its extension-header chain.

    Returns (ok, hlen, first next header, upper protocol, ext bits, src hi, src lo,
    dst hi, dst lo, flow label, frag bits, frag offset, payload len + 40, hop limit,
    chain complete). hlen covers the extension headers walked; "chain complete" is
    False when the chain ran past the captured bytes.
    """
    z = np.uint64(0)
    if p + 40 > end:
        return False, 0, 0, 0, 0, z, z, z, z, 0, 0, 0, 0, 0, False
    flow = be32(b, p) & 0xFFFFF
    nh0 = np.int64(b[p + 6])
    nh = nh0
    q = p + 40
    ext = 0
    frag = 0
    frag_off = 0
    complete = True
    for _ in range(MAX_EXT_HEADERS):
        if nh == HOPOPTS or nh == ROUTING or nh == DSTOPTS:
            if q + 2 > end:
                complete = False
                break
            ext |= EXT_HOPOPTS if nh == HOPOPTS else (EXT_ROUTING if nh == ROUTING else
                                                      EXT_DSTOPTS)
            nh = np.int64(b[q])
            q += (np.int64(b[q + 1]) + 1) * 8
        elif nh == FRAGMENT:
            if q + 8 > end:
                complete = False
                break
            ext |= EXT_FRAGMENT
            fo = be16(b, q + 2)
            frag = FRAG_ANY
            if fo & 1:
                frag |= FRAG_MORE
            frag_off = fo >> 3
            if frag_off:
                frag |= FRAG_LATER
            nh = np.int64(b[q])
            q += 8
            if frag_off:
                break
        elif nh == MOBILITY or nh == HIP or nh == SHIM6:
            ext |= EXT_OTHER
            break
        else:
            break
    return (True, q - p, nh0, nh, ext, be64(b, p + 8), be64(b, p + 16), be64(b, p + 24),
            be64(b, p + 32), flow, frag, frag_off, be16(b, p + 4) + 40, np.int64(b[p + 7]),
            complete)


@njit(cache=True)
def transport(b, p, end, proto):
    """Transport fields at p: (ok, sport, dport, spi, icmp type, code, id, tcp flags).

    ok is True when the fields the protocol defines for hashing (4 bytes of ports,
    the SPI, the ICMP type and code) are captured; False for other protocols too
    (then nothing was cut: see :func:`transport_needs`).
    """
    if proto == 6 or proto == 17 or proto == 33 or proto == 132 or proto == 136:
        if p + 4 > end:
            return False, 0, 0, 0, 0, 0, 0, 0
        flags = np.int64(b[p + 13]) if proto == 6 and p + 14 <= end else 0
        return True, be16(b, p), be16(b, p + 2), 0, 0, 0, 0, flags
    if proto == 50:  # ESP: SPI first
        if p + 4 > end:
            return False, 0, 0, 0, 0, 0, 0, 0
        return True, 0, 0, be32(b, p), 0, 0, 0, 0
    if proto == 51:  # AH: SPI after next header, length, reserved
        if p + 8 > end:
            return False, 0, 0, 0, 0, 0, 0, 0
        return True, 0, 0, be32(b, p + 4), 0, 0, 0, 0
    if proto == 1 or proto == 58:
        if p + 2 > end:
            return False, 0, 0, 0, 0, 0, 0, 0
        ident = be16(b, p + 4) if p + 6 <= end else 0
        return True, 0, 0, 0, np.int64(b[p]), np.int64(b[p + 1]), ident, 0
    if proto == 47:  # GRE: its fields are decoded by gre_payload
        return p + 4 <= end, 0, 0, 0, 0, 0, 0, 0
    return False, 0, 0, 0, 0, 0, 0, 0


@njit(cache=True)
def transport_needs(proto):
    """Bytes of the transport header the decoder reads for ``proto`` (0: none)."""
    if proto == 6 or proto == 17 or proto == 33 or proto == 132 or proto == 136 or proto == 50:
        return 4
    if proto == 51:
        return 8
    if proto == 1 or proto == 58:
        return 2
    if proto == 47:  # GRE: flags and protocol type
        return 4
    return 0


@njit(cache=True)
def link_layer(b, p, end, linktype, r):
    """Decode the link-layer header; returns (network type, offset of the network header).

    The network type is an ethertype (0x0800, 0x86dd, ...), or 0 when none.
    """
    if linktype == lt.ETHERNET:
        if p + 14 > end:
            return 0, -1
        r.mac_ok = MAC_DST | MAC_SRC
        r.dst_mac = be48(b, p)
        r.src_mac = be48(b, p + 6)
        etype = be16(b, p + 12)
        r.eth_type = etype
        return ethertype_chain(b, p + 14, end, etype, r)
    if linktype == lt.LINUX_SLL or linktype == lt.LINUX_SLL2:
        hdr = 16 if linktype == lt.LINUX_SLL else 20
        if p + hdr > end:
            return 0, -1
        if linktype == lt.LINUX_SLL:
            r.pkttype = b[p + 1]
            hatype = be16(b, p + 2)
            halen = be16(b, p + 4)
            addr = p + 6
            etype = be16(b, p + 14)
        else:
            etype = be16(b, p)
            r.ll_ifindex = np.int32(be32(b, p + 4))
            hatype = be16(b, p + 8)
            r.pkttype = b[p + 10]
            halen = b[p + 11]
            addr = p + 12
        if hatype == 1 and halen == 6:  # ARPHRD_ETHER: the source MAC
            r.mac_ok = MAC_SRC
            r.src_mac = be48(b, addr)
        r.eth_type = etype
        if etype < 0x0600:  # Linux-specific pseudo protocols (802.2, 802.3 raw, CAN, ...)
            r.ethertype = 0
            return 0, -1
        return ethertype_chain(b, p + hdr, end, etype, r)
    if linktype == lt.NULL or linktype == lt.LOOP:
        if p + 4 > end:
            return 0, -1
        fam = be32(b, p)
        if linktype == lt.NULL and fam > 0xFFFF:  # written in little-endian host order
            fam = (fam >> 24) | ((fam >> 8) & 0xFF00)
        if fam == 2:
            r.ethertype = 0x0800
            return 0x0800, p + 4
        if fam == 10 or fam == 23 or fam == 24 or fam == 28 or fam == 30:
            r.ethertype = 0x86DD
            return 0x86DD, p + 4
        return 0, -1
    if linktype == lt.RAW or linktype == lt.RAW_DLT12 or linktype == lt.RAW_DLT14 or \
            linktype == lt.IPV4 or linktype == lt.IPV6:
        if p >= end:
            return 0, -1
        # the version nibble decides, as in tshark, even for the IPv4-only and IPv6-only
        # link types (captures exist whose link type says IPv4 and whose packets are IPv6)
        v = b[p] >> 4
        if v == 4 or (v != 6 and linktype == lt.IPV4):
            r.ethertype = 0x0800
            return 0x0800, p
        if v == 6 or linktype == lt.IPV6:
            r.ethertype = 0x86DD
            return 0x86DD, p
        return 0, -1
    return -1, -1  # not a link type we decode


@njit(cache=True)
def ethertype_chain(b, p, end, etype, r):
    """VLAN tags, PPPoE session and MPLS after an ethertype: (network type, offset).

    The offset is -1 when the frame carries no IP, -2 when its headers were cut short.
    """
    n = 0
    while (etype == 0x8100 or etype == 0x88A8 or etype == 0x9100 or etype == 0x9200) and \
            n < MAX_TAGS:
        if p + 4 > end:
            r.vlan_n = n
            r.ethertype = etype
            return 0, -2
        tci = be16(b, p)
        if n == 0:
            r.vlan0_tpid = etype
            r.vlan0_tci = tci
        elif n == 1:
            r.vlan1_tpid = etype
            r.vlan1_tci = tci
        n += 1
        etype = be16(b, p + 2)
        p += 4
    r.vlan_n = n
    r.ethertype = etype if etype >= 0x0600 else 0
    if etype == 0x0800 or etype == 0x86DD:
        return etype, p
    if etype == 0x8864:  # PPPoE session: 6-byte header, then the PPP protocol
        if p + 8 > end:
            return 0, -2
        ppp = be16(b, p + 6)
        if ppp == 0x0021:
            return 0x0800, p + 8
        if ppp == 0x0057:
            return 0x86DD, p + 8
        return 0, -1
    if etype == 0x8847 or etype == 0x8848:  # MPLS: payload after the bottom-of-stack label
        for _ in range(MAX_MPLS_LABELS):
            if p + 4 > end:
                return 0, -2
            bos = b[p + 2] & 1
            p += 4
            if bos:
                if p < end and b[p] >> 4 == 4:
                    return 0x0800, p
                if p < end and b[p] >> 4 == 6:
                    return 0x86DD, p
                return 0, -1
    return 0, -1


@njit(cache=True)
def ip_layer(b, p, end, etype):
    """An IPv4 or IPv6 header at p, in one shape for both families.

    Returns (ok, absolute offset of the transport header or -1, version, src hi,
    src lo, dst hi, dst lo, header length, total length, ttl, frag bits, frag
    offset, flow label, first next header, ext bits, upper protocol). ok is
    False when the fixed header is not all captured (or etype is not IP).
    """
    z = np.uint64(0)
    if etype == 0x0800:
        ok, hlen, proto, src, dst, frag, foff, tlen, ttl = ipv4_header(b, p, end)
        l4 = p + hlen if ok and hlen >= 20 and not frag & FRAG_LATER else -1
        return ok, l4, 4, z, src, z, dst, hlen, tlen, ttl, frag, foff, 0, proto, 0, proto
    if etype == 0x86DD:
        ok, hlen, nh0, proto, ext, sh, sl, dh, dl, flow, frag, foff, tlen, hop, whole = \
            ipv6_header(b, p, end)
        l4 = p + hlen if ok and whole and not frag & FRAG_LATER and not ext & EXT_OTHER else -1
        return ok, l4, 6, sh, sl, dh, dl, hlen, tlen, hop, frag, foff, flow, nh0, ext, proto
    return False, -1, 0, z, z, z, z, 0, 0, 0, 0, 0, 0, 0, 0, 0


@njit(cache=True)
def network_layer(b, p, end, etype, r):
    """Decode IPv4/IPv6 at p into the outer network fields.

    Returns (header whole?, absolute offset of the transport header or -1).
    """
    ok, l4, ver, sh, sl, dh, dl, hlen, tlen, ttl, frag, foff, flow, nh0, ext, proto = \
        ip_layer(b, p, end, etype)
    if ok:
        r.ip_ver, r.src_hi, r.src_lo, r.dst_hi, r.dst_lo = ver, sh, sl, dh, dl
        r.ip_hlen, r.ip_len, r.ip_ttl, r.frag, r.frag_off = hlen, tlen, ttl, frag, foff
        r.ip6_flow, r.ip6_nh, r.ip6_ext, r.proto = flow, nh0, ext, proto
    return ok, l4


@njit(cache=True)
def inner_network(b, p, end, etype, r):
    """Decode the inner IPv4/IPv6 header at p into the inner_* fields (as network_layer)."""
    ok, l4, ver, sh, sl, dh, dl, _hl, _tl, _ttl, frag, _fo, flow, _nh0, _ext, proto = \
        ip_layer(b, p, end, etype)
    if ok:
        r.inner_ver, r.inner_src_hi, r.inner_src_lo = ver, sh, sl
        r.inner_dst_hi, r.inner_dst_lo = dh, dl
        r.inner_ip6_flow, r.inner_frag, r.inner_proto = flow, frag, proto
    return ok, l4


@njit(cache=True)
def gre_payload(b, p, end, r):
    """GRE header at p: (inner network type, offset of the inner header), or (0, -1)."""
    if p + 4 > end:
        return 0, -1
    flags = be16(b, p)
    proto = be16(b, p + 2)
    r.gre_flags = flags
    r.gre_proto = proto
    if flags & 0x0007 != 0 or flags & 0x4000:  # version 1 (PPTP) or source routing
        return 0, -1
    q = p + 4
    if flags & 0x8000:  # checksum + reserved
        q += 4
    if flags & 0x2000:  # key
        if q + 4 > end:
            return 0, -1
        r.gre_key = be32(b, q)
        q += 4
    if flags & 0x1000:  # sequence number
        q += 4
    if proto == 0x6558:  # transparent Ethernet bridging: skip the inner Ethernet header
        if q + 14 > end:
            return 0, -1
        r.inner = INNER_GRE_ETH
        etype = be16(b, q + 12)
        q += 14
        while etype == 0x8100 or etype == 0x88A8:
            if q + 4 > end:
                return 0, -1
            etype = be16(b, q + 2)
            q += 4
        return etype, q
    r.inner = INNER_GRE
    return proto, q


@njit(cache=True)
def decode_packet(b, p, end, linktype, r):
    """Decode one frame b[p:end] into record r; returns (depth reached, cut short?)."""
    etype, l3 = link_layer(b, p, end, linktype, r)
    if etype < 0:
        return DEPTH_NONE, False
    if l3 < 0:
        if end - p < link_header_len(linktype):
            return DEPTH_NONE, True
        return DEPTH_LINK, l3 == -2  # -2: a tag, PPPoE or MPLS header ran out
    r.l3_off = l3 - p
    ok, l4 = network_layer(b, l3, end, etype, r)
    if not ok:
        return DEPTH_LINK, True
    if l4 < 0:
        # no transport header: a later fragment, an unwalked extension, or the chain ran out
        return DEPTH_NET, r.ip_ver == 6 and not r.frag & FRAG_LATER and \
            not r.ip6_ext & EXT_OTHER
    r.l4_off = l4 - p
    proto = r.proto
    if transport_needs(proto):
        ok, sp, dp, spi, it, ic, iid, fl = transport(b, l4, end, proto)
        if not ok:
            return DEPTH_NET, True
        r.sport, r.dport, r.spi, r.icmp_type, r.icmp_code, r.icmp_id, r.tcp_flags = \
            sp, dp, spi, it, ic, iid, fl
    elif proto != 4 and proto != 41:
        return DEPTH_NET, False  # a protocol without transport fields (OSPF, PIM, ...)
    # inner header: IP-in-IP, GRE, or the header an ICMP error carries
    inner_type = 0
    q = -1
    if proto == 4 or proto == 41:
        r.inner = INNER_IP_IN_IP
        inner_type = 0x0800 if proto == 4 else 0x86DD
        q = l4
    elif proto == 47:
        inner_type, q = gre_payload(b, l4, end, r)
        if q < 0:
            return DEPTH_TRANSPORT, l4 + 4 > end or (r.gre_flags & 0x2000 and l4 + 12 > end)
    elif (proto == 1 and r.ip_ver == 4 and r.icmp_type in ICMP_ERRORS_V4) or \
            (proto == 58 and r.ip_ver == 6 and r.icmp_type in ICMP_ERRORS_V6):
        r.inner = INNER_ICMP_ERROR
        inner_type = 0x0800 if proto == 1 else 0x86DD
        q = l4 + 8
    if q < 0:
        return DEPTH_TRANSPORT, False
    r.inner_l3_off = q - p
    ok, l4 = inner_network(b, q, end, inner_type, r)
    if not ok:
        return DEPTH_TRANSPORT, inner_type == 0x0800 or inner_type == 0x86DD
    if l4 < 0:
        return DEPTH_INNER_NET, False
    r.inner_l4_off = l4 - p
    if not transport_needs(r.inner_proto):
        return DEPTH_INNER_NET, False
    ok, sp, dp, spi, it, ic, iid, fl = transport(b, l4, end, r.inner_proto)
    if not ok:
        return DEPTH_INNER_NET, True
    r.inner_sport, r.inner_dport, r.inner_spi = sp, dp, spi
    r.inner_icmp_type, r.inner_icmp_code, r.inner_icmp_id, r.inner_tcp_flags = it, ic, iid, fl
    return DEPTH_INNER_TRANSPORT, False


@njit(cache=True)
def link_header_len(linktype):
    """Length of the fixed link-layer header of a link type."""
    if linktype == lt.ETHERNET:
        return 14
    if linktype == lt.LINUX_SLL:
        return 16
    if linktype == lt.LINUX_SLL2:
        return 20
    if linktype == lt.NULL or linktype == lt.LOOP:
        return 4
    return 1


@njit(cache=True, nogil=True, parallel=True)
def decode_batch(data, offset, caplen, wirelen, ts_ns, iface, linktype_of_iface, out, head):
    """Decode every record of a batch into the structured array ``out`` (on all cores).

    ``head`` is ``out["head"]``, the raw-bytes column, as a 2-D view.
    """
    for i in prange(offset.shape[0]):
        r = out[i]
        p = offset[i]
        end = p + caplen[i]
        r.ts_ns = ts_ns[i]
        r.wirelen = wirelen[i]
        r.caplen = caplen[i]
        r.iface = iface[i]
        r.pkttype = -1
        r.ll_ifindex = -1
        r.l3_off = -1
        r.l4_off = -1
        r.inner_l3_off = -1
        r.inner_l4_off = -1
        for k in range(min(caplen[i], HEAD_BYTES)):
            head[i, k] = data[p + k]
        depth, cut = decode_packet(data, p, end, linktype_of_iface[iface[i]], r)
        r.depth = depth
        r.cut = 1 if cut else 0


def decode(batch: RecordBatch, linktype_of_iface: np.ndarray) -> np.ndarray:
    """Decode a record batch into a new packet table (structured array, PACKET_DTYPE)."""
    out = np.zeros(len(batch), dtype=PACKET_DTYPE)
    decode_batch(batch.data, batch.offset, batch.caplen, batch.wirelen, batch.ts_ns,
                 batch.iface, linktype_of_iface, out, out["head"])
    return out
