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
             "802.3ad": "IEEE 802.3ad Dynamic link aggregation",
             "balance-rr": "load balancing (round-robin)",
             "active-backup": "fault-tolerance (active-backup)",
             "broadcast": "fault-tolerance (broadcast)"}
HASH_MODES = ("balance-xor", "802.3ad")


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
    if m["mode"] in HASH_MODES:
        assert m["xmit_hash_policy"] in POLICIES
    else:  # the modes that do not hash say so
        assert m["xmit_hash_policy"] is None
    assert m["vlan"] in ("offload", "inband")
    assert re.fullmatch(r"([0-9a-f]{2}:){5}[0-9a-f]{2}", m["local_mac"])
    assert m["slaves"] and len(set(m["slaves"])) == len(m["slaves"])
    assert m["description"]
    assert m["source"] in ("live", "synthesized", "rewritten")
    if m["source"] == "rewritten":  # a live capture changed after the fact: says how
        assert m["derived_from"]
    for f in [m["input"], m["merged"], m["proc_net_bonding"], *m["slave_captures"].values()]:
        assert (d / f).is_file(), f
    assert list(m["slave_captures"]) == m["slaves"]
    assert (d / "input.pcap").stat().st_size < 4 << 20
    if "files" in m:  # the second set says what each file is, and lists them all
        listed = sorted(p.name for p in d.iterdir() if p.name != "scenario.json")
        assert sorted(m["files"]) == listed


def test_input_is_what_the_bond_sent(scenario):
    d, m = scenario
    frames = read_pcap(d / m["input"])
    assert len(frames) == m["packets"] > 500
    macs = {bytes.fromhex(x.replace(":", "")) for x in m.get("source_macs") or [m["local_mac"]]}
    assert {f[2][6:12] for f in frames} == macs
    if m["vlan"] == "offload":  # sent through a VLAN device: the capture shows the tag
        assert all(f[2][12:14] == b"\x81\x00" for f in frames)


def test_slave_captures_hold_exactly_the_input(scenario):
    d, m = scenario
    frames = read_pcap(d / m["input"])
    per = {s: read_pcap(d / m["slave_captures"][s]) for s in m["slaves"]}
    assert {s: len(v) for s, v in per.items()} == m["packets_per_slave"]
    if m["mode"] == "broadcast":  # every frame on every slave, in order
        assert all(v == frames for v in per.values())
        return
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
    if m["mode"] == "broadcast":  # each frame once per slave, in enslave order
        n = len(m["slaves"])
        assert [r[0] for r in recs] == list(range(n)) * len(frames)
        assert [(r[1], r[2]) for r in recs[::n]] == [(f[2], f[3]) for f in frames]
    else:
        assert [(r[1], r[2]) for r in recs] == [(f[2], f[3]) for f in frames]
    per = {s: [(f[2], f[3]) for f in read_pcap(d / m["slave_captures"][s])] for s in m["slaves"]}
    for k, s in enumerate(m["slaves"]):
        assert [(r[1], r[2]) for r in recs if r[0] == k] == per[s]


def test_proc_net_bonding(scenario):
    d, m = scenario
    text = (d / m["proc_net_bonding"]).read_text()
    assert f"Bonding Mode: {PROC_MODE[m['mode']]}" in text
    if m["mode"] in HASH_MODES:
        assert re.search(rf"Transmit Hash Policy: {re.escape(m['xmit_hash_policy'])} \(\d\)",
                         text)
    else:  # the kernel prints no policy for the modes that do not hash
        assert "Transmit Hash Policy" not in text
    if m["mode"] == "active-backup":  # still the slave of the last frame
        names, recs = read_pcapng(d / m["merged"])
        assert f"Currently Active Slave: {names[recs[-1][0]]}" in text
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


# ---------------------------------------------------------------- the second set

SECOND_SET = {  # name: (mode, policy, slaves in enslave order, vlan)
    "lan-l2-xor3": ("balance-xor", "layer2", ["eth2", "eth0", "eth1"], "inband"),
    "lan-l23-lacp3": ("802.3ad", "layer2+3", ["wan1", "lan0", "dmz2"], "inband"),
    "tunnels-encap34-4": ("balance-xor", "encap3+4",
                          ["enp3s0f0", "enp3s0f1", "enp3s0f2", "enp3s0f3"], "inband"),
    "vlan100-offload-any": ("balance-xor", "layer3+4", ["eth1", "eth2", "eth0"], "offload"),
    "vm-bridge-vlan-srcmac": ("balance-xor", "vlan+srcmac", ["eno3", "eno1", "eno2"], "offload"),
    "rr3-office": ("balance-rr", None, ["eth1", "eth0", "eth2"], "inband"),
    "active-backup-failover-any": ("active-backup", None, ["eno2", "eno1"], "inband"),
    "broadcast2-office": ("broadcast", None, ["ens4", "ens3"], "inband"),
}
ANY = [n for n in NAMES
       if "any_capture" in json.loads((SCENARIOS / n / "scenario.json").read_text())]


