"""The record walkers: pcap and pcapng layouts, many files, compression, stdin, bad input."""

from __future__ import annotations

import bz2
import gzip
import lzma
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
from frames import pcapng_block as _block
from frames import pcapng_option as _option
from helpers import MADE, TCPDUMP, needs_tshark, run_cli
from tshark_ref import epoch_ns, tshark_fields

from hashscope import CaptureError, CaptureReader, read_packets


def records(paths, **kw):
    """(reader, concatenated record columns) of some captures."""
    reader = CaptureReader([str(p) for p in paths], **kw)
    cols = {"ts_ns": [], "caplen": [], "wirelen": [], "iface": []}
    for b in reader.batches():
        for k in cols:
            cols[k].append(getattr(b, k).copy())
    return reader, {k: np.concatenate(v) if v else np.zeros(0) for k, v in cols.items()}


# --- agreement with tshark, record by record -------------------------------------------------

READER_CASES = [
    MADE / "mixed.pcapng",  # two interfaces, microsecond + nanosecond if_tsresol
    MADE / "live2.pcapng",  # SLL2 + Ethernet, live
    MADE / "two-sections.pcapng",  # two sections
    MADE / "of13_nsec.pcap",  # nanosecond pcap magic
    TCPDUMP / "slow-ossp.pcap",  # big-endian pcap
    TCPDUMP / "tcp-handshake-nano.pcap",  # nanosecond magic, little-endian
    TCPDUMP / "afs.pcap",
    TCPDUMP / "heap-overflow-1.pcap",  # caplen 1 of 262144 on the wire
]


@needs_tshark
@pytest.mark.parametrize("path", READER_CASES, ids=lambda p: p.name)
def test_every_record_matches_tshark(path):
    reader, rec = records([path])
    ref = tshark_fields(str(path), ["frame.time_epoch", "frame.len", "frame.cap_len",
                                    "frame.interface_name", "frame.interface_id",
                                    "sll.ifindex"])
    assert len(ref) == len(rec["ts_ns"]) > 0
    assert [epoch_ns(r[0]) for r in ref] == rec["ts_ns"].tolist()
    assert [int(r[1]) for r in ref] == rec["wirelen"].tolist()
    assert [int(r[2]) for r in ref] == rec["caplen"].tolist()
    names = reader.registry.names()
    if "two-sections" in path.name:
        return  # tshark 4.0 gives a second section's interfaces the first section's names
    # a frame of a Linux cooked v2 capture of "any" is on the interface of its ifindex
    named = [(i, f"ifindex{r[5]}" if r[3] == "any" else r[3]) for i, r in enumerate(ref)
             if r[3] and r[3] != "unknown"]
    assert [names[rec["iface"][i]] for i, _ in named] == [name for _, name in named]
    # packets of one interface id (and ifindex) stay on one interface
    assert len({(r[4], r[5], rec["iface"][i]) for i, r in enumerate(ref)}) == \
        len({(r[4], r[5]) for r in ref})


def test_mixed_resolutions_and_interfaces():
    reader, rec = records([MADE / "mixed.pcapng"])
    ifaces = reader.registry.interfaces
    assert [i.linktype for i in ifaces] == [113, 1]
    assert np.bincount(rec["iface"]).tolist() == [150, 174]
    # the nanosecond interface's first packet, as editcap wrote it (2013-10-19 15:52:49.322823)
    assert rec["ts_ns"][rec["iface"] == 1][0] == 1382197969_322823000


def test_wire_length_is_kept_when_the_capture_is_truncated():
    _, rec = records([TCPDUMP / "heap-overflow-1.pcap"])
    assert rec["caplen"].tolist() == [1]
    assert rec["wirelen"].tolist() == [262144]


def test_interfaces_across_sections_and_files():
    reader, rec = records([MADE / "live2.pcapng", MADE / "two-sections.pcapng"])
    # live2's "lo" and the interface its "any" frames name (ifindex 1) are met again in
    # two-sections' first section: same interfaces
    names = reader.registry.names()
    assert names[:2] == ["lo", "ifindex1"]
    assert names[2] == "en0"
    assert len(names) == 3
    n = len(rec["iface"])
    assert n == 100 + 100 + 2


def test_several_files_in_one_run_keep_file_order():
    _, a = records([TCPDUMP / "ssh.pcap"])
    _, b = records([TCPDUMP / "whois.pcap"])
    reader, both = records([TCPDUMP / "ssh.pcap", TCPDUMP / "whois.pcap"])
    assert both["ts_ns"].tolist() == a["ts_ns"].tolist() + b["ts_ns"].tolist()
    assert reader.registry.names() == ["ssh", "whois"]  # a pcap's interface: its stem


