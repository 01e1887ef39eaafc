"""pcap and pcapng files as the kernel lab reads and writes them (Ethernet only), and
the `kind` label of the vector sets. Standard library only; used by lab.py."""
from __future__ import annotations

import struct
from pathlib import Path


def read_pcap(path):
    """[(sec, usec, data, orig_len)] of an Ethernet pcap."""
    d = Path(path).read_bytes()
    magic = d[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        raise SystemExit(f"kernel_lab: {path} is not a pcap file"
                         " (convert pcapng with editcap -F pcap)")
    nsec = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    if struct.unpack(e + "I", d[20:24])[0] != 1:
        raise SystemExit(f"kernel_lab: {path}: link type is not Ethernet")
    off, out = 24, []
    while off + 16 <= len(d):
        s, f, cl, ol = struct.unpack(e + "IIII", d[off:off + 16])
        off += 16
        out.append((s, f // 1000 if nsec else f, d[off:off + cl], ol))
        off += cl
    return out


def write_pcapng(path, interfaces, records):
    """interfaces: names; records: (iface_index, sec, usec, data, orig_len), in order."""
    def block(btype, body):
        body += b"\0" * (-len(body) % 4)
        n = len(body) + 12
        return struct.pack("<II", btype, n) + body + struct.pack("<I", n)

    def opt(code, val):
        return struct.pack("<HH", code, len(val)) + val + b"\0" * (-len(val) % 4)

    with open(path, "wb") as fh:
        fh.write(block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)
                       + opt(4, b"hashscope kernel lab") + opt(0, b"")))
        for name in interfaces:
            fh.write(block(1, struct.pack("<HHI", 1, 0, 0) + opt(2, name.encode())
                           + opt(9, b"\x06") + opt(0, b"")))
        for i, s, us, data, ol in records:
            ts = s * 1_000_000 + us
            fh.write(block(6, struct.pack("<IIIII", i, ts >> 32, ts & 0xFFFFFFFF, len(data), ol)
                           + data))


def frame_kind(fr: bytes, strip_outer_tag=False) -> str:
    """The `kind` label of the vector sets (what the frame is, before any hashing)."""
    if strip_outer_tag and fr[12:14] == b"\x81\x00":
        fr = fr[:12] + fr[16:]
    et, p = fr[12:14], fr[14:]
    if et == b"\x88\xa8" or (et == b"\x81\x00" and fr[16:18] in (b"\x81\x00", b"\x88\xa8")):
        return "qinq"
    if et == b"\x81\x00":
        return "vlan"
    if et == b"\x08\x06":
        return "arp"
    if et == b"\x08\x00":
        if len(p) < 20:
            return "trunc"
        ihl = (p[0] & 15) * 4
        if len(p) < ihl or len(p) < struct.unpack("!H", p[2:4])[0]:
            return "trunc"
        if struct.unpack("!H", p[6:8])[0] & 0x3FFF:
            return "frag"
        if ihl > 20:
            return "v4opts"
        if p[9] in (4, 41):
            return "ipip"
        if p[9] == 47 and p[ihl + 2:ihl + 4] in (b"\x08\x00", b"\x86\xdd"):
            return "gre"
        return "v4"
    if et == b"\x86\xdd":
        return {0: "v6ext", 44: "v6frag", 4: "sit", 41: "sit"}.get(p[6], "v6")
    return "other"


def read_sll2_pcap(path):
    """(file header bytes, [record]) of a LINKTYPE_LINUX_SLL2 (276) pcap, as tcpdump -i any
    writes it; each record a dict: sec, usec, data (the SLL2 header and packet), orig_len
    and the header's fields (protocol, ifindex, hatype, pkttype, addr: halen bytes)."""
    d = Path(path).read_bytes()
    e = {b"\xd4\xc3\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">"}.get(d[:4])
    if e is None or struct.unpack(e + "I", d[20:24])[0] != 276:
        raise SystemExit(f"kernel_lab: {path}: not a microsecond LINUX_SLL2 pcap")
    off, out = 24, []
    while off + 16 <= len(d):
        s, us, cl, ol = struct.unpack(e + "IIII", d[off:off + 16])
        data = d[off + 16:off + 16 + cl]
        proto, mbz, ifindex, hatype, pkttype, halen = struct.unpack("!HHIHBB", data[:12])
        out.append({"sec": s, "usec": us, "data": data, "orig_len": ol, "protocol": proto,
                    "reserved": mbz, "ifindex": ifindex, "hatype": hatype, "pkttype": pkttype,
                    "addr": data[12:12 + min(halen, 8)]})
        off += 16 + cl
    return d[:24], out


def write_pcap(path, header: bytes, records):
    """A pcap with the given 24-byte file header; records (sec, usec, data, orig_len), in the
    header's byte order."""
    e = "<" if header[:4] == b"\xd4\xc3\xb2\xa1" else ">"
    with open(path, "wb") as fh:
        fh.write(header)
        for s, us, data, ol in records:
            fh.write(struct.pack(e + "IIII", s, us, len(data), ol) + data)
