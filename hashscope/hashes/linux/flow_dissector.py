"""The kernel's generic flow dissector, as the Linux bonding hash runs it.

:func:`skb_flow_dissect` is ``__skb_flow_dissect`` (net/core/flow_dissector.c, Linux
5.5 - 6.x) with the bonding key set (``flow_keys_bonding``) and flags 0, which the
encap2+3 and encap3+4 policies use (drivers/net/bonding/bond_main.c). It reads the frame
through the handles of :mod:`hashscope.hashes.frames`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from hashscope.ethertypes import (
    ETHERTYPE_ARP,
    ETHERTYPE_IP,
    ETHERTYPE_IPV6,
    ETHERTYPE_QINQ,
    ETHERTYPE_VLAN,
)
from hashscope.hashes.frames import be16, be32, has, le32, u8

MAX_FLOW_DISSECT_HDRS = 15
ADDR_NONE, ADDR_V4, ADDR_V6, ADDR_TIPC = 0, 4, 6, 7


@njit(cache=True)
def ipv6_addr_hash(f, k):
    """include/net/ipv6.h ipv6_addr_hash: XOR of the address's four raw 32-bit words."""
    return le32(f, k) ^ le32(f, k + 4) ^ le32(f, k + 8) ^ le32(f, k + 12)


@njit(cache=True)
def proto_ports_offset(proto):
    """include/linux/in.h proto_ports_offset."""
    if proto == 6 or proto == 17 or proto == 33 or proto == 50 or proto == 132 or proto == 136:
        return 0
    if proto == 51:
        return 4
    return -1


@njit(cache=True)
def skb_flow_get_ports(f, thoff, ip_proto):
    """net/core/flow_dissector.c __skb_flow_get_ports: the raw ports word, or 0."""
    poff = proto_ports_offset(ip_proto)
    if poff >= 0 and has(f, thoff + poff, 4):
        return le32(f, thoff + poff)
    return np.uint32(0)


@njit(cache=True)
def icmp_has_id(t):
    return t == 0 or t == 8 or t == 13 or t == 14 or t == 128 or t == 129


@njit(cache=True)
def skb_flow_get_icmp_tci(f, thoff, word, era):
    """net/core/flow_dissector.c skb_flow_get_icmp_tci (5.5+; the id in host order 5.12+).

    ``word`` is the current key (type | code << 8 | id << 16), returned unchanged when the
    8-byte ICMP header is not all in the frame, or before 5.5 (``era``: see :mod:`.eras`).
    """
    icmp_mode = (era >> 4) & 3
    if icmp_mode == 0 or not has(f, thoff, 8):
        return word
    t = u8(f, thoff)
    ident = np.uint32(0)
    if icmp_has_id(t):
        ident = be16(f, thoff + 4)
        if icmp_mode == 1:  # 5.5 - 5.11: the raw __be16, i.e. byte-swapped on x86
            ident = ((ident & np.uint32(0xFF)) << np.uint32(8)) | (ident >> np.uint32(8))
        if ident == 0:
            ident = np.uint32(1)
    return t | (u8(f, thoff + 1) << np.uint32(8)) | (ident << np.uint32(16))


@njit(cache=True)
def _gre(f, nhoff):
    """__skb_flow_dissect_gre: (result, proto, nhoff); result 0 bad, 1 good, 2 proto again."""
    if not has(f, nhoff, 4):
        return 0, 0, nhoff
    flags = be16(f, nhoff)
    proto = be16(f, nhoff + 2)
    ver = flags & 7
    if flags & 0x4000 or ver > 1:
        return 1, proto, nhoff
    if ver and not (proto == 0x880B and flags & 0x2000):
        return 1, proto, nhoff
    off = 4
    if flags & 0x8000:
        off += 4
    if flags & 0x2000:
        if not has(f, nhoff + off, 4):
            return 0, proto, nhoff
        off += 4
    if flags & 0x1000:
        off += 4
    if ver == 0:
        if proto == 0x6558:
            if not has(f, nhoff + off, 14):
                return 0, proto, nhoff
            proto = be16(f, nhoff + off + 12)
            off += 14
    else:  # PPTP
        if flags & 0x0080:
            off += 4
        if not has(f, nhoff + off, 4):
            return 0, proto, nhoff
        ppp = be16(f, nhoff + off + 2)
        if ppp == 0x21:
            proto = ETHERTYPE_IP
        elif ppp == 0x57:
            proto = ETHERTYPE_IPV6
        off += 4
    return 2, proto, nhoff + off


