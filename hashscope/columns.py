"""The decoded packet table: one row per packet, its layout declared as data.

Every field the hash algorithms of Linux bonding, FreeBSD lagg, Open vSwitch
and the switch models read is here, decoded once. Multi-byte header fields
are stored as host integers holding the *network-order* value (a port 443 is
443, address 10.0.0.1 is 0x0a000001); the hash core re-creates the kernels'
raw little-endian loads from them explicitly.

Addresses are 128-bit, split into ``*_hi`` and ``*_lo``; an IPv4 address is
``hi = 0, lo = address``. MACs are 48-bit integers (``00:1b:21:aa:bb:01`` is
0x001b21aabb01).
"""

from __future__ import annotations

import numpy as np

#: How far a packet was decoded (column ``depth``).
DEPTH_NONE = 0  #: not even the link-layer header (or a link type not decoded)
DEPTH_LINK = 1  #: link layer (MACs, VLAN tags, ethertype)
DEPTH_NET = 2  #: network header (addresses, protocol, fragment fields)
DEPTH_TRANSPORT = 3  #: transport fields (ports / SPI / ICMP type, code, id)
DEPTH_INNER_NET = 4  #: inner network header (tunnel payload or ICMP error's embedded header)
DEPTH_INNER_TRANSPORT = 5  #: inner transport fields

#: What the ``inner_*`` fields describe (column ``inner``).
INNER_NONE = 0
INNER_IP_IN_IP = 1  #: IPv4/IPv6 carried directly in IPv4/IPv6 (protocols 4 and 41)
INNER_GRE = 2  #: IPv4/IPv6 carried in GRE
INNER_GRE_ETH = 3  #: Ethernet carried in GRE (0x6558); inner Ethernet header skipped
INNER_ICMP_ERROR = 4  #: the IP header embedded in an ICMP/ICMPv6 error

#: Which way a frame went through its capture interface (column ``direction``, and
#: :attr:`hashscope.capture.records.RecordBatch.direction`): from a pcapng Enhanced Packet
#: Block's ``epb_flags`` option, else from a Linux cooked capture's packet type.
DIRECTION_UNKNOWN = 0  #: the capture does not say
DIRECTION_RECEIVED = 1  #: inbound (epb_flags 01; PACKET_HOST, BROADCAST, MULTICAST, OTHERHOST)
DIRECTION_SENT = 2  #: outbound (epb_flags 10; PACKET_OUTGOING)

#: Bits of ``mac_ok``.
MAC_DST = 1
MAC_SRC = 2

#: Bits of ``ip6_ext``: the IPv6 extension headers met before the upper-layer header.
EXT_HOPOPTS = 1
EXT_ROUTING = 2
EXT_FRAGMENT = 4
EXT_DSTOPTS = 8
EXT_OTHER = 16  #: an extension header hashscope does not walk (e.g. mobility, HIP)

#: Bits of ``frag`` (IPv4 flags/offset, or the IPv6 fragment header).
FRAG_ANY = 1  #: the packet is a fragment (first or not)
FRAG_MORE = 2  #: more-fragments flag
FRAG_LATER = 4  #: not the first fragment (offset > 0): no transport header

#: Bytes of each frame kept raw in the ``head`` column.
HEAD_BYTES = 64

_TRANSPORT = [
    ("sport", np.uint16),  # TCP, UDP, UDP-Lite, SCTP, DCCP source port
    ("dport", np.uint16),
    ("spi", np.uint32),  # ESP / AH security parameter index
    ("icmp_type", np.uint8),
    ("icmp_code", np.uint8),
    ("icmp_id", np.uint16),  # ICMP/ICMPv6 bytes 4-5: the identifier of echo and timestamp
    ("tcp_flags", np.uint8),
]

PACKET_DTYPE = np.dtype(
    [
        ("ts_ns", np.int64),  # nanoseconds since 1970-01-01 UTC
        ("wirelen", np.uint32),  # original length on the wire
        ("caplen", np.uint32),  # bytes captured
        ("iface", np.int32),  # capture interface (index into the interface registry)
        ("depth", np.uint8),  # DEPTH_*
        ("cut", np.uint8),  # 1: decoding stopped because the captured bytes ran out
        # link layer
        ("mac_ok", np.uint8),  # MAC_DST | MAC_SRC: which MACs the link type carries
        ("dst_mac", np.uint64),
        ("src_mac", np.uint64),
        ("pkttype", np.int8),  # Linux cooked capture packet type (4 = outgoing), else -1
        ("direction", np.int8),  # DIRECTION_*, as the capture says (record's direction)
        ("ll_ifindex", np.int32),  # Linux cooked v2 interface index, else -1
        ("eth_type", np.uint16),  # the type field right after the MACs (a TPID if tagged)
        ("vlan_n", np.uint8),  # number of 802.1Q/802.1ad tags in the frame
        ("vlan0_tpid", np.uint16),  # outer tag
        ("vlan0_tci", np.uint16),
        ("vlan1_tpid", np.uint16),  # second tag
        ("vlan1_tci", np.uint16),
        ("ethertype", np.uint16),  # the type after all tags (0 for 802.3 length frames)
        ("l3_off", np.int16),  # offset of the network header in the frame, -1 if none
        # network layer
        ("ip_ver", np.uint8),  # 4, 6, or 0 (not IP)
        ("src_hi", np.uint64),
        ("src_lo", np.uint64),
        ("dst_hi", np.uint64),
        ("dst_lo", np.uint64),
        ("ip_hlen", np.uint16),  # IPv4 IHL*4; IPv6 40 plus the extension headers walked
        ("ip_len", np.uint16),  # IPv4 total length; IPv6 payload length + 40
        ("ip_ttl", np.uint8),  # TTL / hop limit
        ("frag", np.uint8),  # FRAG_* bits
        ("frag_off", np.uint16),  # fragment offset in 8-byte units
        ("ip6_flow", np.uint32),  # IPv6 flow label (20 bits)
        ("ip6_nh", np.uint8),  # IPv6: Next Header of the fixed header; IPv4: protocol
        ("ip6_ext", np.uint8),  # EXT_* bits
        ("proto", np.uint8),  # upper-layer protocol (after extension headers)
        ("l4_off", np.int16),  # offset of the transport header, -1 if not reached
        *_TRANSPORT,
        # inner header: tunnel payload, or the header embedded in an ICMP error
        ("inner", np.uint8),  # INNER_*
        ("gre_flags", np.uint16),  # first 16 bits of the GRE header
        ("gre_proto", np.uint16),
        ("gre_key", np.uint32),
        ("inner_l3_off", np.int16),
        ("inner_ver", np.uint8),
        ("inner_src_hi", np.uint64),
        ("inner_src_lo", np.uint64),
        ("inner_dst_hi", np.uint64),
        ("inner_dst_lo", np.uint64),
        ("inner_frag", np.uint8),
        ("inner_ip6_flow", np.uint32),
        ("inner_proto", np.uint8),
        ("inner_l4_off", np.int16),
        *[("inner_" + name, t) for name, t in _TRANSPORT],
        # the frame's first bytes as captured (zeros past caplen), for algorithms that read
        # fixed frame offsets whatever the protocol (FreeBSD's in-frame VLAN path, 28-31)
        ("head", np.uint8, (HEAD_BYTES,)),
    ],
    align=True,  # aligned fields: the compiled decoder stores them faster
)

#: Transport protocols whose first 4 bytes are source and destination port.
PORT_PROTOCOLS = (6, 17, 33, 132, 136)  # TCP, UDP, DCCP, SCTP, UDP-Lite
