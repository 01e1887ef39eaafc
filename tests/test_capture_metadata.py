"""What the capture layer tells a post-mortem report about the captures themselves: frames
cut by the snapshot length, the Interface Statistics Blocks' counters, and the text the
capture carries (bounded, never trusted), on the hostile fixture and on real captures,
with tshark as the reference."""

from __future__ import annotations

import struct
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter

import hostile
import pytest
from helpers import SHARED_TCPDUMP, TCPDUMP, TSHARK, needs_tshark
from hostile import END, block, isb, option, write_hostile_pcapng

from hashscope import CaptureReader
from hashscope.capture import pcapng
from hashscope.decode.merge import TimeOrderedReader


def read(*paths, **kw) -> CaptureReader:
    reader = CaptureReader([str(p) for p in paths], **kw)
    for _ in reader.batches():
        pass
    return reader


@pytest.fixture
def fixture(tmp_path):
    return write_hostile_pcapng(tmp_path / "hostile.pcapng")


# --- tshark as the reference -----------------------------------------------------------------

def tshark_snapped(path) -> Counter:
    """{interface id: frames whose cap_len < len}, and the frames tshark read (key None)."""
    out = subprocess.run([TSHARK, "-r", str(path), "-T", "fields", "-e", "frame.interface_id",
                          "-e", "frame.cap_len", "-e", "frame.len"],
                         capture_output=True, text=True, check=False).stdout
    cut: Counter = Counter()
    for line in out.splitlines():
        ifc, cap, wire = line.split("\t")
        cut[None] += 1
        cut[int(ifc or 0)] += int(cap) < int(wire)
    return cut


_ISB_FIELDS = {"received": "ifrecv", "dropped": "ifdrop", "accepted_by_filter": "filteraccept",
               "dropped_by_os": "osdrop", "delivered_to_user": "usrdeliv"}


def tshark_isb(path) -> dict[str, dict[str, int]]:
    """The last ISB's counters of each interface (by if_name), as Wireshark's own pcapng
    dissector (the "MIME Files Format" reader) sees the blocks; one section only."""
    pdml = subprocess.run([TSHARK, "-r", str(path), "-X", "read_format:MIME Files Format",
                           "-T", "pdml"], capture_output=True, text=True, check=False).stdout
    names: list[str] = []
    stats: dict[str, dict[str, int]] = {}
    for b in ET.fromstring(pdml).iter("field"):
        if b.get("name") != "pcapng.block":
            continue
        btype = next(f.get("show") for f in b.iter("field") if f.get("name") ==
                     "pcapng.block.type")
        fields = {f.get("name"): f.get("show") for f in b.iter("field")}
        if btype == "0x00000001":
            names.append(fields.get("pcapng.options.option.data.interface.name", ""))
        elif btype == "0x00000005":
            prefix = "pcapng.options.option.data.interface."
            stats[names[int(fields["pcapng.interface_id"])]] = {
                ours: int(fields[prefix + theirs]) for theirs, ours in _ISB_FIELDS.items()
                if prefix + theirs in fields}
    return stats


# --- frames cut by the snapshot length -------------------------------------------------------

def test_snapped_on_the_fixture(fixture):
    r = read(fixture)
    assert r.snapped == hostile.expected_snapped()
    assert r.snapped == {hostile.NAMES[0]: 0, hostile.NAMES[1]: 0, hostile.NAMES[2]: 2}
    assert r.snapped_by_index.tolist() == [0, 0, 2]
    assert r.snapped_by_index.dtype.kind == "i"


@needs_tshark
def test_snapped_on_the_fixture_as_tshark(fixture):
    cut = tshark_snapped(fixture)
    assert cut[None] == len(hostile.FRAMES)
    assert read(fixture).snapped_by_index.tolist() == [cut[0], cut[1], cut[2]]


#: real captures with a short snapshot length: some frames cut, all, one pcapng
SNAPPED_REAL = ["bgp_vpn_rt-oobr.pcap", "quic_handshake_truncated.pcap",
                "babel_update_oobr.pcap", "msnlb2.pcapng", "dccp_options-oobr.pcap"]


@needs_tshark
@pytest.mark.skipif(not SHARED_TCPDUMP.is_dir(), reason="tcpdump corpus not beside the repo")
@pytest.mark.parametrize("name", SNAPPED_REAL)
def test_snapped_on_real_captures_as_tshark(name):
    path = SHARED_TCPDUMP / name
    cut = tshark_snapped(path)
    r = CaptureReader([str(path)])
    frames = sum(len(b) for b in r.batches())
    assert frames == cut[None]
    assert sum(r.snapped.values()) == sum(v for k, v in cut.items() if k is not None) > 0
    assert r.snapped_by_index.tolist() == [cut[k] for k in range(len(r.registry.interfaces))]


