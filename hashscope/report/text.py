"""Words for numbers: protocol names as a network engineer reads them."""

from __future__ import annotations

PROTOCOL_NAMES = {1: "icmp", 2: "igmp", 4: "ipip", 6: "tcp", 17: "udp", 33: "dccp", 41: "ipv6",
                  47: "gre", 50: "esp", 51: "ah", 58: "icmpv6", 89: "ospf", 103: "pim",
                  112: "vrrp", 132: "sctp", 136: "udplite"}


def protocol_name(proto: int, ip_version: int) -> str:
    if not ip_version:
        return ""
    return PROTOCOL_NAMES.get(proto, str(proto))
