"""IPv4 and IPv6 headers (with the IPv6 extension-header chain) and transport fields."""

from __future__ import annotations

import numpy as np
from numba import njit

from hashscope.columns import (
    EXT_DSTOPTS,
    EXT_FRAGMENT,
    EXT_HOPOPTS,
    EXT_OTHER,
    EXT_ROUTING,
    FRAG_ANY,
    FRAG_LATER,
    FRAG_MORE,
)

from .fields import be16, be32, be64

MAX_EXT_HEADERS = 8

# IPv6 extension headers walked to reach the upper-layer header.
HOPOPTS, ROUTING, FRAGMENT, DSTOPTS, AH, MOBILITY, HIP, SHIM6 = 0, 43, 44, 60, 51, 135, 139, 140


@njit(cache=True, inline="always")
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


@njit(cache=True, inline="always")
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


@njit(cache=True, inline="always")
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


@njit(cache=True, inline="always")
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


@njit(cache=True, inline="always")
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
