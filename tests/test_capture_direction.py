"""Each frame's direction and real interface: pcapng epb_flags, Linux cooked packet types,
and the interface index of Linux cooked v2 captures of "any" (tcpdump -i any).

The captures in tests/data/direction are real (two network namespaces, two veth pairs;
see the README there): hashscope's reading of them is checked against tshark's, frame by
frame. Malformed options and short frames are made by hand from their frames.
"""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
from frames import pcapng_block, pcapng_option
from helpers import DATA, MADE, needs_tshark, run_main
from tshark_ref import tshark_fields

from hashscope import CaptureReader, read_packets
from hashscope.capture.cooked import parse_ifindex
from hashscope.capture.names import IfindexNames, NamedCapture
from hashscope.columns import DIRECTION_RECEIVED, DIRECTION_SENT, DIRECTION_UNKNOWN

HERE = DATA / "direction"
ANY_PCAPNG = HERE / "any.pcapng"  # dumpcap -i any -y LINUX_SLL2
ANY_PCAP = HERE / "any-tcpdump.pcap"  # tcpdump -i any -y LINUX_SLL2, at the same time
FLAGS = HERE / "va1-flags.pcapng"  # epb_flags on every frame
DUMPCAP_VETH = HERE / "va0.pcapng"  # dumpcap -i va0: no epb_flags
IFINDEX = {int(k): v for k, v in (line.split("=") for line in
                                  (HERE / "any-ifindex.txt").read_text().split())}
SHB = pcapng_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))


def read(paths, **kw):
    """(reader, record columns: iface, direction, caplen) of some captures."""
    reader = CaptureReader([p if isinstance(p, IfindexNames) else str(p) for p in paths],
                           **kw)
    cols = {"iface": [], "direction": [], "caplen": []}
    for b in reader.batches():
        for k in cols:
            cols[k].append(getattr(b, k).copy())
    return reader, {k: np.concatenate(v) for k, v in cols.items()}


def frames_of(path):
    """(captured bytes, wire length) of every frame of a capture."""
    out = []
    for b in CaptureReader([str(path)]).batches():
        for i in range(len(b)):
            p = int(b.offset[i])
            out.append((bytes(b.data[p:p + int(b.caplen[i])]), int(b.wirelen[i])))
    return out


def idb(linktype: int, name: str | None = None) -> bytes:
    opts = b"" if name is None else pcapng_option(2, name.encode()) + pcapng_option(0, b"")
    return pcapng_block(1, struct.pack("<HHI", linktype, 0, 0) + opts)


def epb(data: bytes, options: bytes = b"", iface: int = 0, ts: int = 0) -> bytes:
    body = struct.pack("<IIIII", iface, ts >> 32, ts & 0xFFFFFFFF, len(data), len(data))
    return pcapng_block(6, body + data + b"\0" * (-len(data) % 4) + options)


def flags(value: int) -> bytes:
    return pcapng_option(2, struct.pack("<I", value)) + pcapng_option(0, b"")


def direction_of_pkttype(pkttype: str) -> int:
    t = int(pkttype)
    return DIRECTION_SENT if t == 4 else DIRECTION_RECEIVED if t <= 3 else DIRECTION_UNKNOWN


# --- the real captures, against tshark -------------------------------------------------------

@needs_tshark
@pytest.mark.parametrize("path", [ANY_PCAPNG, ANY_PCAP], ids=lambda p: p.name)
def test_any_capture_interfaces_and_directions_match_tshark(path):
    """Every frame of a real `-i any` capture is on the interface its ifindex names (the
    namespace's own names), and goes the way its packet type says, as tshark reads it."""
    ref = tshark_fields(str(path), ["sll.ifindex", "sll.pkttype"])
    reader, rec = read([path], ifindex=IFINDEX)
    assert len(ref) == len(rec["iface"]) == 182
    names = reader.registry.names()
    assert [names[i] for i in rec["iface"]] == [IFINDEX[int(r[0])] for r in ref]
    assert rec["direction"].tolist() == [direction_of_pkttype(r[1]) for r in ref]
    # the capture's mix: both veths both ways, loopback, and all four received kinds
    seen = {(names[i], int(r[1])) for i, r in zip(rec["iface"], ref, strict=True)}
    assert {("va0", 4), ("va1", 4), ("va0", 0), ("va1", 0), ("lo", 0), ("va0", 1),
            ("va1", 2), ("va0", 3)} <= seen
    assert set(names) == {"lo", "va0", "va1"}  # no "any": every frame named its interface
    for iface in reader.registry.interfaces:
        assert iface.linktype == 276  # decoded as before
        assert IFINDEX[iface.ifindex] == iface.name


