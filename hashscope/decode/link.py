"""Link-layer headers: Ethernet, Linux cooked v1/v2, BSD loopback, raw IP; then VLAN
tags (802.1Q, 802.1ad, at any depth), PPPoE sessions and MPLS label stacks."""

from __future__ import annotations

import numpy as np
from numba import njit

from hashscope.capture import linktypes as lt
from hashscope.columns import MAC_DST, MAC_SRC

from .fields import be16, be32, be48

MAX_TAGS = 8
MAX_MPLS_LABELS = 8


@njit(cache=True, inline="always")
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


@njit(cache=True, inline="always")
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


@njit(cache=True, inline="always")
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