@njit(cache=True)
def skb_flow_dissect(f, proto, nhoff, hwtag, era):
    """__skb_flow_dissect with flow_keys_bonding, flags 0 (net/core/flow_dissector.c, 6.1).

    Returns (ok, addr_type, src word, dst word, ports word, icmp word). ``hwtag``: the skb
    carries an out-of-band VLAN tag (the first VLAN case then takes skb->protocol). ``era``:
    the kernel profile code (before 5.5 the bonding key set has no ICMP key).
    """
    at, src, dst = ADDR_NONE, np.uint32(0), np.uint32(0)
    ports, icmp = np.uint32(0), np.uint32(0)
    ip_proto = 0
    is_frag = False
    vlan_seen = 0
    hdrs = 0
    stage = 0  # 0: proto switch, 1: ip_proto switch
    while True:
        if stage == 0:
            fd = 0  # 0 continue, 1 good, 2 proto again, 4 bad
            if proto == ETHERTYPE_IP:
                if not has(f, nhoff, 20) or (u8(f, nhoff) & 15) < 5:
                    return False, at, src, dst, ports, icmp
                ip_proto = u8(f, nhoff + 9)
                at, src, dst = ADDR_V4, le32(f, nhoff + 12), le32(f, nhoff + 16)
                frag = be16(f, nhoff + 6)
                nhoff += (u8(f, nhoff) & 15) * 4
                if frag & 0x3FFF:
                    is_frag = True
                    fd = 1
            elif proto == ETHERTYPE_IPV6:
                if not has(f, nhoff, 40):
                    return False, at, src, dst, ports, icmp
                ip_proto = u8(f, nhoff + 6)
                at = ADDR_V6
                src, dst = ipv6_addr_hash(f, nhoff + 8), ipv6_addr_hash(f, nhoff + 24)
                nhoff += 40
            elif proto == ETHERTYPE_VLAN or proto == ETHERTYPE_QINQ:
                if not (vlan_seen == 0 and hwtag) and vlan_seen < 2:
                    if not has(f, nhoff, 4):
                        return False, at, src, dst, ports, icmp
                    proto = be16(f, nhoff + 2)
                    nhoff += 4
                vlan_seen += 1
                fd = 2
            elif proto == 0x8864:  # PPPoE session
                if not has(f, nhoff, 8):
                    return False, at, src, dst, ports, icmp
                ppp = be16(f, nhoff + 6)
                nhoff += 8
                if ppp == 0x21:
                    proto, fd = ETHERTYPE_IP, 2
                elif ppp == 0x57:
                    proto, fd = ETHERTYPE_IPV6, 2
                else:
                    return False, at, src, dst, ports, icmp
            elif proto == 0x88CA:  # TIPC: the source node (w[3]) as the only address word
                if not has(f, nhoff, 16):
                    return False, at, src, dst, ports, icmp
                if be32(f, nhoff) & 0x0E080000 == 0x0E080000:
                    f[4][0] = 1  # keepalive: the kernel uses random bytes
                at, src, dst, fd = ADDR_TIPC, le32(f, nhoff + 12), np.uint32(0), 1
            elif proto == 0x8847 or proto == 0x8848 or proto == ETHERTYPE_ARP or proto == 0x8035:
                fd = 1  # MPLS and ARP keys are not in the bonding key set: success, no keys
            elif proto == 0x8906:  # FCoE
                if f[3] - nhoff < 38:
                    return False, at, src, dst, ports, icmp
                fd = 1
            else:
                return False, at, src, dst, ports, icmp
            if fd == 1:
                return True, at, src, dst, ports, icmp
            if fd == 2:
                hdrs += 1
                if hdrs > MAX_FLOW_DISSECT_HDRS:
                    return True, at, src, dst, ports, icmp
                continue
            stage = 1
        # ip_proto switch
        fd = 0  # 0 continue, 1 good, 2 proto again, 3 ip_proto again
        if ip_proto == 47:
            res, p2, n2 = _gre(f, nhoff)
            if res == 0:
                return False, at, src, dst, ports, icmp
            if res == 2:
                proto, nhoff, fd = p2, n2, 2
            else:
                fd = 1
        elif (ip_proto == 0 or ip_proto == 43 or ip_proto == 60) and proto == ETHERTYPE_IPV6:
            if not has(f, nhoff, 2):
                return False, at, src, dst, ports, icmp
            ip_proto = u8(f, nhoff)
            nhoff += (u8(f, nhoff + 1) + 1) * 8
            fd = 3
        elif ip_proto == 44 and proto == ETHERTYPE_IPV6:
            if not has(f, nhoff, 8):
                return False, at, src, dst, ports, icmp
            is_frag = True
            ip_proto = u8(f, nhoff)
            nhoff += 8
            fd = 1
        elif ip_proto == 4:
            proto, fd = ETHERTYPE_IP, 2
        elif ip_proto == 41:
            proto, fd = ETHERTYPE_IPV6, 2
        elif ip_proto == 137:
            proto, fd = 0x8847, 2
        elif ip_proto == 1 or ip_proto == 58:
            icmp = skb_flow_get_icmp_tci(f, nhoff, icmp, era)
        if not is_frag:
            ports = skb_flow_get_ports(f, nhoff, ip_proto)
        if fd == 2 or fd == 3:
            hdrs += 1
            if hdrs > MAX_FLOW_DISSECT_HDRS:
                return True, at, src, dst, ports, icmp
            stage = 0 if fd == 2 else 1
            continue
        return True, at, src, dst, ports, icmp