def test_the_second_set():
    for name, (mode, policy, slaves, vlan) in SECOND_SET.items():
        m = json.loads((SCENARIOS / name / "scenario.json").read_text())
        assert (m["mode"], m["xmit_hash_policy"], m["slaves"], m["vlan"]) == \
            (mode, policy, slaves, vlan), name
        # every slave carries frames, so the member order can be told from the captures
        assert all(m["packets_per_slave"].values()), name
    assert {"vlan100-offload-any", "active-backup-failover-any"} <= set(ANY)
    # the tunnels: IP-in-IP and GRE in the input, encap3+4 sees through them
    frames = read_pcap(SCENARIOS / "tunnels-encap34-4" / "input.pcap")
    protos = Counter(f[2][23] for f in frames if f[2][12:14] == b"\x08\x00")
    assert protos[4] > 50 and protos[47] > 50 and protos[6] > 50
    # the VMs: six source MACs on three VLANs, several destination MACs each
    frames = read_pcap(SCENARIOS / "vm-bridge-vlan-srcmac" / "input.pcap")
    pairs = {(f[2][6:12], int.from_bytes(f[2][14:16], "big") & 0xFFF) for f in frames}
    assert len(pairs) == 6 and {v for _, v in pairs} == {10, 20, 30}
    assert len({f[2][:6] for f in frames}) >= 3


def test_active_backup_failover():
    """eno2 (first enslaved) carries everything until its link goes down before frame 200;
    then eno1, also after eno2 is up again before frame 400 (no primary: no failing back)."""
    d = SCENARIOS / "active-backup-failover-any"
    m = json.loads((d / "scenario.json").read_text())
    assert [e["before_frame"] for e in m["events"]] == [200, 400]
    names, recs = read_pcapng(d / m["merged"])
    got = [names[r[0]] for r in recs]
    assert got == ["eno2"] * 200 + ["eno1"] * (m["packets"] - 200)


def read_sll2(path: Path):
    d = path.read_bytes()
    assert d[:4] == b"\xd4\xc3\xb2\xa1"
    magic, vmaj, vmin, _, _, snap, linktype = struct.unpack("<IHHiIII", d[:24])
    assert (vmaj, vmin, linktype) == (2, 4, 276)
    off, out = 24, []
    while off < len(d):
        s, us, cl, ol = struct.unpack("<IIII", d[off:off + 16])
        out.append((s, us, d[off + 16:off + 16 + cl], ol))
        off += 16 + cl
    assert off == len(d)
    return snap, out


@pytest.mark.parametrize("name", ANY)
def test_any_capture(name):
    """any.pcap is tcpdump -i any (LINKTYPE_LINUX_SLL2): every input frame on its VLAN device
    (offload), on bond0 and on the slave(s) that sent it, in that order, each with libpcap's
    20-byte header: protocol, reserved 0, interface index (big-endian), ARPHRD_ETHER, packet
    type 4 (outgoing), address length 6, the source MAC padded to 8 bytes."""
    d = SCENARIOS / name
    m = json.loads((d / "scenario.json").read_text())
    a = m["any_capture"]
    snap, recs = read_sll2(d / a["file"])
    assert snap == 134
    index = {int(k): v for k, v in a["ifindex"].items()}
    assert index[1] == "lo" and set(index.values()) >= {"bond0", *m["slaves"]}
    frames = read_pcap(d / m["input"])
    names, merged = read_pcapng(d / m["merged"])
    slave_of = [names[r[0]] for r in merged]
    want = []
    for i, f in enumerate(frames):
        data = f[2]
        devs = ["bond0"]
        if m["vlan"] == "offload":  # libpcap puts no VLAN tag into SLL2: the device says it
            devs.insert(0, f"bond0.{int.from_bytes(data[14:16], 'big') & 0xFFF}")
            data, wire = data[:12] + data[16:], f[3] - 4
        else:
            wire = f[3]
        sl = m["slaves"] if m["mode"] == "broadcast" else [slave_of[i]]
        want += [(f[0], f[1], dev, data, wire) for dev in devs + sl]
    assert len(recs) == len(want) == a["records"]
    for (s, us, rec, ol), (ws, wus, dev, data, wire) in zip(recs, want, strict=True):
        proto, mbz, ifindex, hatype, pkttype, halen = struct.unpack("!HHIHBB", rec[:12])
        assert (s, us) == (ws, wus)
        assert index[ifindex] == dev
        assert (proto, mbz, hatype, pkttype, halen) == (int.from_bytes(data[12:14], "big"),
                                                        0, 1, 4, 6)
        assert rec[12:20] == data[6:12] + b"\0\0"
        assert rec[20:] == data[14:][:snap - 20]
        assert ol == 20 + wire - 14
    per = Counter(index[struct.unpack("!I", r[2][4:8])[0]] for r in recs)
    assert dict(per) == a["records_per_interface"]
    assert per["bond0"] == m["packets"]
