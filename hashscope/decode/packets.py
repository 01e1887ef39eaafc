"""Decoding captured frames into the packet table (:data:`columns.PACKET_DTYPE`).

One compiled pass per batch, no Python per packet. Each layer is a small
function that reads only bytes inside the captured length; where the bytes
run out, decoding stops and the packet's ``cut`` flag says so.

The layer functions (here, in link.py and ip.py) are inlined into
:func:`decode_packet` (``inline="always"``): a compiled call that takes an array
argument adjusts the array's reference count on the way in and out, and with one
such call per layer those atomic updates cost more than the decoding itself.
``decode_packet`` itself stays one call per frame (inlining it too would multiply
the compile time for little gain).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from hashscope.capture.records import RecordBatch
from hashscope.columns import (
    DEPTH_INNER_NET,
    DEPTH_INNER_TRANSPORT,
    DEPTH_LINK,
    DEPTH_NET,
    DEPTH_NONE,
    DEPTH_TRANSPORT,
    EXT_OTHER,
    FRAG_LATER,
    HEAD_BYTES,
    INNER_GRE,
    INNER_GRE_ETH,
    INNER_ICMP_ERROR,
    INNER_IP_IN_IP,
    PACKET_DTYPE,
)
from hashscope.prefetch import prefetch

from .fields import be16, be32
from .ip import ip_layer, transport, transport_needs
from .link import link_header_len, link_layer

ICMP_ERRORS_V4 = (3, 4, 5, 11, 12)
ICMP_ERRORS_V6 = (1, 2, 3, 4)
#: How many frames ahead the batch loops prefetch (the records' offsets are known).
PREFETCH_AHEAD = 4


@njit(cache=True, inline="always")
def prefetch_frame(data, offset, i, n):
    """Prefetch the headers (2 cache lines) of frame ``i + PREFETCH_AHEAD``, if any."""
    if i + PREFETCH_AHEAD < n:
        p = offset[i + PREFETCH_AHEAD]
        prefetch(data, p)
        prefetch(data, min(p + 64, data.shape[0] - 1))


@njit(cache=True, inline="always")
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


@njit(cache=True, inline="always")
def inner_network(b, p, end, etype, r):
    """Decode the inner IPv4/IPv6 header at p into the inner_* fields (as network_layer)."""
    ok, l4, ver, sh, sl, dh, dl, _hl, _tl, _ttl, frag, _fo, flow, _nh0, _ext, proto = \
        ip_layer(b, p, end, etype)
    if ok:
        r.inner_ver, r.inner_src_hi, r.inner_src_lo = ver, sh, sl
        r.inner_dst_hi, r.inner_dst_lo = dh, dl
        r.inner_ip6_flow, r.inner_frag, r.inner_proto = flow, frag, proto
    return ok, l4


@njit(cache=True, inline="always")
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


@njit(cache=True, nogil=True, parallel=True)
def decode_batch(data, offset, caplen, wirelen, ts_ns, iface, direction, linktype_of_iface,
                 out, head):
    """Decode every record of a batch into the structured array ``out`` (on all cores).

    ``head`` is ``out["head"]``, the raw-bytes column, as a 2-D view.
    """
    n = offset.shape[0]
    for i in prange(n):
        prefetch_frame(data, offset, i, n)
        r = out[i]
        decode_row(data, offset, caplen, wirelen, ts_ns, iface, linktype_of_iface, i, r,
                   head[i])
        r.direction = direction[i]


@njit(cache=True, inline="always")
def decode_row(data, offset, caplen, wirelen, ts_ns, iface, linktype_of_iface, i, r, head):
    """Record i of a batch into the zeroed row ``r`` (``head``: its raw-bytes field)."""
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
        head[k] = data[p + k]
    depth, cut = decode_packet(data, p, end, linktype_of_iface[iface[i]], r)
    r.depth = depth
    r.cut = 1 if cut else 0


def decode(batch: RecordBatch, linktype_of_iface: np.ndarray) -> np.ndarray:
    """Decode a record batch into a new packet table (structured array, PACKET_DTYPE)."""
    out = np.zeros(len(batch), dtype=PACKET_DTYPE)
    decode_batch(batch.data, batch.offset, batch.caplen, batch.wirelen, batch.ts_ns,
                 batch.iface, batch.direction, linktype_of_iface, out, out["head"])
    return out
