"""More than 64 capture interfaces in one run: a pcapng that lists 126 (as Windows
captures list every adapter) and 70 pcap files, both made of the frames of a shipped
capture. Every command reads them, and the flows and per-interface counts add up."""

from __future__ import annotations

import json
import struct

import pytest
from frames import pcapng_block, pcapng_option
from helpers import ROOT, run_main

from hashscope import read_packets

DEMO = ROOT / "captures" / "two-links-backup.pcapng"
IFACES = 126


def demo_frames() -> list[tuple[int, bytes, int]]:
    """(ts_ns, captured bytes, wire length) of the first 3000 frames of the demo."""
    import hashscope.capture.reader as reader

    out = []
    for batch in reader.CaptureReader([str(DEMO)]).batches():
        for i in range(len(batch)):
            p = int(batch.offset[i])
            out.append((int(batch.ts_ns[i]), bytes(batch.data[p:p + int(batch.caplen[i])]),
                        int(batch.wirelen[i])))
            if len(out) == 3000:
                return out
    return out


def spread(frames, n):
    """Frame k goes to interface (k * 11) % n: every interface, the highest ones too."""
    return [((k * 11) % n, *f) for k, f in enumerate(frames)]


@pytest.fixture(scope="module")
def many(tmp_path_factory):
    d = tmp_path_factory.mktemp("many")
    frames = demo_frames()
    shb = pcapng_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    idbs = b"".join(pcapng_block(1, struct.pack("<HHI", 1, 0, 0) + pcapng_option(
        2, f"adapter{i}".encode()) + pcapng_option(9, b"\x09") + pcapng_option(0, b""))
        for i in range(IFACES))
    epbs = b"".join(pcapng_block(6, struct.pack("<IIIII", i, ts >> 32, ts & 0xFFFFFFFF,
                                                len(data), wire) + data)
                    for i, ts, data, wire in spread(frames, IFACES))
    (d / "windows.pcapng").write_bytes(shb + idbs + epbs)
    files = []
    for n in range(70):
        part = [f for i, *f in spread(frames, 70) if i == n]
        body = b"".join(struct.pack("<IIII", ts // 10**9, ts % 10**9 // 1000, len(data), wire)
                        + data for ts, data, wire in part)
        path = d / f"member{n:02d}.pcap"
        path.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1) + body)
        files.append(path)
    return d / "windows.pcapng", files, frames


def flows_json(monkeypatch, capsys, *paths):
    code, out, err = run_main(monkeypatch, capsys, "flows", *paths, "--format", "json")
    assert code == 0, err
    return json.loads(out)


def test_a_pcapng_with_126_interfaces(monkeypatch, capsys, many):
    pcapng, _, frames = many
    flows = flows_json(monkeypatch, capsys, pcapng)
    assert sum(f["packets"] for f in flows) == len(frames)
    seen = {name for f in flows for name in f["interfaces"].split(",")}
    assert {"adapter0", "adapter64", "adapter125"} <= seen
    code, out, err = run_main(monkeypatch, capsys, "analyze", pcapng, "-p", "layer3+4",
                              "--format", "json")
    assert code == 0, err
    observed = json.loads(out)["observed"]
    assert len(observed) == IFACES
    assert sum(o["packets"] for o in observed) == len(frames)
    assert next(o for o in observed if o["interface"] == "adapter125")["packets"] > 0
    for fmt in ("json", "table"):
        code, out, err = run_main(monkeypatch, capsys, "compare", pcapng, "--format", fmt)
        assert code == 0, err
    assert json.loads(run_main(monkeypatch, capsys, "compare", pcapng, "--format",
                               "json")[1])["packets"] == len(frames)


def test_seventy_pcap_files(monkeypatch, capsys, many):
    _, files, frames = many
    flows = flows_json(monkeypatch, capsys, *files)
    whole = flows_json(monkeypatch, capsys, DEMO)
    assert sum(f["packets"] for f in flows) == len(frames)
    assert len({name for f in flows for name in f["interfaces"].split(",")}) == 70
    assert len(read_packets([str(f) for f in files])) == len(frames)
    assert len(flows) <= len(whole)


