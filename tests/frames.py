"""Hand-made frames for tests that need one exact header (worked examples)."""

from __future__ import annotations

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
    import struct
    path = tmp_path / "f.pcap"
    with open(path, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for f in frames:
            cut = f[:snap]
            out.write(struct.pack("<IIII", 0, 0, len(cut), len(f)) + cut)
    table = read_packets([str(path)])
    assert table.dtype == PACKET_DTYPE
    return table
