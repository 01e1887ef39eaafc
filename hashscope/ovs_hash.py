"""Open vSwitch hash functions (lib/hash.h, lib/jhash.c, lib/flow.c), over whole columns.

The primitives take and return numpy ``uint32`` arrays (arithmetic wraps modulo 2^32),
so one call hashes a whole batch; the flow hashes (:func:`flow_hash_5tuple`,
:func:`flow_hash_symmetric_l4`) take the packet table and return (hash, valid).

OVS hashes *memory words*: a field stored in network order (an address, a port) is
loaded little-endian on x86, i.e. its column value (the network-order number) is
byte-swapped first; :func:`le32_of_be32` and friends say so where they happen.

``lib/hash.h`` has two build flavours, chosen by the compiler, not by configuration:

- ``"generic"``: Murmur3 steps (any build without ``-msse4.2``; distribution packages,
  XCP-ng / XenServer);
- ``"sse42"``: CRC32C steps (``__SSE4_2__ && __x86_64__``, e.g. ``-march=native``).

Both are identical in OVS 2.5.3 and current master (research note other_hashes.md
§1.2); checked on the note's worked examples (§1.8).
"""

from __future__ import annotations

import numpy as np

from .columns import DEPTH_LINK, DEPTH_NET, DEPTH_TRANSPORT, FRAG_LATER, MAC_DST, MAC_SRC

U32 = np.uint32
FLAVOURS = ("generic", "sse42")
ETH_TYPE_ARP = 0x0806
FLOW_DL_TYPE_NONE = 0x05FF  #: struct flow's dl_type of an 802.3 length frame
TP_PROTOS_5TUPLE = (6, 17, 132, 1, 58)  #: protocols whose tp_src/tp_dst flow_hash_5tuple adds
MAC_BOTH = MAC_DST | MAC_SRC


def _u32(x) -> np.ndarray:
    """A uint32 array (at least 1-d, so that wrap-around never warns on a scalar)."""
    return np.atleast_1d(np.asarray(x, dtype=np.uint64) & np.uint64(0xFFFFFFFF)).astype(U32)


def _rotl(x: np.ndarray, r: int) -> np.ndarray:
    return (x << U32(r)) | (x >> U32(32 - r))


def _crc32c_table() -> np.ndarray:
    t = np.arange(256, dtype=U32)
    for _ in range(8):
        t = np.where(t & U32(1), (t >> U32(1)) ^ U32(0x82F63B78), t >> U32(1)).astype(U32)
    return t


CRC32C = _crc32c_table()


def crc32c_bytes(h: np.ndarray, data: np.ndarray, nbytes: int) -> np.ndarray:
    """_mm_crc32_u32/_u64: raw CRC32C (no inversions) of the low ``nbytes`` of ``data``,
    least significant byte first (the little-endian memory order of the word)."""
    h = _u32(h)
    data = np.atleast_1d(np.asarray(data, dtype=np.uint64))
    for i in range(nbytes):
        byte = ((data >> np.uint64(8 * i)) & np.uint64(0xFF)).astype(U32)
        h = CRC32C[(h ^ byte) & U32(0xFF)] ^ (h >> U32(8))
    return h


def mhash_add(h: np.ndarray, d: np.ndarray) -> np.ndarray:
    """mhash_add (lib/hash.h): one Murmur3 body step. (2.5.3 also multiplies when d == 0;
    newer OVS skips it: the result is the same.)"""
    k = _rotl(_u32(d) * U32(0xCC9E2D51), 15) * U32(0x1B873593)
    h = _u32(h) ^ k
    return _rotl(h, 13) * U32(5) + U32(0xE6546B64)


def mhash_finish(h: np.ndarray) -> np.ndarray:
    """mhash_finish (lib/hash.h): the Murmur3 fmix32."""
    h = _u32(h)
    h = (h ^ (h >> U32(16))) * U32(0x85EBCA6B)
    h = (h ^ (h >> U32(13))) * U32(0xC2B2AE35)
    return h ^ (h >> U32(16))


def hash_add(h, d, flavour: str = "generic") -> np.ndarray:
    """hash_add (lib/hash.h): fold the 32-bit word d into h."""
    if flavour == "sse42":
        return crc32c_bytes(h, _u32(d), 4)
    return mhash_add(h, d)


