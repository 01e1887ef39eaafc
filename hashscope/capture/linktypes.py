"""Link-layer header types hashscope decodes (LINKTYPE_* values as stored in captures)."""

ETHERNET = 1
NULL = 0  # BSD loopback: 4-byte address family in the capturing host's byte order
RAW = 101  # raw IPv4 or IPv6, told apart by the version nibble
RAW_DLT12 = 12  # DLT_RAW as some systems wrote it into pcap files
RAW_DLT14 = 14
LOOP = 108  # OpenBSD loopback: address family in network byte order
LINUX_SLL = 113  # Linux cooked capture v1
IPV4 = 228
IPV6 = 229
LINUX_SLL2 = 276  # Linux cooked capture v2 (carries the interface index)

NAMES = {
    ETHERNET: "Ethernet",
    NULL: "BSD loopback",
    RAW: "raw IP",
    RAW_DLT12: "raw IP",
    RAW_DLT14: "raw IP",
    LOOP: "OpenBSD loopback",
    LINUX_SLL: "Linux cooked v1",
    IPV4: "raw IPv4",
    IPV6: "raw IPv6",
    LINUX_SLL2: "Linux cooked v2",
}

SUPPORTED = frozenset(NAMES)


def describe(linktype: int) -> str:
    return NAMES.get(linktype, f"link type {linktype}")