@needs_tshark
def test_without_names_an_index_is_its_own_interface():
    ref = tshark_fields(str(ANY_PCAPNG), ["sll.ifindex"])
    reader, rec = read([ANY_PCAPNG])
    names = reader.registry.names()
    assert [names[i] for i in rec["iface"]] == [f"ifindex{r[0]}" for r in ref]


@needs_tshark
def test_epb_flags_match_tshark():
    """A real capture whose every EPB carries epb_flags (inbound 1, outbound 2)."""
    ref = tshark_fields(str(FLAGS), ["frame.packet_flags_direction"])
    _, rec = read([FLAGS])
    assert len(ref) == len(rec["direction"]) == 96
    assert rec["direction"].tolist() == [int(r[0], 16) & 3 for r in ref]
    assert set(rec["direction"].tolist()) == {DIRECTION_RECEIVED, DIRECTION_SENT}


@needs_tshark
def test_dumpcap_on_linux_writes_no_direction():
    ref = tshark_fields(str(DUMPCAP_VETH), ["frame.packet_flags_direction"])
    _, rec = read([DUMPCAP_VETH])
    assert all(r == [""] for r in ref)
    assert (rec["direction"] == DIRECTION_UNKNOWN).all() and len(ref) == len(rec["direction"])


def test_flags_and_any_capture_agree():
    """The same frames of va1, captured at once two ways: epb_flags (from a packet socket)
    and the SLL2 packet types of the `-i any` capture say the same directions."""
    _, flagged = read([FLAGS])
    reader, rec = read([ANY_PCAPNG], ifindex=IFINDEX)
    va1 = reader.registry.names().index("va1")
    assert rec["direction"][rec["iface"] == va1].tolist() == flagged["direction"].tolist()


@needs_tshark
def test_linux_cooked_v1_directions_match_tshark():
    path = MADE / "mixed.pcapng"  # Linux cooked v1 + Ethernet
    ref = tshark_fields(str(path), ["sll.pkttype"])
    _, rec = read([path])
    want = [direction_of_pkttype(r[0]) if r[0] else DIRECTION_UNKNOWN for r in ref]
    assert rec["direction"].tolist() == want
    assert want.count(DIRECTION_RECEIVED) == 150


def test_packet_table_direction_column():
    pk = read_packets([str(ANY_PCAPNG)])
    _, rec = read([ANY_PCAPNG])
    assert pk["direction"].dtype == np.int8
    assert pk["direction"].tolist() == rec["direction"].tolist()
    assert (pk["direction"] == np.where(pk["pkttype"] == 4, 2, 1)).all()
    assert pk["iface"].tolist() == rec["iface"].tolist()


def test_a_ring_buffer_of_any_captures_keeps_its_interfaces(tmp_path):
    data = ANY_PCAPNG.read_bytes()
    ring = [tmp_path / f"any_0000{k}_20261201120000.pcapng" for k in (1, 2)]
    for p in ring:
        p.write_bytes(data)
    reader, rec = read(ring, ifindex=IFINDEX)
    assert sorted(reader.registry.names()) == ["lo", "va0", "va1"]  # one per index
    half = len(rec["iface"]) // 2
    assert rec["iface"][:half].tolist() == rec["iface"][half:].tolist()


def test_ifindex_names_among_the_paths():
    """The library takes the names as CaptureReader(ifindex=...) or, as the CLI passes
    them, an IfindexNames among the captures."""
    a, ra = read([ANY_PCAPNG], ifindex={2: "eth0"})
    b, rb = read([ANY_PCAPNG, IfindexNames({2: "eth0"})])
    assert a.registry.names() == b.registry.names()
    assert "eth0" in a.registry.names() and "ifindex3" in a.registry.names()
    assert ra["iface"].tolist() == rb["iface"].tolist()
    assert b.paths == [str(ANY_PCAPNG)]


# --- hand-made files: precedence, malformed options, short frames, named interfaces ----------