@pytest.mark.parametrize("opener", [gzip.open, bz2.open, lzma.open], ids=["gzip", "bzip2", "xz"])
def test_compressed_input_is_detected_by_content(tmp_path, opener):
    src = MADE / "mixed.pcapng"
    target = tmp_path / "capture.bin"  # no telling suffix: the content decides
    with opener(target, "wb") as f:
        f.write(src.read_bytes())
    _, plain = records([src])
    _, packed = records([target])
    assert packed["ts_ns"].tolist() == plain["ts_ns"].tolist()
    assert packed["wirelen"].tolist() == plain["wirelen"].tolist()


@pytest.mark.parametrize("size", [16, 1000, 5000, 70000])
@pytest.mark.parametrize("name", ["afs.pcap", "of13_ericsson.pcapng"])
@pytest.mark.parametrize("packed", [False, True], ids=["mapped", "gzip"])
def test_small_buffers_walk_records_across_refills(tmp_path, size, name, packed):
    """Records straddling buffer boundaries (and bigger than the buffer) come out whole."""
    src = TCPDUMP / name
    if packed:
        path = tmp_path / (name + ".gz")
        path.write_bytes(gzip.compress(src.read_bytes()))
    else:
        path = src
    _, ref = records([src])
    _, got = records([path], buffer_size=size)
    assert got["ts_ns"].tolist() == ref["ts_ns"].tolist()
    assert got["wirelen"].tolist() == ref["wirelen"].tolist()


def test_stdin(tmp_path):
    data = gzip.compress((TCPDUMP / "ssh.pcap").read_bytes())
    res = run_cli("flows", "-", "--format", "csv", stdin=data)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.decode().splitlines()
    assert lines[0].startswith("src,dst,sport,dport,proto,packets,bytes")
    assert sum(int(line.split(",")[5]) for line in lines[1:]) == 54


# --- bad input: one line, file and offset, exit status 2 -------------------------------------

def _one_error_line(res, *needles):
    err = res.stderr.decode()
    assert res.returncode == 2, (res.returncode, err)
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def test_missing_file():
    _one_error_line(run_cli("flows", "/no/such/capture.pcap"), "/no/such/capture.pcap",
                    "no such file")


def test_directory(tmp_path):
    _one_error_line(run_cli("flows", tmp_path), str(tmp_path), "directory")


def test_empty_file(tmp_path):
    p = tmp_path / "empty.pcap"
    p.write_bytes(b"")
    _one_error_line(run_cli("flows", p), str(p), "empty file")


def test_wrong_magic():
    p = TCPDUMP / "LICENSE.tcpdump"
    _one_error_line(run_cli("flows", p), str(p), "at byte 0", "not a pcap or pcapng")


def test_truncated_file_header(tmp_path):
    p = tmp_path / "short.pcap"
    p.write_bytes((TCPDUMP / "ssh.pcap").read_bytes()[:20])
    _one_error_line(run_cli("flows", p), str(p), "truncated pcap file header")


def test_unknown_link_type():
    p = TCPDUMP / "reason_code-0.pcap"  # 802.11 radiotap
    _one_error_line(run_cli("flows", p), str(p), "at byte 20", "unknown link type 127")


def test_unsupported_compression(tmp_path):
    p = tmp_path / "capture.pcap.zst"
    p.write_bytes(b"\x28\xb5\x2f\xfd" + b"\0" * 40)
    _one_error_line(run_cli("flows", p), "zstd", "not supported")


def test_absurd_caplen_is_refused_without_allocating(tmp_path):
    data = bytearray((TCPDUMP / "ssh.pcap").read_bytes())
    struct.pack_into("<I", data, 16, 0xFFFFFFFF)  # absurd snapshot length in the header
    struct.pack_into("<I", data, 24 + 8, 0x7FFFFFF0)  # first record claims ~2 GiB
    p = tmp_path / "absurd.pcap"
    p.write_bytes(data)
    line = _one_error_line(run_cli("flows", p), str(p), "at byte 24", "captured bytes")
    assert "2147483632" in line


def test_caplen_beyond_snaplen_and_limit(tmp_path):
    data = bytearray((TCPDUMP / "ssh.pcap").read_bytes())
    struct.pack_into("<I", data, 24 + 8, 300000)  # above the 262144 limit and the snaplen
    p = tmp_path / "big.pcap"
    p.write_bytes(data)
    _one_error_line(run_cli("flows", p), "at byte 24", "more than the snapshot length")


def _first_epb_offset(data: bytes) -> int:
    pos = 0
    while True:
        btype, blen = struct.unpack_from("<II", data, pos)
        if btype == 6:
            return pos
        pos += blen


@pytest.mark.parametrize("length,needle", [(13, "bad pcapng block length 13"),
                                           (8, "bad pcapng block length 8"),
                                           (0x7FFFFFF0, "bad pcapng block length")])