def test_one_warning_for_many_undecodable_interfaces(monkeypatch, capsys, tmp_path):
    """40 interfaces of a link type hashscope cannot decode (USER0, 147) beside one
    Ethernet interface: one warning with the count, not 40."""
    shb = pcapng_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    idbs = pcapng_block(1, struct.pack("<HHI", 1, 0, 0) + pcapng_option(2, b"eth0")
                        + pcapng_option(0, b""))
    idbs += b"".join(pcapng_block(1, struct.pack("<HHI", 147, 0, 0) + pcapng_option(
        2, f"usb{i}".encode()) + pcapng_option(0, b"")) for i in range(40))
    ts, data, wire = demo_frames()[0]
    epb = pcapng_block(6, struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(data), wire)
                       + data)
    path = tmp_path / "usb.pcapng"
    path.write_bytes(shb + idbs + epb)
    code, out, err = run_main(monkeypatch, capsys, "flows", path, "--format", "csv")
    assert code == 0, err
    lines = [ln for ln in err.splitlines() if "cannot decode" in ln]
    assert len(lines) == 1, err
    assert "40 interfaces ('usb0', 'usb1', 'usb2' and 37 more)" in lines[0]
    assert str(path) in lines[0]


@pytest.mark.parametrize("path, name", [
    ("eth0.pcap", "eth0"), ("/x/eth0.pcap1", "eth0"), ("eth0.pcap00", "eth0"),  # tcpdump -C
    ("eth0_20261201120000.pcap", "eth0"), ("eth1_2026-12-01T12-00-00.pcap", "eth1"),  # -G
    ("eth0_00001_20261201120000.pcapng", "eth0"),  # dumpcap / tshark ring buffer
    ("trace.pcap.gz", "trace"), ("bond0.100.pcap", "bond0.100"), ("vlan_10.pcap", "vlan_10"),
    ("member07.pcap", "member07"), ("-", "-"), (".pcap", ".pcap"),
])
def test_a_pcap_is_named_after_its_stem(path, name):
    from hashscope.capture.names import interface_name

    assert interface_name(path) == name


def test_a_ring_buffer_of_seventy_files_is_one_interface(monkeypatch, capsys, many, tmp_path):
    """The 70 files renamed as a dumpcap ring buffer of eth0: one interface, eth0."""
    _, files, frames = many
    ring = []
    for n, f in enumerate(files):
        path = tmp_path / f"eth0_{n + 1:05d}_20261201{120000 + n:06d}.pcap"
        path.write_bytes(f.read_bytes())
        ring.append(path)
    flows = flows_json(monkeypatch, capsys, *ring)
    assert sum(f["packets"] for f in flows) == len(frames)
    assert {f["interfaces"] for f in flows} == {"eth0"}


def test_member_names_files_by_a_glob(monkeypatch, capsys, many):
    """--member NAME=PATTERN: the 70 files as one member's ring buffer, beside the
    demo given as a plain CAPTURE."""
    _, files, frames = many
    flows = flows_json(monkeypatch, capsys, DEMO, "--member",
                       f"uplink={files[0].parent}/member*.pcap")
    names = {n for f in flows for n in f["interfaces"].split(",")}
    assert names == {"eth0", "eth1", "uplink"}
    assert sum(f["packets"] for f in flows if "uplink" in f["interfaces"]) > 0


@pytest.mark.parametrize("args, message", [
    ([], "no capture given"),
    (["--member", "eth0"], "--member 'eth0': NAME=FILE"),
    (["--member", "eth0=/no/such/*.pcap"], "no file matches '/no/such/*.pcap'"),
])
def test_bad_members_are_one_line(monkeypatch, capsys, args, message):
    code, out, err = run_main(monkeypatch, capsys, "flows", *args)
    assert code != 0 and message in err and len(err.strip().splitlines()) == 1, err
