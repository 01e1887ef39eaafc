"""The FreeBSD lagg(4) software transmit hash, bit for bit, per packet in compiled code.

Two generations, both checked bit for bit against the real functions compiled in userland
(tests/data/vectors/freebsd):

* ``variant="fnv"`` -- ``m_ether_tcpip_hash`` (sys/kern/uipc_mbufhash.c), FreeBSD 11.0 to
  15/main: FNV-1 (``fnv_32_buf``, h = h * 0x01000193 then h ^= byte). 13.0+ split it into
  ``m_ether_tcpip_hash`` + ``m_tcpip_hash`` with identical bytes.
* ``variant="djb"`` -- ``lagg_hashmbuf(sc, m, key)`` (sys/net/if_lagg.c), FreeBSD 9.x and
  10.x: ``hash32_buf`` (sys/sys/hash.h, h = h * 33 + byte). It differs from fnv in one
  more place: IPv6 is hashed only with l3, and then always with its flow label (fnv: flow
  label only with l4). 6.3-8.x ``lagg_hashmbuf(m, key)`` (before lagghash, which came in
  2012, 9.1 or so) hashed the fixed set l2,l3 with the same bytes (for any frame of 14
  bytes or more): use ``djb`` with ``layers="l2,l3"``.

Bytes fed, each part only if its lagghash layer is set: source MAC, destination MAC;
the out-of-band VLAN tag (``ether_vtag``, host order: little-endian) when the mbuf has
M_VLANTAG and l2 is set; else, for an in-frame 0x8100 tag, frame bytes 28-29 (the kernel
overlays ``struct ether_vlan_header`` at offset 14, not 0: the "tag" is usually the IPv4
checksum) and the type from bytes 30-31 with the network header at 18; then IPv4 source
and destination, and (l4, protocol TCP/UDP/SCTP, IHL >= 5) the 4 port bytes after the
IHL-sized header -- fragments are not special-cased; or IPv6 source, destination and the
flow label as ``00 b1&0x0f b2 b3``. Every header read first checks the frame length;
a short header ends the hash there.

The use_flowid caveat: with ``use_flowid`` on (the default from 8.x to 11.x, off from
12.0) and an mbuf that carries a hash type, lagg uses ``flowid >> flowid_shift`` (the
NIC's RSS hash, or an inherited socket flowid) instead of this software hash. That
value cannot be rebuilt from a capture; :func:`hashscope.hashes.freebsd.lagg.lagg_flowid_hash`
only applies the shift to a known flowid.

Port selection per laggproto is in :mod:`hashscope.hashes.freebsd.lagg`.
"""

from __future__ import annotations

import re
import secrets

import numpy as np
from numba import njit

from hashscope.columns import HEAD_BYTES
from hashscope.ethertypes import ETHERTYPE_IP, ETHERTYPE_IPV6, ETHERTYPE_VLAN
from hashscope.hashes.frames import be16, check_vlan_mode, has, hash_remaining, head_be16, u8
from hashscope.hashes.words import M32

from .fast import fast_hash, feed
from .headers import FNV1_32_INIT, FNV_32_PRIME, HASH_L2, HASH_L3, HASH_L4

LAYERS = {"l2": HASH_L2, "l3": HASH_L3, "l4": HASH_L4}
VARIANTS = ("fnv", "djb")


@njit(cache=True, inline="always")
def hash_frame_bytes(f, k, n, h, fnv, sink):
    """The n frame bytes at kernel offset k through ``sink`` (:func:`fast.feed`: fnv_32_buf /
    hash32_buf), one at a time."""
    for j in range(n):
        h = sink(h, u8(f, k + j), 1, fnv)
    return h


@njit(cache=True)
def _ports_readable(f, k, l4_off):
    """Bytes k..k+3 past the kept raw head are known only as the decoded ports at l4_off."""
    at = k + f[2]  # capture offset (k >= 12)
    if at + 4 > HEAD_BYTES and at != l4_off:
        f[4][0] = 1  # the decoder placed no transport header there: the bytes are unknown
        return False
    return True