def test_snapped_counts_every_batch(tmp_path):
    """More frames than one batch holds, in a pcap, every other one cut."""
    path = tmp_path / "many.pcap"
    n = 40_000
    frame = hostile.frame(40000, 0, 200)
    rec_cut = struct.pack("<IIII", 0, 0, 96, len(frame)) + frame[:96]
    rec_whole = struct.pack("<IIII", 0, 0, len(frame), len(frame)) + frame
    path.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
                     + (rec_cut + rec_whole) * (n // 2))
    r = CaptureReader([str(path)])
    assert sum(1 for _ in r.batches()) > 1
    assert r.snapped == {"many": n // 2}


def test_snapped_and_the_rest_from_the_time_ordered_reader(fixture, tmp_path):
    other = tmp_path / "other.pcap"
    frame = hostile.frame(40000, 0, 200)
    other.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 100, 1)
                      + struct.pack("<IIII", 1, 0, 100, len(frame)) + frame[:100])
    merged = TimeOrderedReader([str(fixture), str(other)])
    assert sum(len(t) for t in merged.tables()) == len(hostile.FRAMES) + 1
    assert merged.snapped == {**hostile.expected_snapped(), "other": 1}
    assert merged.snapped_by_index.sum() == 3
    alone = read(fixture)
    assert merged.interface_stats == alone.interface_stats
    assert merged.descriptions == alone.descriptions
    assert merged.interface_comments == alone.interface_comments
    assert merged.sections == alone.sections


# --- Interface Statistics Blocks -------------------------------------------------------------

def test_isb_on_the_fixture(fixture):
    r = read(fixture)
    assert r.interface_stats == dict(zip(hostile.NAMES, hostile.STATS, strict=True))
    assert r.interface_stats["_eth0"]["ifdrop"] == 7
    assert not r.warnings


@needs_tshark
def test_isb_on_the_fixture_as_wireshark(fixture):
    assert read(fixture).interface_stats == tshark_isb(fixture)


@needs_tshark
def test_isb_on_a_real_capture_as_wireshark():
    """dumpcap's ISB (a comment, start and end times, ifrecv, ifdrop); the only other
    capture of the tcpdump corpus with an ISB (vsock-1.pcapng) has a link type hashscope
    does not decode."""
    path = TCPDUMP / "dhcp-option-108.pcapng"
    r = read(path)
    assert r.interface_stats == {"en0": {"ifrecv": 2, "ifdrop": 0}}
    assert r.interface_stats == tshark_isb(path)
    assert r.descriptions == {"en0": "Wi-Fi"}
    assert r.sections[0].userappl.startswith("Dumpcap (Wireshark) 4.4.0")
    assert r.sections[0].os.startswith("macOS 15.3.2")


def test_the_last_isb_of_an_interface_counts(fixture):
    with open(fixture, "ab") as out:
        out.write(isb(1, {"ifrecv": 20}))
        # a second section, whose interface has the name of the first's third
        out.write(block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + END))
        out.write(block(1, struct.pack("<HHI", 1, 0, 0) + option(2, hostile.NAMES[2]) + END))
        out.write(isb(0, {"ifdrop": 3, "usrdeliv": 2**64 - 1}))
    r = read(fixture)
    assert r.interface_stats == {hostile.NAMES[0]: hostile.STATS[0], "_eth0": {"ifrecv": 20},
                                 hostile.NAMES[2]: {"ifdrop": 3, "usrdeliv": 2**64 - 1}}
    assert len(r.sections) == 2 and r.sections[1].comments == ()


def _isb_raw(ifc: int, opts: bytes, length: int | None = None) -> bytes:
    body = struct.pack("<III", ifc, 0, 0) + opts
    n = length or 12 + len(body)
    return struct.pack("<II", 5, n) + body + struct.pack("<I", n)


MALFORMED_ISBS = {
    "truncated option": _isb_raw(0, struct.pack("<HH", 4, 8) + b"\1\0\0\0"),
    "option beyond the block": _isb_raw(1, struct.pack("<HHQ", 5, 200, 9)),
    "counter not 8 bytes": _isb_raw(2, struct.pack("<HHI", 4, 4, 9) + END),
    "unknown interface": isb(9, {"ifrecv": 1}),
    "block of 12 bytes": struct.pack("<III", 5, 12, 12),
    "block of 20 bytes": struct.pack("<IIII", 5, 20, 0, 0) + struct.pack("<I", 20),
}


@pytest.mark.parametrize("what", MALFORMED_ISBS)
def test_a_malformed_isb_is_skipped(fixture, what):
    with open(fixture, "ab") as out:
        out.write(MALFORMED_ISBS[what])
    seen = []
    r = read(fixture, on_warning=seen.append)
    assert r.interface_stats == dict(zip(hostile.NAMES, hostile.STATS, strict=True))
    assert len(r.warnings) == 1 == len(seen)
    assert "1 malformed interface statistics block " in r.warnings[0].message
    assert r.warnings[0].offset == fixture.stat().st_size - len(MALFORMED_ISBS[what])