def hash_add64(h, d, flavour: str = "generic") -> np.ndarray:
    """hash_add64 (lib/hash.h): the 64-bit word d, low half first (generic) or as 8 CRC
    bytes (SSE4.2): both follow the word's little-endian memory order."""
    d = np.atleast_1d(np.asarray(d, dtype=np.uint64))
    if flavour == "sse42":
        return crc32c_bytes(h, d, 8)
    return mhash_add(mhash_add(h, d & np.uint64(0xFFFFFFFF)), d >> np.uint64(32))


def hash_finish(h, final: int, flavour: str = "generic") -> np.ndarray:
    """hash_finish (lib/hash.h). Generic: fmix32(h ^ final). SSE4.2:
    x = crc32c_u64(h, final) * 0x805204f3 (low 32 bits), x ^ (x >> 16)."""
    if flavour == "sse42":
        x = crc32c_bytes(h, final, 8) * U32(0x805204F3)
        return x ^ (x >> U32(16))
    return mhash_finish(_u32(h) ^ U32(final))


def hash_uint64_basis(x, basis: int, flavour: str = "generic") -> np.ndarray:
    """hash_uint64_basis (lib/hash.h): finish(add64(basis, x), 8); 23 in the SSE4.2 build."""
    h = np.full(np.shape(np.atleast_1d(x)), basis, dtype=U32)
    return hash_finish(hash_add64(h, x, flavour), 23 if flavour == "sse42" else 8, flavour)


def hash_int(x, basis: int, flavour: str = "generic") -> np.ndarray:
    """hash_int (lib/hash.h): generic finish(add(add(x, 0), basis), 8); SSE4.2
    hash_uint64_basis(basis << 32 | x, 0). OVS-DPDK's dp_hash of a NIC RSS hash."""
    if flavour == "sse42":
        x64 = (np.uint64(basis) << np.uint64(32)) | _u32(x).astype(np.uint64)
        return hash_uint64_basis(x64, 0, flavour)
    h = hash_add(hash_add(_u32(x), 0), basis)
    return hash_finish(h, 8)


def hash_mac(mac, vid, basis: int, flavour: str = "generic") -> np.ndarray:
    """hash_mac (lib/packets.h): hash_uint64_basis(vid << 48 | MAC, basis), the MAC as the
    48-bit big-endian number (eth_addr_vlan_to_uint64)."""
    mac = np.asarray(mac, dtype=np.uint64) & np.uint64(0xFFFFFFFFFFFF)
    x = (np.asarray(vid, dtype=np.uint64) << np.uint64(48)) | mac
    return hash_uint64_basis(x, basis, flavour)


# -- byte order: column values are network-order numbers; OVS loads memory words --------

def bswap16(x) -> np.ndarray:
    return np.asarray(x, dtype=np.uint16).byteswap().astype(U32)


def le32_of_be32(x) -> np.ndarray:
    """The x86 load of a 4-byte network-order field (an IPv4 address)."""
    return np.asarray(x, dtype=np.uint64).astype(U32).byteswap()


def le64_of_be64(x) -> np.ndarray:
    """The x86 load of 8 network-order bytes (half of an IPv6 address)."""
    return np.asarray(x, dtype=np.uint64).byteswap()


def le32_ports(sport, dport) -> np.ndarray:
    """The x86 load of two consecutive ovs_be16 fields (struct flow's tp_src, tp_dst)."""
    return bswap16(sport) | (bswap16(dport) << U32(16))


# -- Bob Jenkins lookup3 as in lib/jhash.c ----------------------------------------------

def jhash_mix(a, b, c):
    """jhash_mix (lib/jhash.c)."""
    for x, y, z, r in ((0, 2, 1, 4), (1, 0, 2, 6), (2, 1, 0, 8),
                       (0, 2, 1, 16), (1, 0, 2, 19), (2, 1, 0, 4)):
        v = [a, b, c]
        v[x] = (v[x] - v[y]) ^ _rotl(v[y], r)
        v[y] = v[y] + v[z]
        a, b, c = v
    return a, b, c


def jhash_final(a, b, c):
    """jhash_final (lib/jhash.c)."""
    for x, y, r in ((2, 1, 14), (0, 2, 11), (1, 0, 25), (2, 1, 16),
                    (0, 2, 4), (1, 0, 14), (2, 1, 24)):
        v = [a, b, c]
        v[x] = (v[x] ^ v[y]) - _rotl(v[y], r)
        a, b, c = v
    return a, b, c