def sll2_frames():
    """Frames of the real `-i any` capture: (bytes, ifindex, packet type)."""
    return [(f, struct.unpack_from(">I", f, 4)[0], f[10]) for f, _ in frames_of(ANY_PCAPNG)]


def test_epb_flags_win_over_the_cooked_packet_type(tmp_path):
    frames = sll2_frames()[:12]
    given = [0, 1, 2, 3] * 3  # none, inbound, outbound, undefined (11): unknown
    blocks = b"".join(epb(f, flags(g)) for (f, _, _), g in zip(frames, given, strict=True))
    p = tmp_path / "both.pcapng"
    p.write_bytes(SHB + idb(276, "any") + blocks)
    _, rec = read([p])
    want = [g if g in (1, 2) else direction_of_pkttype(t)
            for (_, _, t), g in zip(frames, given, strict=True)]
    assert rec["direction"].tolist() == want


def test_flags_option_among_others_and_in_both_byte_orders(tmp_path):
    frame = bytes(64)
    comment = pcapng_option(1, b"a comment of 21 bytes")  # padded
    opts = [b"", pcapng_option(0, b""), flags(2), comment + flags(1),
            pcapng_option(4, b"\x01" * 8) + comment + flags(2),
            pcapng_option(2, struct.pack("<I", 0x1234_0001)) + pcapng_option(0, b"")]
    blocks = b"".join(epb(frame, o) for o in opts)
    p = tmp_path / "le.pcapng"
    p.write_bytes(SHB + idb(1, "eth0") + blocks)
    _, rec = read([p])
    assert rec["direction"].tolist() == [0, 0, 2, 1, 2, 1]
    # the same blocks in a big-endian section
    big = []
    for o in [b"", struct.pack(">HHI", 2, 4, 2) + struct.pack(">HH", 0, 0),
              struct.pack(">HH", 1, 3) + b"abc\0" + struct.pack(">HHI", 2, 4, 1)]:
        body = struct.pack(">IIIII", 0, 0, 0, len(frame), len(frame)) + frame + o
        n = 12 + len(body)
        big.append(struct.pack(">II", 6, n) + body + struct.pack(">I", n))
    shb = struct.pack(">IIIHHq", 0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0, -1) + struct.pack(">I", 28)
    idb_big = struct.pack(">IIHHII", 1, 20, 1, 0, 0, 20)
    p = tmp_path / "be.pcapng"
    p.write_bytes(shb + idb_big + b"".join(big))
    _, rec = read([p])
    assert rec["direction"].tolist() == [0, 2, 1]


MALFORMED = [
    struct.pack("<HH", 2, 400) + struct.pack("<I", 1),  # runs past the block
    struct.pack("<HH", 2, 0xFFFF),  # far past it
    struct.pack("<HH", 2, 2) + b"\x01\x00\x00\x00",  # too short for 32 bits
    struct.pack("<HH", 2, 0),  # empty
    struct.pack("<HH", 1, 0xFFF0) + struct.pack("<HHI", 2, 4, 1),  # a comment past the end
    struct.pack("<HH", 0xFFFF, 0) * 3 + struct.pack("<HH", 2, 4),  # flags cut by the trailer
    b"\x02\x00",  # half an option header
]


@pytest.mark.parametrize("options", MALFORMED, ids=[str(i) for i in range(len(MALFORMED))])
def test_malformed_options_give_no_direction(tmp_path, options):
    frame = bytes(60)
    p = tmp_path / "bad-options.pcapng"
    p.write_bytes(SHB + idb(1, "eth0") + epb(frame, options) + epb(frame, flags(2)))
    reader, rec = read([p])
    assert rec["direction"].tolist() == [0, 2]  # the next block is read as ever
    assert rec["caplen"].tolist() == [60, 60] and not reader.warnings


def test_random_option_bytes_never_crash(tmp_path):
    rng = np.random.default_rng(7)
    frame = bytes(range(60))
    blocks = b"".join(epb(frame, rng.integers(0, 256, 4 * int(rng.integers(0, 12)),
                                              np.uint8).tobytes()) for _ in range(3000))
    p = tmp_path / "fuzz.pcapng"
    p.write_bytes(SHB + idb(276, "any") + idb(1, "eth0") + blocks)
    reader, rec = read([p])
    assert len(rec["direction"]) == 3000
    assert set(rec["direction"].tolist()) <= {0, 1, 2}


