"""The bytes the Linux bonding hash reads, and the kernel's generic flow dissector over them.

The decoded packet table keeps only the first 64 raw bytes of a frame (``head``) plus
decoded header fields. :func:`frame_view` rebuilds, per packet, the frame bytes the
kernel may read (``head``, then the decoded IP, transport, GRE and inner fields written
back at their offsets) with a mask of which bytes are known. Readers take a frame handle
``f = (bytes, known, shift, length, miss)`` and work in *kernel* offsets: with an
out-of-band VLAN tag (``shift`` 4) the kernel's byte ``k >= 12`` is the capture's
``k + 4``. Reading a byte that is inside the frame but not known sets ``miss[0]``: the
hash of that packet is then reported as not valid rather than guessed.

:func:`skb_flow_dissect` is ``__skb_flow_dissect`` (net/core/flow_dissector.c, Linux
5.5 - 6.x) with the bonding key set (``flow_keys_bonding``) and flags 0, which the
encap2+3 and encap3+4 policies use (drivers/net/bonding/bond_main.c).
"""

from __future__ import annotations

import numpy as np
from numba import njit

VIEW_BYTES = 256  #: bytes of each frame rebuilt; reads past them count as unknown
MAX_FLOW_DISSECT_HDRS = 15
ETH_P_IP, ETH_P_IPV6, ETH_P_8021Q, ETH_P_8021AD = 0x0800, 0x86DD, 0x8100, 0x88A8
ADDR_NONE, ADDR_V4, ADDR_V6, ADDR_TIPC = 0, 4, 6, 7


@njit(cache=True)
def _put(buf, kn, lim, off, val, nbytes):
    """Write ``val`` big-endian at ``off`` where the frame has those bytes and head has not."""
    if off < 0 or off + nbytes > lim:
        return
    for j in range(nbytes):
        o = off + j
        if not kn[o]:
            buf[o] = (val >> np.uint64(8 * (nbytes - 1 - j))) & np.uint64(0xFF)
            kn[o] = 1