def test_bad_pcapng_block_length(tmp_path, length, needle):
    data = bytearray((MADE / "live2.pcapng").read_bytes())
    at = _first_epb_offset(data)
    struct.pack_into("<I", data, at + 4, length)
    p = tmp_path / "bad.pcapng"
    p.write_bytes(data)
    _one_error_line(run_cli("flows", p), f"at byte {at}", needle)


def test_pcapng_trailer_mismatch(tmp_path):
    data = bytearray((MADE / "live2.pcapng").read_bytes())
    at = _first_epb_offset(data)
    (blen,) = struct.unpack_from("<I", data, at + 4)
    struct.pack_into("<I", data, at + blen - 4, blen + 4)
    p = tmp_path / "trailer.pcapng"
    p.write_bytes(data)
    _one_error_line(run_cli("flows", p), f"at byte {at}", "trailing length")


def test_pcapng_packet_names_unknown_interface(tmp_path):
    data = bytearray((MADE / "live2.pcapng").read_bytes())
    at = _first_epb_offset(data)
    struct.pack_into("<I", data, at + 8, 7)
    p = tmp_path / "iface.pcapng"
    p.write_bytes(data)
    _one_error_line(run_cli("flows", p), f"at byte {at}", "interface")


def test_pcapng_without_section_header(tmp_path):
    data = (MADE / "live2.pcapng").read_bytes()
    (shb_len,) = struct.unpack_from("<I", data, 4)
    p = tmp_path / "noshb.pcapng"
    p.write_bytes(b"\x0a\x0d\x0d\x0a" + data[shb_len + 4:])  # magic, then not an SHB
    res = run_cli("flows", p)
    assert res.returncode == 2 and "Traceback" not in res.stderr.decode()


# --- cut off mid-record: analyzed up to the cut, with a warning ------------------------------

@pytest.mark.parametrize("cut", [5, 16, -1])
def test_pcap_cut_off_mid_record(tmp_path, cut):
    """Cut inside the record header, right after it, and one byte before its end."""
    src = (TCPDUMP / "ssh.pcap").read_bytes()
    # find the start of the last record
    pos, starts = 24, []
    while pos < len(src):
        starts.append(pos)
        pos += 16 + struct.unpack_from("<I", src, pos + 8)[0]
    last = starts[-1]
    if cut < 0:
        cut += len(src) - last
    p = tmp_path / "cut.pcap"
    p.write_bytes(src[: last + cut])
    reader, rec = records([p])
    assert len(rec["ts_ns"]) == len(starts) - 1
    assert len(reader.warnings) == 1
    w = reader.warnings[0]
    assert w.offset == last and "cut off" in w.message
    res = run_cli("flows", p, "--format", "csv")
    assert res.returncode == 0
    err = res.stderr.decode()
    assert "warning" in err and f"at byte {last}" in err and "Traceback" not in err


def test_pcapng_cut_off_mid_block(tmp_path):
    src = (MADE / "mixed.pcapng").read_bytes()
    p = tmp_path / "cut.pcapng"
    p.write_bytes(src[: len(src) - 30])
    reader, rec = records([p])
    assert len(rec["ts_ns"]) == 323
    assert "cut off" in reader.warnings[0].message


