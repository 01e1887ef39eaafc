"""The Linux bonding transmit hash (xmit_hash_policy), as the 5.18+ / 6.x kernels compute it.

Reproduces ``bond_xmit_hash`` of drivers/net/bonding/bond_main.c (Linux 5.18 and later;
checked bit for bit against vectors from the real 6.1 kernel) for the balance-xor and
802.3ad modes: the slave is ``usable_slaves[hash % n]``.

The kernel XORs raw network-order header bytes loaded as little-endian words (x86), so
an address column value (network-order number) is byte-swapped to get the kernel's u32,
and the ports word is the little-endian load of the 4 port bytes.

Per packet, the irregular header walks run in one compiled loop (numba) over the frame
bytes rebuilt by :func:`hashscope.hashes.frames.frame_view`; the building blocks below are
named after the kernel functions they reproduce.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from hashscope.errors import HashscopeError
from hashscope.ethertypes import ETHERTYPE_IP, ETHERTYPE_IPV6, ETHERTYPE_QINQ, ETHERTYPE_VLAN
from hashscope.hashes.frames import be16, check_vlan_mode, has, hash_remaining, head_be16, le32, u8

from .eras import KernelProfile, kernel_profile
from .fast import fast_hash
from .flow_dissector import (
    ADDR_TIPC,
    ADDR_V4,
    ADDR_V6,
    ipv6_addr_hash,
    proto_ports_offset,
    skb_flow_dissect,
    skb_flow_get_icmp_tci,
    skb_flow_get_ports,
)
from .if_bonding import ENCAP23, ENCAP34, LAYER2, LAYER23, LAYER34, POLICIES, VLAN_SRCMAC


@njit(cache=True)
def bond_eth_hash(f, era):
    """bond_eth_hash (bond_main.c): dst MAC[5] ^ src MAC[5] ^ the type; 0 if short.

    The type term by era: 5.15+ be16_to_cpu(h_proto) (IPv4: 0x0800); 3.15 - 5.14 the raw
    __be16 loaded on x86 (IPv4: 0x0008); 3.13 - 3.14 none.
    """
    if not has(f, 0, 14):
        return np.uint32(0)
    h = u8(f, 5) ^ u8(f, 11)
    eth_mode = era & 3
    if eth_mode == 2:
        h ^= be16(f, 12)
    elif eth_mode == 1:
        h ^= u8(f, 12) | (u8(f, 13) << np.uint32(8))
    return h


@njit(cache=True)
def bond_vlan_srcmac_hash(f, tci):
    """bond_vlan_srcmac_hash (bond_main.c, 5.12+): out-of-band TCI ^ src MAC[0:3] ^ MAC[3:6]."""
    if not has(f, 0, 14):
        return np.uint32(0)
    vendor = (u8(f, 6) << np.uint32(16)) | (u8(f, 7) << np.uint32(8)) | u8(f, 8)
    dev = (u8(f, 9) << np.uint32(16)) | (u8(f, 10) << np.uint32(8)) | u8(f, 11)
    return np.uint32(tci) ^ vendor ^ dev


@njit(cache=True)
def bond_ip_hash(h, src, dst, policy, era):
    """bond_ip_hash (bond_main.c): fold the address words into h, then maybe drop a bit.

    ``>> 1``: 5.18+ (49aefd131739) for layer3+4 and encap3+4 only; 4.14 - 5.17
    (b5f862180d70) for every folded policy; before 4.14 never.
    """
    h = h ^ dst ^ src
    h = h ^ (h >> np.uint32(16))
    h = h ^ (h >> np.uint32(8))
    shift = (era >> 2) & 3
    if shift == 1 or (shift == 2 and (policy == LAYER34 or policy == ENCAP34)):
        h = h >> np.uint32(1)
    return h


@njit(cache=True)
def icmp_is_err(ip_proto, t):
    """icmp_is_err / icmpv6_is_err: the ICMP types that carry the offending header."""
    if ip_proto == 1:
        return t == 3 or t == 4 or t == 5 or t == 11 or t == 12
    return 1 <= t <= 4


@njit(cache=True)
def bond_flow_ip(f, l2_proto, nhoff, ip_proto, l34):
    """bond_flow_ip (bond_main.c, 5.15+): addresses, and for layer3+4 the ports word.

    Returns (ok, next offset, ip_proto, src word, dst word, ports word). No IPv6
    extension-header walk; an IPv4 fragment (first or not) keeps ip_proto unchanged.
    """
    z = np.uint32(0)
    first = ip_proto < 0
    if l2_proto == ETHERTYPE_IP:
        if not has(f, nhoff, 20):
            return False, nhoff, ip_proto, z, z, z
        src, dst = le32(f, nhoff + 12), le32(f, nhoff + 16)
        if not be16(f, nhoff + 6) & 0x3FFF:
            ip_proto = u8(f, nhoff + 9)
        # the IHL is read only where it is used (an embedded header's may not be kept)
        if (l34 and proto_ports_offset(ip_proto) >= 0) or (first and ip_proto in (1, 58)):
            nhoff += (u8(f, nhoff) & 15) * 4
    elif l2_proto == ETHERTYPE_IPV6:
        if not has(f, nhoff, 40):
            return False, nhoff, ip_proto, z, z, z
        src, dst = ipv6_addr_hash(f, nhoff + 8), ipv6_addr_hash(f, nhoff + 24)
        ip_proto = u8(f, nhoff + 6)
        nhoff += 40
    else:
        return False, nhoff, ip_proto, z, z, z
    ports = z
    if l34 and ip_proto >= 0:
        ports = skb_flow_get_ports(f, nhoff, ip_proto)
    return True, nhoff, ip_proto, src, dst, ports


@njit(cache=True)
def bond_flow_dissect(f, policy, l2_proto, nhoff, hwtag, era):
    """bond_flow_dissect (bond_main.c, 5.15+): (ok, src, dst, ports word, icmp word).

    layer2+3 / layer3+4: bond_flow_ip, and for an ICMP/ICMPv6 error (5.5+) the embedded
    header, parsed as the outer family, replaces addresses and ports. Before 5.5 an ICMP
    packet hashes like any portless protocol. encap2+3 / encap3+4:
    the generic flow dissector (see :func:`.flow_dissector.skb_flow_dissect`).
    """
    z = np.uint32(0)
    if policy == ENCAP23 or policy == ENCAP34:
        ok, at, src, dst, ports, icmp = skb_flow_dissect(f, l2_proto, nhoff, hwtag, era)
        if at != ADDR_V4 and at != ADDR_V6 and at != ADDR_TIPC:
            src = z
        if at != ADDR_V4 and at != ADDR_V6:
            dst = z
        return ok, src, dst, ports, icmp
    l34 = policy == LAYER34
    ok, nhoff, ip_proto, src, dst, ports = bond_flow_ip(f, l2_proto, nhoff, -1, l34)
    if not ok:
        return False, z, z, z, z
    icmp = z
    if (ip_proto == 1 or ip_proto == 58) and (era >> 4) & 3:
        icmp = skb_flow_get_icmp_tci(f, nhoff, z, era)
        if not icmp_is_err(ip_proto, icmp & np.uint32(0xFF)):
            return True, src, dst, ports, icmp
        ok, nhoff, ip_proto, src, dst, ports = bond_flow_ip(f, l2_proto, nhoff + 8, ip_proto,
                                                            l34)
        if not ok:
            return False, z, z, z, z
    return True, src, dst, ports, icmp


@njit(cache=True)
def bond_xmit_hash(f, policy, l2_proto, tci, hwtag, era):
    """__bond_xmit_hash (bond_main.c, 3.13+): the 32-bit transmit hash of one frame.

    ``era``: :meth:`hashscope.hashes.linux.eras.KernelProfile.code`.
    encap3+4's skb->l4_hash shortcut (a socket or NIC hash) cannot be seen in a capture
    and is not modelled.
    """
    if policy == VLAN_SRCMAC:
        return bond_vlan_srcmac_hash(f, tci)
    if policy == LAYER2:
        return bond_eth_hash(f, era)
    nhoff = packet_network_offset(f, l2_proto)
    ok, src, dst, ports, icmp = bond_flow_dissect(f, policy, l2_proto, nhoff, hwtag, era)
    if not ok:
        return bond_eth_hash(f, era)
    if policy == LAYER23 or policy == ENCAP23:
        h = bond_eth_hash(f, era)
    else:
        h = icmp if icmp >> np.uint32(16) else ports
    return bond_ip_hash(h, src, dst, policy, era)


@njit(cache=True)
def packet_network_offset(f, l2_proto):
    """skb_network_offset of a frame sent by AF_PACKET (net/packet/af_packet.c, 6.1).

    packet_parse_headers moves the network header of a VLAN-typed frame past all its
    802.1Q/802.1ad tags (__vlan_get_protocol, at most 8), while skb->protocol stays the
    tag's type: the bond's flow dissector then starts at the IP header with a VLAN type.
    """
    if l2_proto != ETHERTYPE_VLAN and l2_proto != ETHERTYPE_QINQ:
        return 14
    depth = 14
    t = l2_proto
    for _ in range(8):
        if not has(f, depth, 4):
            return 14
        t = be16(f, depth + 2)
        depth += 4
        if t != ETHERTYPE_VLAN and t != ETHERTYPE_QINQ:
            return depth if t != 0 else 14
    return 14


@njit(cache=True)
def _hash_kernel(buf, kn, length, shift, l2_proto, tci, policy, era, out, valid):
    miss = np.zeros(1, dtype=np.uint8)
    for i in range(buf.shape[0]):
        miss[0] = 0
        f = (buf[i], kn[i], np.int64(shift[i]), np.int64(length[i]) - shift[i], miss)
        out[i] = bond_xmit_hash(f, policy, np.int64(l2_proto[i]), tci[i], shift[i] != 0, era)
        valid[i] = miss[0] == 0


def vlan_offload_view(packets: np.ndarray, vlan: str = "offload"):
    """(shift, skb->protocol, out-of-band TCI) per packet for a ``--vlan`` mode.

    "offload": an outer 802.1Q/802.1ad tag in the capture was out of band for the bond
    (libpcap re-inserts it): the 4 bytes are not hashed, the TCI is skb->vlan_tci.
    "inband": the frame is hashed as captured, skb->protocol is the type after the MACs.
    """
    check_vlan_mode(vlan)
    n = len(packets)
    proto = head_be16(packets, 12)
    shift = np.zeros(n, dtype=np.int64)
    tci = np.zeros(n, dtype=np.uint32)
    if vlan == "offload":
        tagged = ((proto == ETHERTYPE_VLAN) | (proto == ETHERTYPE_QINQ)) & (packets["caplen"] >= 18)
        shift[tagged] = 4
        tci[tagged] = packets["vlan0_tci"][tagged]
        proto = np.where(tagged, head_be16(packets, 16), proto)
    return shift, proto, tci


def linux_xmit_hash(packets: np.ndarray, policy: str, vlan: str = "offload",
                    kernel: KernelProfile | str | None = None, fast: bool = True
                    ) -> tuple[np.ndarray, np.ndarray]:
    """bond_xmit_hash of every packet (x86): (hash uint32, valid bool).

    ``kernel``: a version ("6.1", "4.19") or profile; default the current era (5.18+).
    ``valid`` is False where the frame has no Ethernet header (but for layer3+4 and
    encap3+4 on the common IP frames, whose hash reads no MAC: Linux cooked and raw-IP
    captures) or where the hash would need bytes the packet table does not keep (past its
    64 raw bytes and decoded fields).
    Common frames take :mod:`hashscope.hashes.linux.fast` (``fast=False``: the general path only).
    """
    profile = kernel if isinstance(kernel, KernelProfile) else kernel_profile(kernel)
    if policy not in POLICIES:
        raise ValueError(f"unknown xmit_hash_policy {policy!r}; one of {list(POLICIES)}")
    if policy not in profile.policies:
        raise HashscopeError(f"xmit_hash_policy {policy} does not exist in Linux "
                             f"{profile.name}")
    check_vlan_mode(vlan)
    n = len(packets)
    out = np.zeros(n, dtype=np.uint32)
    valid = np.zeros(n, dtype=bool)
    if fast:  # the common frames straight from the columns, on all cores
        fast_hash(packets, POLICIES[policy], profile.code(), vlan == "offload", out, valid)

    def columns(pk):  # the frame as the bond had it: bytes past a snap length are unknown
        length = np.maximum(pk["wirelen"], pk["caplen"]).astype(np.int64)
        return (length, *vlan_offload_view(pk, vlan))

    hash_remaining(packets, out, valid, _hash_kernel, columns, POLICIES[policy],
                   profile.code())
    return out, valid


def linux_slave_index(hash_: np.ndarray, valid: np.ndarray, n_slaves: int) -> np.ndarray:
    """Index into the usable-slave array (bond_3ad_xor_xmit): hash % n, -1 where not valid."""
    idx = (np.asarray(hash_, dtype=np.uint32) % np.uint32(n_slaves)).astype(np.int64)
    idx[~np.asarray(valid, dtype=bool)] = -1
    return idx
