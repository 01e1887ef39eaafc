"""The switch and hypervisor models of :mod:`hashscope.hashes.switches.models`, compiled:
one pass per packet row on all cores, reading the decoded columns (no whole-array
temporaries).

Each kernel fills ``h`` (uint32), ``valid`` (bool) and ``link`` (int64, -1 where not
valid) for every row of the packet table; :mod:`hashscope.hashes.switches.models`
documents the models and their sources. The row tests (:func:`has_macs`, :func:`has_ip`,
:func:`has_ports`) are the single definition of "the packet has these fields" for all of
them.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from hashscope.columns import DEPTH_NET, DEPTH_TRANSPORT, FRAG_LATER, HEAD_BYTES, MAC_DST, MAC_SRC
from hashscope.hashes.words import M32
from hashscope.xxh64 import xxh64_words

KIND_MAC, KIND_IP, KIND_PORT = 0, 1, 2  #: a port mode falls back to ip, ip to mac


@njit(cache=True)
def has_macs(r, need):
    """The MACs ``need`` (MAC_SRC | MAC_DST bits) are in the frame."""
    return (r.mac_ok & need) == need


@njit(cache=True)
def has_ip(r):
    return r.depth >= DEPTH_NET and (r.ip_ver == 4 or r.ip_ver == 6)


@njit(cache=True)
def port_protocol(p):
    """columns.PORT_PROTOCOLS: TCP, UDP, DCCP, SCTP, UDP-Lite."""
    return p == 6 or p == 17 or p == 33 or p == 132 or p == 136


@njit(cache=True)
def has_ports(r):
    """Ports of a port protocol captured, and not a later fragment."""
    return (has_ip(r) and port_protocol(r.proto) and r.depth >= DEPTH_TRANSPORT
            and (r.frag & FRAG_LATER) == 0)


@njit(cache=True, inline="always")
def put(i, value, ok, n_links, h, valid, link):
    """hash = the value's low 32 bits; link = hash mod n where valid, else -1."""
    h32 = np.uint32(np.uint64(value) & M32)
    h[i] = h32
    valid[i] = ok
    link[i] = np.int64(h32) % np.int64(n_links) if ok else np.int64(-1)


@njit(cache=True)
def xor_fields(r, kind, src, dst, mask):
    """XOR of the low bits (``mask``) of the chosen fields of one kind."""
    if kind == KIND_MAC:
        a, b = np.uint64(r.src_mac), np.uint64(r.dst_mac)
    elif kind == KIND_IP:
        a, b = np.uint64(r.src_lo), np.uint64(r.dst_lo)
    else:
        a, b = np.uint64(r.sport), np.uint64(r.dport)
    v = np.uint64(0)
    if src:
        v ^= a & mask
    if dst:
        v ^= b & mask
    return v


@njit(cache=True, nogil=True, parallel=True)
def xor_low_bits_rows(pk, kind, src, dst, bits, n_links, h, valid, link):
    """The first kind the packet has from ``kind`` down (port -> ip -> mac), its fields'
    low ``bits`` XORed; hash 0 and not valid where none is there."""
    mask = np.uint64((1 << bits) - 1)
    need = (MAC_SRC if src else 0) | (MAC_DST if dst else 0)
    for i in prange(pk.shape[0]):
        r = pk[i]
        v = np.uint64(0)
        ok = False
        k = kind
        while k >= 0 and not ok:
            if k == KIND_MAC:
                ok = has_macs(r, need)
            else:
                ok = has_ports(r) if k == KIND_PORT else has_ip(r)
            if ok:
                v = xor_fields(r, k, src, dst, mask)
            k -= 1
        put(i, v, ok, n_links, h, valid, link)