def test_obsolete_and_simple_packet_blocks(tmp_path):
    frame = bytes(60)
    pb = pcapng_block(2, struct.pack("<HHIIII", 0, 0, 0, 0, 60, 60) + frame + flags(1))
    spb = pcapng_block(3, struct.pack("<I", 60) + frame)
    p = tmp_path / "old.pcapng"
    p.write_bytes(SHB + idb(1, "eth0") + pb + spb)
    _, rec = read([p])
    assert rec["direction"].tolist() == [1, 0]  # pack_flags; a simple block has no options


def test_short_frames_keep_the_file_interface(tmp_path):
    """A frame too short for the 20-byte SLL2 header stays on the file's "any" interface,
    direction unknown; the "any" interface exists only once such a frame is met."""
    frames = sll2_frames()
    whole = frames[0][0]
    p = tmp_path / "short.pcapng"
    blocks = [epb(whole), epb(whole[:19]), epb(whole[:8]), epb(whole)]
    p.write_bytes(SHB + idb(276, "any") + b"".join(blocks))
    reader, rec = read([p], ifindex=IFINDEX)
    names = reader.registry.names()
    on = [names[i] for i in rec["iface"]]
    first = IFINDEX[frames[0][1]]
    assert on == [first, "any", "any", first]
    assert rec["direction"].tolist()[1:3] == [0, 0]
    # a file whose frames are all whole has no "any" interface
    p.write_bytes(SHB + idb(276, "any") + blocks[0])
    assert read([p])[0].registry.names() == [f"ifindex{frames[0][1]}"]


def test_a_named_sll2_interface_keeps_its_name(tmp_path):
    """dumpcap -i eth0 -y LINUX_SLL2 names its interface: its frames stay on it (their
    ifindex is its own), and --member names a file's interfaces whatever they say."""
    frames = sll2_frames()[:20]
    p = tmp_path / "eth0.pcapng"
    p.write_bytes(SHB + idb(276, "eth0") + b"".join(epb(f) for f, _, _ in frames))
    reader, rec = read([p], ifindex=IFINDEX)
    assert reader.registry.names() == ["eth0"]
    assert rec["direction"].tolist() == [direction_of_pkttype(t) for _, _, t in frames]
    reader = CaptureReader([NamedCapture("uplink", str(ANY_PCAP))], ifindex=IFINDEX)
    assert sum(len(b) for b in reader.batches()) == 182
    assert reader.registry.names() == ["uplink"]


def test_sll2_beside_other_interfaces_in_one_file(tmp_path):
    """An "any" interface and an Ethernet one in one section, frames interleaved."""
    frames = sll2_frames()[:40]
    eth = frames_of(DUMPCAP_VETH)[:40]
    blocks = b"".join(epb(f, iface=0) + epb(e, iface=1)
                      for (f, _, _), (e, _) in zip(frames, eth, strict=True))
    p = tmp_path / "two.pcapng"
    p.write_bytes(SHB + idb(276, "any") + idb(1, "va0") + blocks)
    reader, rec = read([p], ifindex={1: "lo", 2: "veth-a", 3: "veth-b"})
    names = reader.registry.names()
    on = [names[i] for i in rec["iface"]]
    assert on[1::2] == ["va0"] * 40
    assert on[0::2] == [{1: "lo", 2: "veth-a", 3: "veth-b"}[i] for _, i, _ in frames]


# --- the command line ------------------------------------------------------------------------

def test_flows_interfaces_follow_ifindex(monkeypatch, capsys):
    code, out, err = run_main(monkeypatch, capsys, "flows", ANY_PCAPNG, "--ifindex",
                              "2=va0", "--ifindex", "3=va1,1=lo", "--format", "json")
    assert code == 0, err
    flows = json.loads(out)
    assert {f["interfaces"] for f in flows} == {"va0", "va1", "lo"}
    code, out, err = run_main(monkeypatch, capsys, "flows", ANY_PCAPNG, "--format", "json")
    assert {f["interfaces"] for f in json.loads(out)} == {"ifindex1", "ifindex2", "ifindex3"}