@njit(cache=True, inline="always")
def m_tcpip_hash(f, flags, p, off, etype, fnv, l4_off, sink):
    """The IP part of m_ether_tcpip_hash (11.0+; m_tcpip_hash in 13+) or lagg_hashmbuf.

    sys/kern/uipc_mbufhash.c / sys/net/if_lagg.c (9.x-10.x). ``off``: network header.
    Every hashed byte goes through ``p = sink(p, byte, 1, fnv)``.
    """
    if etype == ETHERTYPE_IP:
        if not has(f, off, 20):
            return p
        if flags & HASH_L3:
            p = hash_frame_bytes(f, off + 12, 8, p, fnv, sink)  # ip_src, ip_dst
        if flags & HASH_L4:
            ip_p = u8(f, off + 9)
            if ip_p == 6 or ip_p == 17 or ip_p == 132:
                iphlen = np.int64(u8(f, off) & np.uint32(15)) * 4
                k = off + iphlen
                if iphlen >= 20 and has(f, k, 4) and _ports_readable(f, k, l4_off):
                    p = hash_frame_bytes(f, k, 4, p, fnv, sink)
    elif etype == ETHERTYPE_IPV6:
        if not fnv and not flags & HASH_L3:  # 9.x/10.x: IPv6 only with l3
            return p
        if not has(f, off, 40):
            return p
        if flags & HASH_L3:
            p = hash_frame_bytes(f, off + 8, 32, p, fnv, sink)  # ip6_src, ip6_dst
        if flags & HASH_L4 or not fnv:
            # ip6_flow & IPV6_FLOWLABEL_MASK, the 4 bytes as in memory
            p = sink(p, 0, 1, fnv)
            p = sink(p, u8(f, off + 1) & np.uint32(0x0F), 1, fnv)
            p = hash_frame_bytes(f, off + 2, 2, p, fnv, sink)
    return p


@njit(cache=True, inline="always")
def m_ether_tcpip_hash(f, flags, p, fnv, vtagged, vtag, l4_off, sink):
    """m_ether_tcpip_hash (uipc_mbufhash.c, 11.0+) / lagg_hashmbuf (if_lagg.c, 9.x-10.x).

    ``vtagged``: the mbuf has M_VLANTAG with TCI ``vtag`` (and no tag in the frame).
    The one statement of the general path's bytes and their order: each goes through
    ``p = sink(p, byte, 1, fnv)`` (:func:`fast.feed` with the key as ``p``: the hash).
    """
    if not has(f, 0, 14):  # m_len < sizeof(struct ether_header)
        return p
    etype = be16(f, 12)
    off = 14
    if flags & HASH_L2:
        p = hash_frame_bytes(f, 6, 6, p, fnv, sink)  # ether_shost
        p = hash_frame_bytes(f, 0, 6, p, fnv, sink)  # ether_dhost
    if vtagged and flags & HASH_L2:
        p = sink(p, np.uint32(vtag) & np.uint32(0xFF), 1, fnv)  # uint16, little-endian
        p = sink(p, np.uint32(vtag) >> np.uint32(8), 1, fnv)
    elif etype == ETHERTYPE_VLAN:
        # struct ether_vlan_header (18 bytes) read at offset 14: evl_tag is frame[28:30],
        # evl_proto frame[30:32]
        if not has(f, 14, 18):
            return p
        if flags & HASH_L2:
            p = hash_frame_bytes(f, 28, 2, p, fnv, sink)
        etype = be16(f, 30)
        off = 18
    return m_tcpip_hash(f, flags, p, off, etype, fnv, l4_off, sink)


@njit(cache=True)
def _hash_kernel(buf, kn, length, shift, tci, l4_off, flags, key, fnv, out, valid):
    miss = np.zeros(1, dtype=np.uint8)
    for i in range(buf.shape[0]):
        miss[0] = 0
        s = np.int64(shift[i])
        f = (buf[i], kn[i], s, np.int64(length[i]) - s, miss)
        h = m_ether_tcpip_hash(f, flags, np.uint64(key), fnv, s != 0, tci[i],
                               np.int64(l4_off[i]), feed)
        out[i] = np.uint32(h & M32)
        valid[i] = miss[0] == 0


def parse_layers(layers: str) -> int:
    """The lagghash flag bits of a comma list such as ``"l2,l3,l4"`` (any non-empty subset)."""
    names = [s.strip().lower() for s in str(layers).split(",") if s.strip()]
    bad = [s for s in names if s not in LAYERS]
    if not names or bad:
        raise ValueError(f"layers must be a non-empty comma list of l2, l3, l4, not {layers!r}")
    bits = 0
    for s in names:
        bits |= LAYERS[s]
    return bits


def freebsd_vlan_view(packets: np.ndarray, vlan: str = "offload"):
    """(shift, TCI) per packet: which frames the kernel saw with M_VLANTAG.

    "offload": an outer 0x8100 tag in the capture was out of band (vlan(4) on a lagg with
    VLAN_HWTAGGING; the capture shows it re-inserted): its 4 bytes are removed and its TCI
    is ``ether_vtag``. An outer 0x88a8 tag is never out of band here. "inband": the frame
    as captured, no M_VLANTAG.
    """
    check_vlan_mode(vlan)
    shift = np.zeros(len(packets), dtype=np.int64)
    tci = head_be16(packets, 14).astype(np.uint32)
    if vlan == "offload":
        tpid = head_be16(packets, 12)
        shift[(tpid == ETHERTYPE_VLAN) & (packets["caplen"] >= 18)] = 4
    tci[shift == 0] = 0
    return shift, tci