def jhash_words(words: np.ndarray, basis: int) -> np.ndarray:
    """jhash_bytes (lib/jhash.c) of rows of little-endian 32-bit words: ``words`` is
    (rows, k) uint32, the byte length is 4k, not a multiple of 12 (the only use is the
    32-byte struct of flow_hash_symmetric_l4): whole 12-byte blocks are mixed, the
    zero-filled last block is finalised."""
    rows, k = words.shape
    if k % 3 == 0:
        raise ValueError("jhash_words: a multiple of 12 bytes is not modelled")
    init = U32((0xDEADBEEF + 4 * k + basis) & 0xFFFFFFFF)
    a = np.full(rows, init, U32)
    b, c = a.copy(), a.copy()
    i = 0
    while k - i > 3:
        a, b, c = a + words[:, i], b + words[:, i + 1], c + words[:, i + 2]
        a, b, c = jhash_mix(a, b, c)
        i += 3
    if i < k:
        rest = np.zeros((rows, 3), U32)
        rest[:, :k - i] = words[:, i:]
        a, b, c = jhash_final(a + rest[:, 0], b + rest[:, 1], c + rest[:, 2])
    return c


# -- struct flow fields and the flow hashes (lib/flow.c) ------------------------------

def check_flavour(flavour: str) -> None:
    if flavour not in FLAVOURS:
        raise ValueError(f"flavour must be one of {FLAVOURS}, not {flavour!r}")


def bond_vid(packets: np.ndarray) -> np.ndarray:
    """The VLAN ID a frame carries on the bond (output_normal's out_xvlan.v[0].vid), 0 if
    untagged: the outer tag of the capture."""
    return np.where(packets["vlan_n"] > 0, packets["vlan0_tci"] & 0x0FFF, 0).astype(np.uint32)


