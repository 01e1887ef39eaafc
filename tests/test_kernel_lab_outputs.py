"""The kernel lab's committed scenarios (captures/scenarios/*) are consistent.

The scenarios were replayed through the real Linux bonding driver by
tools/kernel_lab/lab.py; these tests need no QEMU: they check the committed files
(manifest, input capture, one capture per slave, merged pcapng, bonding text)
against each other.
"""

from __future__ import annotations

import json
import re
import struct
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "captures" / "scenarios"
NAMES = sorted(p.name for p in SCENARIOS.iterdir() if (p / "scenario.json").exists()) \
    if SCENARIOS.exists() else []
POLICIES = {"layer2", "layer2+3", "layer3+4", "encap2+3", "encap3+4", "vlan+srcmac"}
PROC_MODE = {"balance-xor": "load balancing (xor)",
             "802.3ad": "IEEE 802.3ad Dynamic link aggregation"}


def read_pcap(path: Path):
    """[(sec, usec, data, orig_len)] of a little- or big-endian Ethernet pcap."""
    d = path.read_bytes()
    e = {b"\xd4\xc3\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">"}[d[:4]]
    assert struct.unpack(e + "I", d[20:24])[0] == 1, "link type is Ethernet"
    off, out = 24, []
    while off < len(d):
        s, us, cl, ol = struct.unpack(e + "IIII", d[off:off + 16])
        out.append((s, us, d[off + 16:off + 16 + cl], ol))
        off += 16 + cl
    assert off == len(d)
    return out


def read_pcapng(path: Path):
    """(interface names, [(iface, data, orig_len)]) of a little-endian pcapng."""
    d = path.read_bytes()
    off, names, recs = 0, [], []
    while off < len(d):
        btype, blen = struct.unpack("<II", d[off:off + 8])
        body = d[off + 8:off + blen - 4]
        if btype == 1:
            o, name = 8, None
            while o + 4 <= len(body):
                code, ln = struct.unpack("<HH", body[o:o + 4])
                if code == 0:
                    break
                if code == 2:
                    name = body[o + 4:o + 4 + ln].decode()
                o += 4 + ln + (-ln % 4)
            names.append(name)
        elif btype == 6:
            iface, _, _, cl, ol = struct.unpack("<IIIII", body[:20])
            recs.append((iface, body[20:20 + cl], ol))
        off += blen
    return names, recs


@pytest.fixture(params=NAMES)
def scenario(request):
    d = SCENARIOS / request.param
    m = json.loads((d / "scenario.json").read_text())
    return d, m


def test_there_are_scenarios():
    assert len(NAMES) >= 4


def test_manifest(scenario):
    d, m = scenario
    assert m["mode"] in PROC_MODE
    assert m["xmit_hash_policy"] in POLICIES
    assert m["vlan"] in ("offload", "inband")
    assert re.fullmatch(r"([0-9a-f]{2}:){5}[0-9a-f]{2}", m["local_mac"])
    assert m["slaves"] and len(set(m["slaves"])) == len(m["slaves"])
    assert m["description"]
    assert m["source"] in ("live", "synthesized")
    for f in [m["input"], m["merged"], m["proc_net_bonding"], *m["slave_captures"].values()]:
        assert (d / f).is_file(), f
    assert list(m["slave_captures"]) == m["slaves"]
    assert (d / "input.pcap").stat().st_size < 4 << 20


def test_input_is_what_the_bond_sent(scenario):
    d, m = scenario
    frames = read_pcap(d / m["input"])
    assert len(frames) == m["packets"] > 500
    mac = bytes.fromhex(m["local_mac"].replace(":", ""))
    assert all(f[2][6:12] == mac for f in frames)
    if m["vlan"] == "offload":  # sent through a VLAN device: the capture shows the tag
        assert all(f[2][12:14] == b"\x81\x00" for f in frames)


def test_slave_captures_hold_exactly_the_input(scenario):
    d, m = scenario
    frames = read_pcap(d / m["input"])
    per = {s: read_pcap(d / m["slave_captures"][s]) for s in m["slaves"]}
    assert {s: len(v) for s, v in per.items()} == m["packets_per_slave"]
    assert sum(len(v) for v in per.values()) == len(frames)
    assert Counter(f for v in per.values() for f in v) == Counter(frames)
    # each slave's frames are in the order the bond was given them
    order = {}
    for i, f in enumerate(frames):
        order.setdefault(f, []).append(i)
    for s, v in per.items():
        seen, pos = Counter(), []
        for f in v:
            pos.append(order[f][seen[f]])
            seen[f] += 1
        assert pos == sorted(pos), s
    # a flow hash spreads these over more than one link
    assert sum(1 for v in per.values() if v) >= 2


def test_merged_pcapng(scenario):
    d, m = scenario
    names, recs = read_pcapng(d / m["merged"])
    assert names == m["slaves"]
    frames = read_pcap(d / m["input"])
    assert [(r[1], r[2]) for r in recs] == [(f[2], f[3]) for f in frames]
    per = {s: [(f[2], f[3]) for f in read_pcap(d / m["slave_captures"][s])] for s in m["slaves"]}
    for k, s in enumerate(m["slaves"]):
        assert [(r[1], r[2]) for r in recs if r[0] == k] == per[s]


def test_proc_net_bonding(scenario):
    d, m = scenario
    text = (d / m["proc_net_bonding"]).read_text()
    assert f"Bonding Mode: {PROC_MODE[m['mode']]}" in text
    assert re.search(rf"Transmit Hash Policy: {re.escape(m['xmit_hash_policy'])} \(\d\)", text)
    assert re.findall(r"Slave Interface: (\S+)", text) == m["slaves"]
    assert text.count("MII Status: up") == len(m["slaves"]) + 1
    if m["mode"] == "802.3ad":
        # a real aggregator: every port in it, in sync, collecting and distributing
        assert f"Number of ports: {len(m['slaves'])}" in text
        assert f"System MAC address: {m['local_mac']}" in text
        assert len(set(re.findall(r"\nAggregator ID: (\d+)", text))) == 1
        assert text.count("port state: 63") == 2 * len(m["slaves"])


def test_the_scenarios_asked_for():
    want = {"nightly-backup": ("balance-xor", "layer3+4", 2),
            "iperf3-P4-lacp": ("802.3ad", "layer3+4", 4),
            "smb3-multichannel": ("balance-xor", "layer3+4", 2),
            "behind-router": ("balance-xor", "layer2+3", 3)}
    for name, (mode, policy, n) in want.items():
        m = json.loads((SCENARIOS / name / "scenario.json").read_text())
        assert (m["mode"], m["xmit_hash_policy"], len(m["slaves"])) == (mode, policy, n)
    # behind a router: one MAC pair, many IP flows
    frames = read_pcap(SCENARIOS / "behind-router" / "input.pcap")
    ip = [f[2] for f in frames if f[2][12:14] == b"\x08\x00"]
    assert len({f[:12] for f in ip}) == 1
    assert len({f[30:34] for f in ip}) > 100