@njit(cache=True, nogil=True, parallel=True)
def vmware_rows(pk, whole, n_links, h, valid, link):
    """(src XOR dst) of the addresses' low 32 bits; non-IP frames with MACs: the XOR of
    the two big-endian words at bytes 12-19 after the Ethernet header and its tags, if
    captured within the head bytes. Last octet only unless ``whole``."""
    for i in prange(pk.shape[0]):
        r = pk[i]
        ip = has_ip(r)
        v = (np.uint64(r.src_lo) ^ np.uint64(r.dst_lo)) & M32
        off = 14 + 4 * np.int64(r.vlan_n)
        raw = not ip and has_macs(r, MAC_SRC | MAC_DST) and off + 20 <= min(
            np.int64(r.caplen), HEAD_BYTES)
        if raw:
            v = np.uint64(0)
            for k in range(4):
                v = (v << np.uint64(8)) | np.uint64(r.head[off + 12 + k] ^ r.head[off + 16 + k])
        if not whole:
            v &= np.uint64(0xFF)
        put(i, v, ip or raw, n_links, h, valid, link)


@njit(cache=True)
def fold32(h):
    """A 64-bit hash folded to 32 bits: high half XOR low half."""
    return np.uint32(((h >> np.uint64(32)) ^ h) & M32)


@njit(cache=True)
def key_hash(r, layer, ip_mask, with_proto):
    """XXH64 (folded) of the 8-word key (layer << 56 | type, addresses..., ports, 0, 0):
    layer 2 the MACs and EtherType; else the addresses (only their low bits, and no high
    halves, if ``ip_mask``) and the protocol if ``with_proto``; layer 4 also the ports."""
    z = np.uint64(0)
    w0 = np.uint64(layer) << np.uint64(56)
    if layer == 2:
        w0 |= np.uint64(r.ethertype)
        w1, w2, w3, w4 = np.uint64(r.src_mac), z, np.uint64(r.dst_mac), z
    else:
        if with_proto:
            w0 |= np.uint64(r.proto)
        if ip_mask:
            m = np.uint64(ip_mask)
            w1, w2, w3, w4 = z, np.uint64(r.src_lo) & m, z, np.uint64(r.dst_lo) & m
        else:
            w1, w2 = np.uint64(r.src_hi), np.uint64(r.src_lo)
            w3, w4 = np.uint64(r.dst_hi), np.uint64(r.dst_lo)
    w5 = z
    if layer == 4:
        w5 = (np.uint64(r.sport) << np.uint64(16)) | np.uint64(r.dport)
    return fold32(xxh64_words((w0, w1, w2, w3, w4, w5, z, z), 0))


@njit(cache=True, nogil=True, parallel=True)
def aruba_rows(pk, top, ip_bits, n_links, h, valid, link):
    """Layer ``top`` (2, 3, 4) or the highest below it the packet has; 0: no MACs."""
    mask = (1 << ip_bits) - 1
    for i in prange(pk.shape[0]):
        r = pk[i]
        layer = 2 if has_macs(r, MAC_SRC | MAC_DST) else 0
        if top >= 3 and has_ip(r):
            layer = 3
        if top == 4 and has_ports(r):
            layer = 4
        put(i, key_hash(r, layer, mask, False), layer > 0, n_links, h, valid, link)


@njit(cache=True, nogil=True, parallel=True)
def uniform_rows(pk, n_links, h, valid, link):
    """IP: layer 4 (ports 0 where the protocol has none or a later fragment); not
    computable where a port protocol's ports were not captured; else layer 2 or 0."""
    for i in prange(pk.shape[0]):
        r = pk[i]
        if has_ip(r):
            layer = 4
            if port_protocol(r.proto) and not has_ports(r) and (r.frag & FRAG_LATER) == 0:
                layer = 0
        else:
            layer = 2 if has_macs(r, MAC_SRC | MAC_DST) else 0
        put(i, key_hash(r, layer, 0, True), layer > 0, n_links, h, valid, link)


@njit(cache=True, nogil=True, parallel=True)
def mix_rows_into(words, out):
    for i in prange(words.shape[0]):
        out[i] = fold32(xxh64_words(words[i], 0))
