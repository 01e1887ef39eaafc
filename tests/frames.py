"""Hand-made frames for tests that need one exact header (worked examples)."""

from __future__ import annotations

import struct

import numpy as np

from hashscope import read_packets
from hashscope.columns import PACKET_DTYPE


def ether_frame(dst: str, src: str, payload: bytes) -> bytes:
    """An Ethernet frame; payload starts with the type field."""
    return bytes.fromhex(dst.replace(":", "")) + bytes.fromhex(src.replace(":", "")) + payload


def ipv4_packet(proto: int, src: str, dst: str, l4: bytes) -> bytes:
    hdr = bytes([0x45, 0, 0, 20 + len(l4), 0, 0, 0x40, 0, 64, proto, 0, 0])
    return b"\x08\x00" + hdr + bytes(map(int, src.split("."))) + \
        bytes(map(int, dst.split("."))) + l4


def packet_table(frames: list[bytes], tmp_path, snap: int = 65535) -> np.ndarray:
    """The frames written as an Ethernet pcap (cut at ``snap`` bytes) and read back."""
    path = tmp_path / "f.pcap"
    with open(path, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for f in frames:
            cut = f[:snap]
            out.write(struct.pack("<IIII", 0, 0, len(cut), len(f)) + cut)
    table = read_packets([str(path)])
    assert table.dtype == PACKET_DTYPE
    return table


def pcapng_block(btype: int, body: bytes) -> bytes:
    """A little-endian pcapng block: type, total length, the body padded to 32 bits, length."""
    body += b"\0" * (-len(body) % 4)
    n = 12 + len(body)
    return struct.pack("<II", btype, n) + body + struct.pack("<I", n)


def pcapng_option(code: int, value: bytes) -> bytes:
    """One pcapng option (little-endian), padded to 32 bits."""
    return struct.pack("<HH", code, len(value)) + value + b"\0" * (-len(value) % 4)
