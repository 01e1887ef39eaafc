"""The FreeBSD lagg hash straight from the decoded columns, for the common frames.

Reproduces, for the frames it takes, exactly what :mod:`hashscope.hashes.freebsd.mbufhash`
computes by walking the rebuilt frame: ``m_ether_tcpip_hash`` (sys/kern/uipc_mbufhash.c, FreeBSD
11.0+, FNV-1 ``fnv_32_buf``) and ``lagg_hashmbuf`` (sys/net/if_lagg.c, 9.x/10.x,
``hash32_buf``, h * 33 + byte). The same bytes are fed in the same order, taken from the
decoded fields instead of the frame, on all cores.

Frames taken (everything else is left to the general path, which gives the same value):

* Ethernet with both MACs; no tag, or (vlan "offload") exactly one 0x8100 tag that the
  kernel had out of band (M_VLANTAG); a frame whose type after the MACs is another TPID
  (0x88a8, 0x9100, ...) or no IP type at all is hashed as the kernel does: MACs only.
  An in-frame 0x8100 tag the kernel would see (vlan "inband", stacked tags) is not taken.
* IPv4 with IHL >= 5 and its 20-byte header captured; with l4 and protocol TCP/UDP/SCTP
  only where the decoder reached the ports at the IHL-sized offset, inside the captured
  bytes (so no later fragment, no snapped ports).
* IPv6 with its 40-byte fixed header captured. FreeBSD reads nothing past it (no next
  header, no ports), so extension headers and the upper protocol do not matter.

Byte order, explicitly: the kernel hashes memory bytes one at a time, so every field is
fed most significant byte first from its network-order value (a MAC is its 6 bytes as
written, an address its 4 or 16, a port its 2) -- except the out-of-band tag
``ether_vtag``, a host-order ``uint16_t`` fed little-endian (low byte first, x86/arm64),
and the IPv6 flow label, the 4 bytes ``ip6_flow & IPV6_FLOWLABEL_MASK`` as in memory:
``00, label >> 16, label >> 8, label``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from hashscope.columns import DEPTH_NET, DEPTH_TRANSPORT, FRAG_LATER
from hashscope.ethertypes import ETHERTYPE_IP, ETHERTYPE_IPV6, ETHERTYPE_VLAN
from hashscope.hashes.words import M32

from .headers import FNV_32_PRIME, HASH_L2, HASH_L3, HASH_L4

SKIP, MACS_ONLY, IPV4, IPV6 = 0, 1, 2, 3


@njit(cache=True)
def feed(h, v, nbytes, fnv):
    """fnv_32_buf / hash32_buf over the ``nbytes`` bytes of ``v``, most significant first.

    ``h`` is carried as uint64 and wraps mod 2**64; its low 32 bits are the kernel's
    uint32 state (multiplication, addition and XOR of a byte all commute with mod 2**32).
    """
    v = np.uint64(v)
    for j in range(nbytes):
        c = (v >> np.uint64(8 * (nbytes - 1 - j))) & np.uint64(0xFF)
        if fnv:
            h = (h * np.uint64(FNV_32_PRIME)) ^ c
        else:
            h = h * np.uint64(33) + c
    return h


@njit(cache=True, inline="always")
def fast_case(r, flags, offload):
    """(case, tagged): which shortcut the frame takes (SKIP: the general path)."""
    if r.mac_ok != 3:
        return SKIP, False
    tagged = offload and r.vlan_n >= 1 and r.eth_type == ETHERTYPE_VLAN
    if tagged and r.vlan_n != 1:
        return SKIP, False  # the kernel's type would be the second tag's TPID
    if r.caplen < (18 if tagged else 14):
        return SKIP, False
    # the type m_ether_tcpip_hash reads at (kernel) offset 12
    etype = r.ethertype if tagged else r.eth_type
    if etype == ETHERTYPE_VLAN:
        return SKIP, False  # the in-frame tag path (ether_vlan_header at offset 14)
    if etype != ETHERTYPE_IP and etype != ETHERTYPE_IPV6:
        return MACS_ONLY, tagged
    l3 = 18 if tagged else 14
    if r.l3_off != l3 or r.depth < DEPTH_NET:
        return SKIP, False
    if etype == ETHERTYPE_IPV6:
        if r.ip_ver != 6 or r.caplen < l3 + 40:
            return SKIP, False
        return IPV6, tagged
    if r.ip_ver != 4 or r.ip_hlen < 20 or r.caplen < l3 + 20:
        return SKIP, False
    p = r.ip6_nh  # the IPv4 protocol byte
    if flags & HASH_L4 and (p == 6 or p == 17 or p == 132):
        if r.depth < DEPTH_TRANSPORT or r.frag & FRAG_LATER or r.proto != p \
                or r.l4_off != l3 + r.ip_hlen or r.caplen < r.l4_off + 4:
            return SKIP, False
    return IPV4, tagged


@njit(cache=True, inline="always")
def fast_fields(r, case, tagged, flags, fnv, state, sink):
    """The bytes m_ether_tcpip_hash / lagg_hashmbuf hash for a frame :func:`fast_case` took.

    The one statement of what the fast path feeds and in which order (sys/kern/uipc_mbufhash.c,
    sys/net/if_lagg.c): each field goes through ``state = sink(state, value, nbytes, fnv)``,
    ``value`` holding the field's ``nbytes`` bytes most significant first. With :func:`feed`
    as the sink and the key as the state this is the hash; other sinks (the key search's
    byte recorder) see the same bytes.
    """
    if flags & HASH_L2:
        state = sink(state, r.src_mac, 6, fnv)  # ether_shost
        state = sink(state, r.dst_mac, 6, fnv)  # ether_dhost
        if tagged:  # ether_vtag, uint16_t in host (little-endian) order
            tci = np.uint64(r.vlan0_tci)
            state = sink(state, ((tci & np.uint64(0xFF)) << np.uint64(8)) | (tci >> np.uint64(8)),
                         2, fnv)
    if case == IPV4:
        if flags & HASH_L3:
            state = sink(state, r.src_lo, 4, fnv)  # ip_src
            state = sink(state, r.dst_lo, 4, fnv)  # ip_dst
        p = r.ip6_nh
        if flags & HASH_L4 and (p == 6 or p == 17 or p == 132):
            state = sink(state, (np.uint32(r.sport) << np.uint32(16)) | np.uint32(r.dport), 4,
                         fnv)
    elif case == IPV6 and (fnv or flags & HASH_L3):  # 9.x/10.x: IPv6 only with l3
        if flags & HASH_L3:
            state = sink(state, r.src_hi, 8, fnv)  # ip6_src
            state = sink(state, r.src_lo, 8, fnv)
            state = sink(state, r.dst_hi, 8, fnv)  # ip6_dst
            state = sink(state, r.dst_lo, 8, fnv)
        if flags & HASH_L4 or not fnv:  # ip6_flow & IPV6_FLOWLABEL_MASK
            state = sink(state, np.uint32(r.ip6_flow) & np.uint32(0xFFFFF), 4, fnv)
    return state


@njit(cache=True, nogil=True, parallel=True)
def fast_hash(pk, flags, key, fnv, offload, out, done):
    """m_ether_tcpip_hash (11.0+, ``fnv``) / lagg_hashmbuf (9.x-10.x) of the common frames.

    ``flags``: MBUF_HASHFLAG_* bits; ``key``: the 32-bit initial value. Writes ``out[i]``
    and sets ``done[i]`` for every frame taken; leaves the others untouched but False.
    """
    for i in prange(pk.shape[0]):
        r = pk[i]
        case, tagged = fast_case(r, flags, offload)
        done[i] = case != SKIP
        if case == SKIP:
            continue
        h = fast_fields(r, case, tagged, flags, fnv, np.uint64(key), feed)
        out[i] = np.uint32(h & M32)