def test_malformed_isbs_give_one_warning(fixture):
    size = fixture.stat().st_size
    with open(fixture, "ab") as out:
        for raw in MALFORMED_ISBS.values():
            out.write(raw)
        out.write(isb(0, {"ifrecv": 5}))  # a good one after them still counts
    r = read(fixture)
    assert r.interface_stats[hostile.NAMES[0]] == {"ifrecv": 5}
    assert len(r.warnings) == 1
    assert r.warnings[0].message.startswith(f"{len(MALFORMED_ISBS)} malformed interface "
                                            "statistics blocks")
    assert r.warnings[0].offset == size


def test_isb_before_any_interface_is_skipped(tmp_path):
    path = tmp_path / "early.pcapng"
    path.write_bytes(block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + END)
                     + isb(0, {"ifrecv": 1})
                     + block(1, struct.pack("<HHI", 1, 0, 0) + option(2, "eth9") + END)
                     + block(6, struct.pack("<IIIII", 0, 0, 0, 60, 60) + bytes(60)))
    r = read(path)
    assert r.interface_stats == {}
    assert len(r.warnings) == 1


def _big_endian_capture(path, counters: dict[int, int]) -> None:
    def blk(btype: int, body: bytes) -> bytes:
        body += b"\0" * (-len(body) % 4)
        return struct.pack(">II", btype, 12 + len(body)) + body + struct.pack(">I",
                                                                            12 + len(body))
    name = b"be0"
    opts = b"".join(struct.pack(">HHQ", code, 8, v) for code, v in counters.items())
    path.write_bytes(
        blk(0x0A0D0D0A, struct.pack(">IHHq", 0x1A2B3C4D, 1, 0, -1) + END)
        + blk(1, struct.pack(">HHI", 1, 0, 0) + struct.pack(">HH", 2, len(name)) + name
              + b"\0" + END)
        + blk(6, struct.pack(">IIIII", 0, 0, 0, 60, 60) + bytes(60))
        + blk(5, struct.pack(">III", 0, 0, 0) + opts + END))


def test_isb_in_a_big_endian_section(tmp_path):
    path = tmp_path / "be.pcapng"
    _big_endian_capture(path, {4: (1 << 32) + 2, 5: 7, 7: 1})
    r = read(path)
    assert r.interface_stats == {"be0": {"ifrecv": (1 << 32) + 2, "ifdrop": 7, "osdrop": 1}}
    if TSHARK:
        assert r.interface_stats == tshark_isb(path)


# --- text the capture carries ----------------------------------------------------------------

def test_text_of_the_fixture(fixture):
    r = read(fixture)
    assert r.registry.names() == list(hostile.NAMES)
    assert r.descriptions == {"_eth0": hostile.DESCRIPTION}
    assert r.interface_comments == {"_eth0": (hostile.IDB_COMMENT,)}
    assert r.sections == [pcapng.SectionText(str(fixture), (hostile.SHB_COMMENT,), None, None,
                                             hostile.SHB_USERAPPL)]
    with pytest.raises(AttributeError):
        r.sections[0].os = "x"  # frozen


def test_text_is_bounded_and_decoded_with_replacement(tmp_path):
    path = tmp_path / "garbage.pcapng"
    long = "é" * 3000
    shb = (b"".join(option(1, f"c{k}") for k in range(10)) + option(2, long)
           + option(3, b"\xff\xfeos\x00\x00") + option(2, "second hardware") + END)
    idb = (option(2, "eth0") + option(3, long) + option(3, "second description")
           + b"".join(option(1, f"i{k}") for k in range(10)) + END)
    path.write_bytes(block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + shb)
                     + block(1, struct.pack("<HHI", 1, 0, 0) + idb)
                     + block(6, struct.pack("<IIIII", 0, 0, 0, 60, 60) + bytes(60)))
    r = read(path)
    (s,) = r.sections
    assert s.comments == tuple(f"c{k}" for k in range(10))  # repeated, in order
    assert s.hardware == "é" * pcapng.MAX_TEXT  # the first of a repeated one, cut
    assert s.os == "\ufffd\ufffdos"
    assert s.userappl is None
    assert r.descriptions == {"eth0": "é" * pcapng.MAX_TEXT}
    # at most MAX_COMMENTS a file, the section's first
    assert r.interface_comments == {"eth0": tuple(f"i{k}" for k in range(6))}
    assert len(s.comments) + len(r.interface_comments["eth0"]) == pcapng.MAX_COMMENTS


def test_sections_are_bounded(tmp_path):
    path = tmp_path / "sections.pcapng"
    one = (block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + option(1, "x")
                 + END)
           + block(1, struct.pack("<HHI", 1, 0, 0) + option(2, "eth0") + END)
           + block(6, struct.pack("<IIIII", 0, 0, 0, 60, 60) + bytes(60)))
    path.write_bytes(one * 40)
    r = read(path)
    assert len(r.sections) == pcapng.MAX_SECTIONS
    assert sum(len(s.comments) for s in r.sections) == pcapng.MAX_COMMENTS
    assert r.snapped == {"eth0": 0}


def test_pcap_files_carry_no_text(tmp_path):
    r = read(TCPDUMP / "802.1ad_QinQ.pcap")
    assert (r.sections, r.descriptions, r.interface_comments, r.interface_stats) == \
        ([], {}, {}, {})
