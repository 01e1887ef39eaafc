"""Rewrite a capture's TCP/UDP ports (both directions), keeping the checksums right.

The frames keep their captured and original lengths (a capture cut at 128 bytes stays
cut); the TCP/UDP checksum is updated incrementally for each changed port (RFC 1624), so
it is as right as it was over the full frame, even where the capture holds only part.

Made the input of captures/scenarios/iperf3-P4-planned/ from iperf3-P4-lacp's:

    .venv/bin/python tools/rewrite_ports.py captures/scenarios/iperf3-P4-lacp/input.pcap \
        planned.pcap 50000=50000 50001=50002 50002=50004 50003=50006

(the four ports of ``hashscope plan --policy layer3+4 --links 4 --src 198.51.100.10
--dst 198.51.100.20 --dport 5201 --streams 4``). Ethernet pcap, IPv4 or IPv6.
"""

from __future__ import annotations

import struct
import sys


def _fold(x: int) -> int:
    while x >> 16:
        x = (x & 0xFFFF) + (x >> 16)
    return x


def update_checksum(csum: int, old: int, new: int) -> int:
    """RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m')."""
    return ~_fold((~csum & 0xFFFF) + (~old & 0xFFFF) + new) & 0xFFFF


def rewrite_frame(frame: bytearray, ports: dict[int, int]) -> bool:
    """Replace the ports of one Ethernet frame in place; True if it changed."""
    etype, off = struct.unpack_from("!H", frame, 12)[0], 14
    while etype in (0x8100, 0x88A8) and len(frame) >= off + 4:
        etype, off = struct.unpack_from("!H", frame, off + 2)[0], off + 4
    if etype == 0x0800 and len(frame) >= off + 20:
        proto, l4 = frame[off + 9], off + (frame[off] & 15) * 4
    elif etype == 0x86DD and len(frame) >= off + 40:
        proto, l4 = frame[off + 6], off + 40
    else:
        return False
    sum_at = {6: 16, 17: 6}.get(proto)
    if sum_at is None or len(frame) < l4 + sum_at + 2:
        return False
    changed = False
    for at in (l4, l4 + 2):
        old = struct.unpack_from("!H", frame, at)[0]
        new = ports.get(old, old)
        if new != old:
            struct.pack_into("!H", frame, at, new)
            csum = struct.unpack_from("!H", frame, l4 + sum_at)[0]
            if not (proto == 17 and csum == 0):  # UDP over IPv4 without a checksum
                struct.pack_into("!H", frame, l4 + sum_at, update_checksum(csum, old, new))
            changed = True
    return changed


def rewrite(src: str, dst: str, ports: dict[int, int]) -> int:
    """Copy the pcap ``src`` to ``dst`` with every port in ``ports`` replaced; returns the
    number of frames changed."""
    data = open(src, "rb").read()
    magic = data[:4]
    end = {b"\xd4\xc3\xb2\xa1": "<", b"\x4d\x3c\xb2\xa1": "<",
           b"\xa1\xb2\xc3\xd4": ">", b"\xa1\xb2\x3c\x4d": ">"}[magic]
    out, pos, changed = [data[:24]], 24, 0
    while pos + 16 <= len(data):
        caplen = struct.unpack_from(end + "I", data, pos + 8)[0]
        frame = bytearray(data[pos + 16:pos + 16 + caplen])
        changed += rewrite_frame(frame, ports)
        out += [data[pos:pos + 16], bytes(frame)]
        pos += 16 + caplen
    open(dst, "wb").write(b"".join(out))
    return changed


def main(argv: list[str]) -> None:
    src, dst, *pairs = argv
    ports = {int(a): int(b) for a, b in (p.split("=") for p in pairs)}
    print(f"{rewrite(src, dst, ports)} frames rewritten")


if __name__ == "__main__":
    main(sys.argv[1:])
