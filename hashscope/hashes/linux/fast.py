"""The Linux transmit hash straight from the decoded columns, for the common frames.

Most frames are plain Ethernet + IPv4/IPv6 + TCP/UDP (or another ported protocol),
unfragmented, with at most the one VLAN tag the bond had out of band. For them every
policy is a handful of XORs over the decoded fields, computed here on all cores without
rebuilding the frame bytes. Every other frame (tunnels, ICMP, fragments, extension
headers, stacked tags, truncated headers, non-IP) is left to the general path in
:mod:`hashscope.hashes.linux.xmit_hash`, which walks the rebuilt frame as the kernel does. Both give
the same values; the tests check it on real captures.

Byte order, explicitly: the kernel XORs raw network-order bytes loaded as little-endian
u32 words (x86). A decoded field holds the network-order *value*, so the kernel's word is
its byte swap: ``le32(bytes of a) == bswap32(a)``; for IPv6, ``ipv6_addr_hash`` XORs the
four words, and a byte swap distributes over XOR.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from hashscope.columns import DEPTH_NET, DEPTH_TRANSPORT
from hashscope.ethertypes import ETHERTYPE_IP, ETHERTYPE_IPV6, ETHERTYPE_QINQ, ETHERTYPE_VLAN
from hashscope.hashes.words import M32, bswap16, bswap32

from .if_bonding import ENCAP23, ENCAP34, LAYER2, LAYER23, LAYER34, VLAN_SRCMAC


@njit(cache=True, inline="always")
def addr_word(ver, hi, lo):
    """The kernel's address word: le32 of an IPv4 address, ipv6_addr_hash of an IPv6 one."""
    if ver == 4:
        return bswap32(lo & M32)
    return bswap32(((hi >> np.uint64(32)) ^ (hi & M32) ^ (lo >> np.uint64(32)) ^ (lo & M32)) & M32)


@njit(cache=True, inline="always")
def eth_word(r, ethertype, era):
    """bond_eth_hash from the MACs' last bytes and the (inner) type, per era."""
    h = np.uint32((r.dst_mac ^ r.src_mac) & np.uint64(0xFF))
    mode = era & 3
    if mode == 2:
        h ^= np.uint32(ethertype)
    elif mode == 1:
        h ^= np.uint32(bswap16(ethertype))  # the raw __be16 loaded on x86
    return h


@njit(cache=True, inline="always")
def ports_word(r):
    """__skb_flow_get_ports' raw word: ports, or the ESP/AH SPI; 0 for other protocols."""
    p = r.proto
    if p == 6 or p == 17 or p == 33 or p == 132 or p == 136:
        return bswap32((np.uint32(r.sport) << np.uint32(16)) | np.uint32(r.dport))
    if p == 50 or p == 51:
        return bswap32(r.spi)
    return np.uint32(0)


@njit(cache=True, inline="always")
def fast_case(r, policy, offload):
    """0: not a common frame; 1: layer-2 fields suffice; 2: an IP frame for the fast fold.

    layer3+4 and encap3+4 read no MAC (bond_xmit_hash folds the ports into the addresses,
    with no bond_eth_hash), so their frames need none: a capture without MACs (Linux
    cooked, raw IP) is hashed exactly for them."""
    if r.caplen < 14 or r.ethertype == 0:
        return 0
    if r.mac_ok != 3 and policy != LAYER34 and policy != ENCAP34:
        return 0
    if r.vlan_n != 0 and not (r.vlan_n == 1 and offload and (r.vlan0_tpid == ETHERTYPE_VLAN
                                                               or r.vlan0_tpid == ETHERTYPE_QINQ)):
        return 0
    if policy == LAYER2 or policy == VLAN_SRCMAC:
        return 1
    if r.ip_ver == 0 or r.frag != 0 or r.ip6_ext != 0 or r.cut != 0 or r.depth < DEPTH_NET:
        return 0
    if r.ip_ver == 4 and (r.ip_hlen < 20 or r.ethertype != ETHERTYPE_IP):
        return 0
    if r.ip_ver == 6 and r.ethertype != ETHERTYPE_IPV6:
        return 0  # e.g. IP inside PPPoE or MPLS: the bond sees another protocol
    p = r.proto
    if p == 1 or p == 58 or p == 0 or p == 43 or p == 44 or p == 60:
        return 0
    if policy == ENCAP23 or policy == ENCAP34:
        if p == 4 or p == 41 or p == 47 or p == 137:
            return 0
    ported = p == 6 or p == 17 or p == 33 or p == 132 or p == 136 or p == 50 or p == 51
    if ported and r.depth < DEPTH_TRANSPORT and policy != LAYER23:
        return 0
    return 2


@njit(cache=True, nogil=True, parallel=True)
def fast_hash(pk, policy, era, offload, out, done):
    """Hash the common frames of ``pk`` into ``out``; ``done`` marks which were."""
    shift = (era >> 2) & 3
    for i in prange(pk.shape[0]):
        r = pk[i]
        case = fast_case(r, policy, offload)
        done[i] = case != 0
        if case == 0:
            continue
        if policy == VLAN_SRCMAC:
            tci = np.uint32(r.vlan0_tci) if r.vlan_n == 1 else np.uint32(0)
            out[i] = tci ^ np.uint32(r.src_mac >> np.uint64(24)) ^ np.uint32(
                r.src_mac & np.uint64(0xFFFFFF))
            continue
        eth = eth_word(r, r.ethertype, era)
        if policy == LAYER2:
            out[i] = eth
            continue
        h = eth if policy == LAYER23 or policy == ENCAP23 else ports_word(r)
        h ^= addr_word(r.ip_ver, r.src_hi, r.src_lo) ^ addr_word(r.ip_ver, r.dst_hi, r.dst_lo)
        h ^= h >> np.uint32(16)
        h ^= h >> np.uint32(8)
        if shift == 1 or (shift == 2 and (policy == LAYER34 or policy == ENCAP34)):
            h >>= np.uint32(1)
        out[i] = h