def test_analyze_observes_each_real_interface(monkeypatch, capsys):
    code, out, err = run_main(monkeypatch, capsys, "analyze", ANY_PCAP, "--ifindex",
                              "1=lo,2=va0,3=va1", "--format", "json")
    assert code == 0, err
    observed = {o["interface"]: o["packets"] for o in json.loads(out)["observed"]}
    # frames sent per interface, as the packet types say (va0: 64 of 82, va1: 72 of 96;
    # lo's 4 are received): the direction comes first from the capture itself
    assert observed == {"lo": 0, "va0": 64, "va1": 72}
    assert any("as the captures say it" in a for a in json.loads(out)["assumptions"])


@pytest.mark.parametrize("command", [["flows"], ["analyze"], ["compare"],
                                     ["assign", "-p", "layer3+4"]], ids=lambda c: c[0])
def test_ifindex_on_every_command(monkeypatch, capsys, command):
    code, out, err = run_main(monkeypatch, capsys, *command, ANY_PCAPNG, "--ifindex", "2=va0")
    assert code == 0, err
    code, out, err = run_main(monkeypatch, capsys, *command, ANY_PCAPNG, "--ifindex", "va0")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "--ifindex 'va0'" in err and "Traceback" not in err


@pytest.mark.parametrize("spec, message", [
    ("eth0", "'eth0' is not INDEX=NAME"),
    ("3=", "'3=' is not INDEX=NAME"),
    ("=eth0", "is not INDEX=NAME"),
    ("x=eth0", "'x' is not an interface index"),
    ("0=eth0", "out of range"),
    ("4294967296=eth0", "out of range"),
    ("3=eth0,3=eth1", "named twice"),
])
def test_bad_ifindex_is_one_line(monkeypatch, capsys, spec, message):
    code, out, err = run_main(monkeypatch, capsys, "flows", ANY_PCAPNG, "--ifindex", spec)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


def test_ifindex_twice_with_another_name_is_an_error(monkeypatch, capsys):
    code, _, err = run_main(monkeypatch, capsys, "flows", ANY_PCAPNG, "--ifindex", "3=eth0",
                            "--ifindex", "3=eth1")
    assert code == 2 and "named twice" in err


def test_parse_ifindex():
    assert parse_ifindex("3=eth0, 4 = eth1") == {3: "eth0", 4: "eth1"}
    assert parse_ifindex("3=eth0", {4: "eth1"}) == {3: "eth0", 4: "eth1"}
    assert parse_ifindex("3=eth0,3=eth0") == {3: "eth0"}


def test_large_interface_indices(tmp_path):
    """Container hosts number interfaces into the tens of thousands; any 32-bit index is
    taken, named or not."""
    frames = sll2_frames()[:30]
    indices = [3, 70000, 5_000_000, 4294967295, 70000, 3] * 5
    blocks = b"".join(epb(f[:4] + struct.pack(">I", k) + f[8:])
                      for (f, _, _), k in zip(frames, indices, strict=True))
    p = tmp_path / "big.pcapng"
    p.write_bytes(SHB + idb(276) + blocks)
    reader, rec = read([p], ifindex={70000: "veth70000", 4294967295: "last"})
    names = reader.registry.names()
    assert [names[i] for i in rec["iface"]] == [
        {70000: "veth70000", 4294967295: "last"}.get(k, f"ifindex{k}") for k in indices]
    assert len(names) == 4


def test_every_packet_type(tmp_path):
    """Types 0-3 received, 4 sent, 5 (PACKET_LOOPBACK) and beyond unknown; in v1 the type
    is 16 bits, and a high byte other than 0 is no type Linux has."""
    whole = sll2_frames()[0][0]
    types = [0, 1, 2, 3, 4, 5, 6, 7, 255]
    p = tmp_path / "types.pcapng"
    p.write_bytes(SHB + idb(276, "any") + b"".join(
        epb(whole[:10] + bytes([t]) + whole[11:]) for t in types))
    assert read([p])[1]["direction"].tolist() == [1, 1, 1, 1, 2, 0, 0, 0, 0]
    v1 = [struct.pack(">HHH", t, 1, 6) + bytes(8) + b"\x08\x00" + bytes(40)
          for t in [0, 4, 5, 0x0100, 0x0104]]
    p = tmp_path / "v1.pcapng"
    p.write_bytes(SHB + idb(113, "eth0") + b"".join(epb(f) for f in v1) + epb(v1[1][:15]))
    assert read([p])[1]["direction"].tolist() == [1, 2, 0, 0, 0, 0]