def test_damaged_gzip_is_read_up_to_the_damage(tmp_path):
    packed = gzip.compress((TCPDUMP / "afs.pcap").read_bytes())
    p = tmp_path / "cut.pcap.gz"
    p.write_bytes(packed[: len(packed) // 2])
    reader, rec = records([p])
    assert 0 < len(rec["ts_ns"]) < 601
    assert reader.warnings


def test_error_names_the_file_among_several(tmp_path):
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"garbage!" * 10)
    res = run_cli("flows", TCPDUMP / "ssh.pcap", bad)
    _one_error_line(res, str(bad), "not a pcap")


def test_library_raises_capture_error():
    with pytest.raises(CaptureError) as info:
        list(CaptureReader([str(TCPDUMP / "LICENSE.tcpdump")]).batches())
    assert info.value.problem.offset == 0


def test_copy_is_not_needed_for_reading(tmp_path):
    """A file name with spaces and no suffix reads like any other."""
    p = tmp_path / "my capture"
    shutil.copy(TCPDUMP / "ssh.pcap", p)
    assert len(read_packets([str(p)])) == 54


def test_no_allocation_beyond_file_size(tmp_path):
    """A pcapng block claiming 16 MiB in a 200-byte file costs no 16 MiB buffer."""
    data = bytearray((MADE / "live2.pcapng").read_bytes()[:400])
    at = _first_epb_offset(data)
    struct.pack_into("<I", data, at + 4, 16 << 20)
    p = tmp_path / "claims.pcapng"
    p.write_bytes(data[: at + 64])
    reader = CaptureReader([str(p)])
    list(reader.batches())
    assert "cut off" in reader.warnings[0].message


def test_path_objects_and_strings_alike():
    assert len(read_packets([Path(TCPDUMP / "ssh.pcap")])) == 54


# --- pcapng blocks no common tool writes: built here around real packets ---------------------

def _ssh_packets(n: int = 3) -> list[bytes]:
    import dpkt

    with open(TCPDUMP / "ssh.pcap", "rb") as f:
        return [buf for _, buf in dpkt.pcap.Reader(f)][:n]


def test_simple_and_obsolete_packet_blocks_and_timestamp_options(tmp_path):
    pkts = _ssh_packets()
    shb = _block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    # interface 0: binary resolution 2^-20 and a 1000 s offset; interface 1: defaults (µs)
    idb0 = _block(1, struct.pack("<HHI", 1, 0, 128) + _option(2, b"bond0")
                  + _option(9, bytes([0x80 | 20])) + _option(14, struct.pack("<q", 1000))
                  + _option(0, b""))
    idb1 = _block(1, struct.pack("<HHI", 1, 0, 0) + _option(2, b"eth1"))
    ticks = (5 << 20) + (1 << 19)  # 5.5 s in units of 2^-20 s
    epb = _block(6, struct.pack("<IIIII", 0, ticks >> 32, ticks & 0xFFFFFFFF, len(pkts[0]),
                                len(pkts[0])) + pkts[0])
    spb = _block(3, struct.pack("<I", len(pkts[1])) + pkts[1])  # snaplen 128 of interface 0
    old = _block(2, struct.pack("<HHIIII", 1, 0, 0, 7_000_001, len(pkts[2]), len(pkts[2]) + 10)
                 + pkts[2])
    isb = _block(5, struct.pack("<III", 0, 0, 0))  # skipped: statistics
    p = tmp_path / "blocks.pcapng"
    p.write_bytes(shb + idb0 + idb1 + isb + epb + spb + old)
    reader, rec = records([p])
    assert reader.registry.names() == ["bond0", "eth1"]
    assert rec["ts_ns"][0] == 1005_500_000_000  # 5.5 s + 1000 s offset
    assert rec["iface"].tolist() == [0, 0, 1]
    assert rec["caplen"][1] == min(len(pkts[1]), 128) and rec["wirelen"][1] == len(pkts[1])
    assert rec["ts_ns"][2] == 7_000_001_000  # obsolete block, microseconds
    assert rec["wirelen"][2] == len(pkts[2]) + 10
    pk = read_packets([str(p)])
    assert (pk["src_mac"] > 0).all()


def test_big_endian_pcapng_section(tmp_path):
    pkts = _ssh_packets(2)

    def be_block(btype: int, body: bytes) -> bytes:
        body += b"\0" * (-len(body) % 4)
        n = 12 + len(body)
        return struct.pack(">II", btype, n) + body + struct.pack(">I", n)

    shb = be_block(0x0A0D0D0A, struct.pack(">IHHq", 0x1A2B3C4D, 1, 0, -1))
    idb = be_block(1, struct.pack(">HHI", 1, 0, 0) + struct.pack(">HH", 2, 4) + b"eth9")
    epbs = b"".join(be_block(6, struct.pack(">IIIII", 0, 0, 42 + i, len(b), len(b)) + b)
                    for i, b in enumerate(pkts))
    p = tmp_path / "be.pcapng"
    p.write_bytes(shb + idb + epbs)
    reader, rec = records([p])
    assert reader.registry.names() == ["eth9"]
    assert rec["ts_ns"].tolist() == [42_000, 43_000]
    assert rec["caplen"].tolist() == [len(b) for b in pkts]


def test_openbsd_loop_link_type(tmp_path):
    """LINKTYPE_LOOP: the BSD loopback header in network byte order."""
    data = bytearray((TCPDUMP / "tcp_rst_diag_payload.pcap").read_bytes())  # LINKTYPE_NULL
    struct.pack_into("<I", data, 20, 108)
    pos = 24
    while pos < len(data):
        (caplen,) = struct.unpack_from("<I", data, pos + 8)
        (family,) = struct.unpack_from("<I", data, pos + 16)
        struct.pack_into(">I", data, pos + 16, family)
        pos += 16 + caplen
    p = tmp_path / "loop.pcap"
    p.write_bytes(data)
    loop = read_packets([str(p)])
    null = read_packets([str(TCPDUMP / "tcp_rst_diag_payload.pcap")])
    assert (loop["ip_ver"] == null["ip_ver"]).all() and (loop["ip_ver"] > 0).all()
    assert (loop["sport"] == null["sport"]).all()