def lagg_hash(packets: np.ndarray, layers: str = "l2,l3,l4", seed: int = 0,
              variant: str = "fnv", vlan: str = "offload", fast: bool = True
              ) -> tuple[np.ndarray, np.ndarray]:
    """The FreeBSD lagg software hash of every packet: (hash uint32, valid bool).

    ``layers``: the lagghash set, any non-empty subset of l2,l3,l4 as a comma string.
    ``seed``: the 32-bit key the function is called with (lb_key / lsc_hashkey; on 11.0+
    see :func:`lagg_key`). ``variant``: "fnv" (11.0+, m_ether_tcpip_hash) or "djb"
    (9.x/10.x, lagg_hashmbuf); see :func:`freebsd_variant`. ``vlan``: "offload" (an outer
    0x8100 tag in the capture was out of band: removed and hashed as ether_vtag) or
    "inband" (the frame as captured).

    The frame length is the wire length. ``valid`` is False where the frame has no
    Ethernet header (both MACs), or where the hash would read bytes the packet table does
    not hold: past the captured bytes of a frame cut by the snap length, or, beyond the 64
    raw bytes kept, anything but the decoded ports (IPv4 ports past byte 64 with long IP
    options are known only where the decoder reached that transport header; the 4
    "port" bytes of a non-first IPv4 fragment only within the first 64 bytes).

    Common frames take :mod:`hashscope.hashes.freebsd.fast` (``fast=False``: the general path only).
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, not {variant!r}")
    flags = parse_layers(layers)
    key = int(seed)
    if not 0 <= key <= int(M32):
        raise ValueError(f"seed must be a 32-bit unsigned value, not {seed!r}")
    check_vlan_mode(vlan)
    n = len(packets)
    out = np.zeros(n, dtype=np.uint32)
    valid = np.zeros(n, dtype=bool)
    if fast:  # the common frames straight from the columns, on all cores
        fast_hash(packets, flags, key, variant == "fnv", vlan == "offload", out, valid)

    def columns(pk):
        length = np.maximum(pk["caplen"], pk["wirelen"]).astype(np.int64)
        return (length, *freebsd_vlan_view(pk, vlan), pk["l4_off"].astype(np.int64))

    hash_remaining(packets, out, valid, _hash_kernel, columns, flags, key, variant == "fnv")
    return out, valid


def freebsd_variant(version: str) -> str:
    """The hash generation of a FreeBSD release: "djb" up to 10.x, "fnv" from 11.0.

    Accepts "9.3", "10.4-RELEASE-p2", "14", "13.2-STABLE", "main"/"head"/"current"; lagg
    exists from 6.3. For 6.3-8.x (no lagghash) the answer is "djb" with the fixed layers
    l2,l3. Raises ValueError for anything else.
    """
    v = str(version).strip().lower()
    if v in ("main", "head", "current", "-current"):
        return "fnv"
    m = re.fullmatch(r"v?(\d+)(?:\.(\d+))?(?:[-_ ].*)?", v)
    if not m:
        raise ValueError(f"not a FreeBSD version: {version!r}")
    major, minor = int(m.group(1)), int(m.group(2) or 0)
    if (major, minor) < (6, 3) or major > 15:
        raise ValueError(f"no lagg hash known for FreeBSD {version!r} (6.3 to 15 are)")
    return "fnv" if major >= 11 else "djb"


def lagg_key(seed: int | None = None) -> int:
    """The 11.0+ hash key as m_ether_tcpip_hash_init (uipc_mbufhash.c) derives it.

    ``fnv_32_buf(&seed, 4, FNV1_32_INIT)`` over the 4 bytes of the 32-bit random ``seed``
    (arc4random) in little-endian order; ``None`` draws a random seed as the kernel does.
    9.x/10.x use ``arc4random()`` itself as the key (no derivation).
    """
    if seed is None:
        seed = secrets.randbits(32)
    if not 0 <= int(seed) <= int(M32):
        raise ValueError(f"seed must be a 32-bit unsigned value, not {seed!r}")
    h = FNV1_32_INIT
    for c in int(seed).to_bytes(4, "little"):
        h = ((h * FNV_32_PRIME) & int(M32)) ^ c
    return h
