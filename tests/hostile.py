"""A small valid pcapng whose text is hostile: markup, TeX, a bidi override in the
interface names, comments and descriptions, for the tests of what reports do with the text a
capture carries (``from hostile import write_hostile_pcapng``).

The frames are real Ethernet/IPv4/TCP frames of a few flows from one bond MAC to a few
destinations; the interface with a snapshot length of 96 has some frames cut by it; each
interface ends with an Interface Statistics Block.
"""

from __future__ import annotations

import socket
import struct
from pathlib import Path

import dpkt

SCRIPT = "</script><img src=x onerror=alert(1)>"
TEX = "$\\frac{1}{$"
BIDI = "eth\u202e1"
#: the three interfaces, in IDB order (all LINKTYPE_ETHERNET)
NAMES = (SCRIPT, "_eth0", BIDI)
SNAPLENS = (0, 0, 96)  #: 0: no limit
SHB_COMMENT = SCRIPT
SHB_USERAPPL = TEX
DESCRIPTION = TEX + " <b>bold</b>"  #: the if_description of NAMES[1]
IDB_COMMENT = "<!-- interface comment --> \u202ebidi"  #: an opt_comment of NAMES[1]'s IDB
EPB_COMMENT = "<script>window.__pwned=1</script>"
BOND_MAC = "52:54:00:00:00:01"
#: destination (MAC, IPv4) of the flows
DESTINATIONS = (("52:54:00:00:10:01", "10.0.1.1"), ("52:54:00:00:10:02", "10.0.1.2"),
                ("52:54:00:00:10:03", "10.0.1.3"))
#: (interface index, source port, destination, payload bytes) of each frame, in order
FRAMES = (
    (0, 40001, 0, 10), (0, 40002, 1, 200), (0, 40003, 2, 0), (0, 40001, 0, 1400),
    (1, 40011, 1, 20), (1, 40012, 2, 500), (1, 40013, 0, 0),
    (2, 40021, 2, 100), (2, 40022, 0, 0), (2, 40023, 1, 30), (2, 40021, 2, 1000),
    (2, 40024, 0, 42),
)
#: the counters of each interface's Interface Statistics Block
STATS = ({"ifrecv": 4, "ifdrop": 0},
         {"ifrecv": 10, "ifdrop": 7, "osdrop": 2},
         {"ifrecv": 6, "ifdrop": 1, "filteraccept": 5})
_ISB_CODES = {"ifrecv": 4, "ifdrop": 5, "filteraccept": 6, "osdrop": 7, "usrdeliv": 8}


def block(btype: int, body: bytes) -> bytes:
    """A little-endian pcapng block: type, total length, the body padded to 32 bits,
    length."""
    body += b"\0" * (-len(body) % 4)
    n = 12 + len(body)
    return struct.pack("<II", btype, n) + body + struct.pack("<I", n)


def option(code: int, value: bytes | str) -> bytes:
    """One little-endian pcapng option, padded to 32 bits (a str is written as UTF-8)."""
    if isinstance(value, str):
        value = value.encode("utf-8")
    return struct.pack("<HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


END = b"\0\0\0\0"  #: opt_endofopt


def isb(interface: int, counters: dict[str, int], ts: int = 0) -> bytes:
    """An Interface Statistics Block with the given counters (see STATS)."""
    opts = b"".join(option(_ISB_CODES[k], struct.pack("<Q", v)) for k, v in counters.items())
    return block(5, struct.pack("<III", interface, ts >> 32, ts & 0xFFFFFFFF) + opts + END)


def frame(sport: int, dest: int, payload: int) -> bytes:
    """An Ethernet/IPv4/TCP frame from the bond to DESTINATIONS[dest]."""
    mac, ip = DESTINATIONS[dest]
    tcp = dpkt.tcp.TCP(sport=sport, dport=443, seq=1000 + payload, flags=dpkt.tcp.TH_ACK,
                       data=bytes(range(256)) * (payload // 256) + bytes(range(payload % 256)))
    ipv4 = dpkt.ip.IP(src=socket.inet_aton("10.0.0.1"), dst=socket.inet_aton(ip),
                      p=dpkt.ip.IP_PROTO_TCP, ttl=64, data=tcp)
    eth = dpkt.ethernet.Ethernet(dst=bytes.fromhex(mac.replace(":", "")),
                                 src=bytes.fromhex(BOND_MAC.replace(":", "")),
                                 type=dpkt.ethernet.ETH_TYPE_IP, data=ipv4)
    return bytes(eth)


def expected_snapped() -> dict[str, int]:
    """How many frames of each interface its snapshot length cuts."""
    cut = dict.fromkeys(NAMES, 0)
    for i, sport, dest, payload in FRAMES:
        if SNAPLENS[i] and len(frame(sport, dest, payload)) > SNAPLENS[i]:
            cut[NAMES[i]] += 1
    return cut


def write_hostile_pcapng(path: str | Path) -> Path:
    """Write the fixture (see the module's constants for what it holds); returns the
    path."""
    path = Path(path)
    out = [block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)
                 + option(1, SHB_COMMENT) + option(4, SHB_USERAPPL) + END)]
    for i, name in enumerate(NAMES):
        opts = option(2, name)
        if i == 1:
            opts += option(3, DESCRIPTION) + option(1, IDB_COMMENT)
        out.append(block(1, struct.pack("<HHI", 1, 0, SNAPLENS[i]) + opts + END))
    ts = 1_700_000_000_000_000  # microseconds
    for k, (i, sport, dest, payload) in enumerate(FRAMES):
        data = frame(sport, dest, payload)
        cap = data[: SNAPLENS[i]] if SNAPLENS[i] else data
        opts = option(1, EPB_COMMENT) + END if k == 1 else b""
        ts += 1000
        body = struct.pack("<IIIII", i, ts >> 32, ts & 0xFFFFFFFF, len(cap), len(data))
        out.append(block(6, body + cap + b"\0" * (-len(cap) % 4) + opts))
    for i, counters in enumerate(STATS):
        out.append(isb(i, counters, ts))
    path.write_bytes(b"".join(out))
    return path