def _is_ip(packets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    net = packets["depth"] >= DEPTH_NET
    return net & (packets["ip_ver"] == 4), net & (packets["ip_ver"] == 6)


def _ports_missing(packets: np.ndarray, protos) -> np.ndarray:
    """Packets whose hash needs tp_src/tp_dst the capture did not keep (later fragments
    have none: OVS sets them to 0, like the decoder)."""
    wants = np.isin(packets["proto"], protos) & ~(packets["frag"] & FRAG_LATER).astype(bool)
    return wants & (packets["depth"] < DEPTH_TRANSPORT)


def _tp_word(packets: np.ndarray, protos) -> np.ndarray:
    """The x86 load of struct flow's tp_src, tp_dst: ports, or ICMP type and code."""
    icmp = np.isin(packets["proto"], (1, 58))
    sport = np.where(icmp, packets["icmp_type"], packets["sport"])
    dport = np.where(icmp, packets["icmp_code"], packets["dport"])
    word = le32_ports(sport, dport)
    return np.where(np.isin(packets["proto"], protos), word, U32(0))


def arp_fields(packets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(is Ethernet/IPv4 ARP with its fields captured, SPA, TPA, nw_proto) from the raw
    head bytes, as flow_extract reads them (lib/flow.c: nw_proto = opcode if < 256)."""
    n = len(packets)
    off = 14 + 4 * packets["vlan_n"].astype(np.int64)
    arp = (packets["ethertype"] == ETH_TYPE_ARP) & (packets["mac_ok"] == MAC_BOTH)
    ok = arp & (off + 28 <= np.minimum(packets["caplen"], packets["head"].shape[1]))
    rows = np.nonzero(ok)[0]
    idx = off[rows, None] + np.arange(28)
    b = packets["head"][rows[:, None], idx].astype(np.uint32)
    eth_ip = (b[:, 0:6] == np.array([0, 1, 8, 0, 6, 4])).all(axis=1)
    spa, tpa, proto = (np.zeros(n, np.uint32) for _ in range(3))

    def be32(at):
        return (b[:, at] << 24) | (b[:, at + 1] << 16) | (b[:, at + 2] << 8) | b[:, at + 3]

    spa[rows] = np.where(eth_ip, be32(14), 0)
    tpa[rows] = np.where(eth_ip, be32(24), 0)
    proto[rows] = np.where(eth_ip & (b[:, 6] == 0), b[:, 7], 0)
    return ok, spa, tpa, proto


def flow_hash_5tuple(packets: np.ndarray, basis: int = 0, flavour: str = "generic"
                     ) -> tuple[np.ndarray, np.ndarray]:
    """flow_hash_5tuple (lib/flow.c, OVS 2.8+; = miniflow_hash_5tuple): (hash, valid).

    IPv6: the 32 address bytes as four little-endian 64-bit words; IPv4 (and ARP's SPA,
    TPA): the two addresses as little-endian words; then nw_proto, then for TCP, UDP,
    SCTP, ICMP, ICMPv6 the tp_src/tp_dst word. Any other frame: finish(basis, 42).
    """
    check_flavour(flavour)
    n = len(packets)
    v4, v6 = _is_ip(packets)
    arp, spa, tpa, arp_proto = arp_fields(packets)
    h = np.full(n, basis, U32)
    for col in ("src_hi", "src_lo", "dst_hi", "dst_lo"):
        h = np.where(v6, hash_add64(h, le64_of_be64(packets[col]), flavour), h)
    four = v4 | arp
    src = np.where(arp, spa, packets["src_lo"].astype(np.uint32))
    dst = np.where(arp, tpa, packets["dst_lo"].astype(np.uint32))
    h = np.where(four, hash_add(hash_add(h, le32_of_be32(src), flavour), le32_of_be32(dst),
                                flavour), h)
    ip = v4 | v6
    proto = np.where(arp, arp_proto, packets["proto"]).astype(np.uint32)
    h = np.where(ip | arp, hash_add(h, proto, flavour), h)
    tp = np.where(arp, U32(0), _tp_word(packets, TP_PROTOS_5TUPLE))
    h = np.where((ip | arp) & np.isin(proto, TP_PROTOS_5TUPLE), hash_add(h, tp, flavour), h)
    valid = (packets["depth"] >= DEPTH_LINK) | ip
    valid &= ~(ip & _ports_missing(packets, TP_PROTOS_5TUPLE))
    valid &= ~((packets["ethertype"] == ETH_TYPE_ARP) & ~arp)
    return hash_finish(h, 42, flavour), valid


def flow_hash_symmetric_l4(packets: np.ndarray, basis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """bond_hash_tcp (ofproto/bond.c, OVS <= 2.7, e.g. XCP-ng 8.2's 2.5.3) =
    flow_hash_symmetric_l4 (lib/flow.c) with vlan_tci := the bond VID: jhash_bytes over

    ``ip_xor[16] | eth_type be16 | vid be16 | port_xor be16 (TCP, SCTP only) | mac_xor[6] |
    ip_proto | 3 zero bytes`` = 8 little-endian words. Needs both MACs.
    """
    v4, v6 = _is_ip(packets)
    ip = v4 | v6
    w = np.zeros((len(packets), 8), U32)
    for k, col in ((0, "hi"), (2, "lo")):
        x = le64_of_be64(packets["src_" + col] ^ packets["dst_" + col])
        w[:, k] = np.where(v6, x & np.uint64(0xFFFFFFFF), 0).astype(U32)
        w[:, k + 1] = np.where(v6, x >> np.uint64(32), 0).astype(U32)
    w[:, 0] |= np.where(v4, le32_of_be32(packets["src_lo"] ^ packets["dst_lo"]), U32(0))
    eth_type = np.where(packets["ethertype"] == 0, FLOW_DL_TYPE_NONE, packets["ethertype"])
    w[:, 4] = bswap16(eth_type) | (bswap16(bond_vid(packets)) << U32(16))
    tcp_sctp = ip & np.isin(packets["proto"], (6, 132))
    port_xor = np.where(tcp_sctp, packets["sport"] ^ packets["dport"], 0)
    mac = (packets["src_mac"] ^ packets["dst_mac"]).byteswap() >> np.uint64(16)  # LE bytes
    w[:, 5] = bswap16(port_xor) | ((mac & np.uint64(0xFFFF)) << np.uint64(16)).astype(U32)
    w[:, 6] = (mac >> np.uint64(16)).astype(U32)
    w[:, 7] = np.where(ip, packets["proto"], 0).astype(U32)
    valid = (packets["mac_ok"] == MAC_BOTH) & ~(ip & _ports_missing(packets, (6, 132)))
    return jhash_words(w, basis), valid