@njit(cache=True)
def _put_ip(buf, kn, lim, l3, ver, hlen, frag, foff, proto, sh, sl, dh, dl, nh_known):
    u = np.uint64
    if ver == 4:
        if hlen >= 0:  # unknown for an inner header whose transport was not reached
            _put(buf, kn, lim, l3, u(0x40 | (hlen // 4)), 1)
        _put(buf, kn, lim, l3 + 6, u((0x2000 if frag & 2 else 0) | foff), 2)
        _put(buf, kn, lim, l3 + 9, u(proto), 1)
        _put(buf, kn, lim, l3 + 12, sl, 4)
        _put(buf, kn, lim, l3 + 16, dl, 4)
    elif ver == 6:
        if nh_known:
            _put(buf, kn, lim, l3 + 6, u(proto), 1)
        _put(buf, kn, lim, l3 + 8, sh, 8)
        _put(buf, kn, lim, l3 + 16, sl, 8)
        _put(buf, kn, lim, l3 + 24, dh, 8)
        _put(buf, kn, lim, l3 + 32, dl, 8)


@njit(cache=True)
def _put_l4(buf, kn, lim, l4, proto, sport, dport, spi, itype, icode, iid):
    u = np.uint64
    if proto == 6 or proto == 17 or proto == 33 or proto == 132 or proto == 136:
        _put(buf, kn, lim, l4, u(sport), 2)
        _put(buf, kn, lim, l4 + 2, u(dport), 2)
    elif proto == 50:
        _put(buf, kn, lim, l4, u(spi), 4)
    elif proto == 51:
        _put(buf, kn, lim, l4 + 4, u(spi), 4)
    elif proto == 1 or proto == 58:
        _put(buf, kn, lim, l4, u(itype), 1)
        _put(buf, kn, lim, l4 + 1, u(icode), 1)
        _put(buf, kn, lim, l4 + 4, u(iid), 2)


@njit(cache=True)
def _view_kernel(pk, head, buf, kn):
    for i in range(pk.shape[0]):
        r = pk[i]
        lim = min(np.int64(r.caplen), buf.shape[1])
        for k in range(min(lim, head.shape[1])):
            buf[i, k] = head[i, k]
            kn[i, k] = 1
        b, m = buf[i], kn[i]
        if r.l3_off >= 0 and r.depth >= 2:
            _put_ip(b, m, lim, r.l3_off, r.ip_ver, r.ip_hlen, r.frag, r.frag_off, r.ip6_nh,
                    r.src_hi, r.src_lo, r.dst_hi, r.dst_lo, True)
        if r.l4_off >= 0 and r.depth >= 3:
            _put_l4(b, m, lim, r.l4_off, r.proto, r.sport, r.dport, r.spi, r.icmp_type,
                    r.icmp_code, r.icmp_id)
            if r.proto == 47:
                _put(b, m, lim, r.l4_off, np.uint64(r.gre_flags), 2)
                _put(b, m, lim, r.l4_off + 2, np.uint64(r.gre_proto), 2)
                if r.gre_flags & 0x2000 and not r.gre_flags & 0x4007:
                    _put(b, m, lim, r.l4_off + (8 if r.gre_flags & 0x8000 else 4),
                         np.uint64(r.gre_key), 4)
        q = r.inner_l3_off
        if q >= 0 and r.depth >= 4 and r.inner_ver != 0:
            if r.inner == 3:  # GRE-TEB: the inner Ethernet type just before the IP header
                _put(b, m, lim, q - 2, np.uint64(0x0800 if r.inner_ver == 4 else 0x86DD), 2)
            l4 = r.inner_l4_off
            foff = 1 if r.inner_frag & 4 else 0  # only "offset != 0" is known
            _put_ip(b, m, lim, q, r.inner_ver, l4 - q if l4 >= 0 else -1, r.inner_frag, foff,
                    r.inner_proto, r.inner_src_hi, r.inner_src_lo, r.inner_dst_hi,
                    r.inner_dst_lo, l4 == q + 40)
            if l4 >= 0 and r.depth >= 5:
                _put_l4(b, m, lim, l4, r.inner_proto, r.inner_sport, r.inner_dport,
                        r.inner_spi, r.inner_icmp_type, r.inner_icmp_code, r.inner_icmp_id)


def frame_view(packets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(bytes, known) arrays of shape (n, VIEW_BYTES): each frame as far as the table knows it."""
    n = len(packets)
    buf = np.zeros((n, VIEW_BYTES), dtype=np.uint8)
    kn = np.zeros((n, VIEW_BYTES), dtype=np.uint8)
    _view_kernel(packets, np.ascontiguousarray(packets["head"]), buf, kn)
    return buf, kn


#: Packets per compiled pass of :func:`hash_remaining` (bounds the rebuilt-frame memory).
CHUNK = 1 << 16


def hash_remaining(packets: np.ndarray, out: np.ndarray, valid: np.ndarray, kernel, columns,
                   *params) -> None:
    """Hash the frames a column fast path left (``valid`` False) from rebuilt frames.

    ``columns(pk)`` gives the per-packet arrays the kernel takes for those packets;
    ``kernel(bytes, known, *columns, *params, hash, ok)`` runs chunk by chunk over
    :func:`frame_view`. Fills ``out`` and ``valid`` in place; a frame without both MACs
    is never valid.
    """
    rest = np.flatnonzero(~valid)
    if len(rest) == 0:
        return
    pk = packets if len(rest) == len(packets) else packets[rest]
    cols = columns(pk)
    h, ok = np.zeros(len(pk), dtype=np.uint32), np.zeros(len(pk), dtype=bool)
    for lo in range(0, len(pk), CHUNK):
        sl = slice(lo, min(len(pk), lo + CHUNK))
        buf, kn = frame_view(pk[sl])
        kernel(buf, kn, *(c[sl] for c in cols), *params, h[sl], ok[sl])
    out[rest] = h
    valid[rest] = ok & (pk["mac_ok"] == 3)


# ---- readers over a frame handle f = (bytes, known, shift, length, miss) ------------------

@njit(cache=True, inline="always")
def has(f, k, n):
    """The kernel's __skb_header_pointer / pskb_may_pull test: bytes k..k+n are in the frame."""
    return k >= 0 and k + n <= f[3]


@njit(cache=True)
def u8(f, k):
    b, kn, s, _n, miss = f
    o = k if k < 12 else k + s
    if o < 0 or o >= kn.shape[0] or not kn[o]:
        miss[0] = 1
        return np.uint32(0)
    return np.uint32(b[o])


@njit(cache=True)
def be16(f, k):
    return (u8(f, k) << np.uint32(8)) | u8(f, k + 1)


@njit(cache=True)
def be32(f, k):
    return (be16(f, k) << np.uint32(16)) | be16(f, k + 2)


@njit(cache=True)
def le32(f, k):
    """The 4 frame bytes at k loaded as a u32 on a little-endian host (a raw __be32)."""
    return u8(f, k) | (u8(f, k + 1) << np.uint32(8)) | (u8(f, k + 2) << np.uint32(16)) | \
        (u8(f, k + 3) << np.uint32(24))


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
    8-byte ICMP header is not all in the frame, or before 5.5 (``era``: see linux_kernels).
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
            proto = ETH_P_IP
        elif ppp == 0x57:
            proto = ETH_P_IPV6
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
            if proto == ETH_P_IP:
                if not has(f, nhoff, 20) or (u8(f, nhoff) & 15) < 5:
                    return False, at, src, dst, ports, icmp
                ip_proto = u8(f, nhoff + 9)
                at, src, dst = ADDR_V4, le32(f, nhoff + 12), le32(f, nhoff + 16)
                frag = be16(f, nhoff + 6)
                nhoff += (u8(f, nhoff) & 15) * 4
                if frag & 0x3FFF:
                    is_frag = True
                    fd = 1
            elif proto == ETH_P_IPV6:
                if not has(f, nhoff, 40):
                    return False, at, src, dst, ports, icmp
                ip_proto = u8(f, nhoff + 6)
                at = ADDR_V6
                src, dst = ipv6_addr_hash(f, nhoff + 8), ipv6_addr_hash(f, nhoff + 24)
                nhoff += 40
            elif proto == ETH_P_8021Q or proto == ETH_P_8021AD:
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
                    proto, fd = ETH_P_IP, 2
                elif ppp == 0x57:
                    proto, fd = ETH_P_IPV6, 2
                else:
                    return False, at, src, dst, ports, icmp
            elif proto == 0x88CA:  # TIPC: the source node (w[3]) as the only address word
                if not has(f, nhoff, 16):
                    return False, at, src, dst, ports, icmp
                if be32(f, nhoff) & 0x0E080000 == 0x0E080000:
                    f[4][0] = 1  # keepalive: the kernel uses random bytes
                at, src, dst, fd = ADDR_TIPC, le32(f, nhoff + 12), np.uint32(0), 1
            elif proto == 0x8847 or proto == 0x8848 or proto == 0x0806 or proto == 0x8035:
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
        elif (ip_proto == 0 or ip_proto == 43 or ip_proto == 60) and proto == ETH_P_IPV6:
            if not has(f, nhoff, 2):
                return False, at, src, dst, ports, icmp
            ip_proto = u8(f, nhoff)
            nhoff += (u8(f, nhoff + 1) + 1) * 8
            fd = 3
        elif ip_proto == 44 and proto == ETH_P_IPV6:
            if not has(f, nhoff, 8):
                return False, at, src, dst, ports, icmp
            is_frag = True
            ip_proto = u8(f, nhoff)
            nhoff += 8
            fd = 1
        elif ip_proto == 4:
            proto, fd = ETH_P_IP, 2
        elif ip_proto == 41:
            proto, fd = ETH_P_IPV6, 2
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
