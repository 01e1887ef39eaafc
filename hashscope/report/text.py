"""Words for numbers: protocol names as a network engineer reads them."""

from __future__ import annotations

PROTOCOL_NAMES = {1: "icmp", 2: "igmp", 4: "ipip", 6: "tcp", 17: "udp", 33: "dccp", 41: "ipv6",
                  47: "gre", 50: "esp", 51: "ah", 58: "icmpv6", 89: "ospf", 103: "pim",
                  112: "vrrp", 132: "sctp", 136: "udplite"}


def protocol_name(proto: int, ip_version: int) -> str:
    if not ip_version:
        return ""
    return PROTOCOL_NAMES.get(proto, str(proto))


# C0 and C1 controls, DEL, the line and paragraph separators, and the bidirectional
# formatting characters (which reorder what follows them on screen: U+202E makes "gpj.exe"
# of "exe.jpg").
_INVISIBLE = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))}
_INVISIBLE.update({c: f"\\u{c:04x}" for c in (0x061C, 0x200B, 0x200C, 0x200D, 0x200E,
                                              0x200F, 0x2028, 0x2029, *range(0x202A, 0x202F),
                                              *range(0x2066, 0x206A), 0xFEFF)})


def visible(text: str) -> str:
    """Text from a capture as a reader may safely see it: control and bidirectional
    formatting characters written out as escapes (``\\x1b``, ``\\u202e``), so that they
    neither move the cursor nor reorder the rest of the line; everything else as it is."""
    return text.translate(_INVISIBLE)
