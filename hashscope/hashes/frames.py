"""The frame bytes the kernel hashes read, rebuilt from the packet table, and readers over them.

The decoded packet table keeps only the first 64 raw bytes of a frame (``head``) plus
decoded header fields. :func:`frame_view` rebuilds, per packet, the frame bytes the
kernel may read (``head``, then the decoded IP, transport, GRE and inner fields written
back at their offsets) with a mask of which bytes are known. Readers take a frame handle
``f = (bytes, known, shift, length, miss)`` and work in *kernel* offsets: with an
out-of-band VLAN tag (``shift`` 4) the kernel's byte ``k >= 12`` is the capture's
``k + 4``. Reading a byte that is inside the frame but not known sets ``miss[0]``: the
hash of that packet is then reported as not valid rather than guessed.

Linux bonding (:mod:`hashscope.hashes.linux`) and FreeBSD lagg
(:mod:`hashscope.hashes.freebsd`) both hash through these readers, and both pick which
outer VLAN tag was out of band with :data:`VLAN_MODES`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from hashscope.ethertypes import ETHERTYPE_IP, ETHERTYPE_IPV6

VIEW_BYTES = 256  #: bytes of each frame rebuilt; reads past them count as unknown
#: --vlan: "offload", an outer tag in the capture was out of band for the bond (a VLAN
#: device on top of it; the capture shows the tag re-inserted); "inband", hash the frame
#: as captured.
VLAN_MODES = ("offload", "inband")


def check_vlan_mode(vlan: str) -> None:
    """ValueError unless ``vlan`` is one of :data:`VLAN_MODES`."""
    if vlan not in VLAN_MODES:
        raise ValueError(f"vlan must be one of {VLAN_MODES}, not {vlan!r}")


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
                etype = ETHERTYPE_IP if r.inner_ver == 4 else ETHERTYPE_IPV6
                _put(b, m, lim, q - 2, np.uint64(etype), 2)
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

@njit(cache=True)
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


def head_be16(packets: np.ndarray, k: int) -> np.ndarray:
    """The big-endian 16-bit field at byte ``k`` of every frame's raw head (int64), e.g.
    the outer TPID at 12 or the VLAN TCI at 14."""
    head = packets["head"]
    return (head[:, k].astype(np.int64) << 8) | head[:, k + 1]
