"""infer and analyze's observed-vs-predicted on per-slave captures from real kernels.

The kernel lab's scenarios (captures/scenarios/) are frames replayed through real Linux
bonds, each slave captured: infer must find a configuration whose args, given to
assign, put every frame on the slave it really left on, and analyze with the true
policy must agree 100%. A split by a hash no bond uses must be reported as unexplained.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import dpkt
import numpy as np
import pytest
import xxhash
from helpers import ROOT, run_cli

import hashscope
from hashscope.analysis.analyze import assigned_batches
from hashscope.analysis.infer import infer
from hashscope.capture.reader import CaptureReader
from hashscope.hashes.registry import get_policy, make_assigner
from hashscope.members import LINK_ALL

SCENARIOS = sorted(p.parent for p in (ROOT / "captures" / "scenarios").glob("*/scenario.json"))


def slave_files(d: Path) -> list[str]:
    info = json.loads((d / "scenario.json").read_text())
    return [str(d / f) for f in info["slave_captures"].values()]


def setup_of(args: list[str]) -> tuple[str | None, hashscope.Setup]:
    pairs = list(zip(args[::2], args[1::2], strict=True))
    opts = dict(pairs)
    setup = hashscope.make_setup(links=opts["--links"], vlan=opts.get("--vlan", "offload"),
                                 kernel=opts.get("--kernel"), mode=opts.get("--mode"),
                                 seed=opts.get("--seed"),
                                 freebsd=opts.get("--freebsd", "14.0"),
                                 link_events=[v for k, v in pairs if k == "--link-event"])
    return opts.get("--policy"), setup


def members_reproduced(paths: list[str], args: list[str]) -> tuple[int, int]:
    """(frames, frames whose predicted member is the capture's slave) under ``args``; a
    broadcast frame is on every member."""
    policy, setup = setup_of(args)
    reader = CaptureReader(paths)
    assigner = make_assigner(get_policy(policy or "layer2"), setup)
    frames = same = 0
    for pk, a in assigned_batches(reader, assigner, None):
        names = np.array(reader.registry.names(), dtype=object)
        ok = a.link >= 0
        frames += len(pk)
        same += int((np.array(setup.members.names, dtype=object)[a.link[ok]]
                     == names[pk["iface"][ok]]).sum()) + int((a.link == LINK_ALL).sum())
    return frames, same


HASHED = ("802.3ad", "balance-xor")


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[d.name for d in SCENARIOS])
def test_infer_finds_the_bond_and_its_args_reproduce_every_slave(scenario):
    """Given the slaves' captures in reverse order: the true policy (or one that is the
    same on these frames) or mode, the slaves in bond order, and args that put every frame
    of the merged capture on its slave."""
    info = json.loads((scenario / "scenario.json").read_text())
    files = slave_files(scenario)
    [answer] = infer(list(reversed(files)), None)
    best = answer.candidates[0]
    frames, same = members_reproduced([str(scenario / info["merged"])], best.args())
    assert frames == sum(info["packets_per_slave"].values())
    if info["mode"] in HASHED:
        labels = [best.label(), *best.also]
        assert any(lab.split(",")[0] == info["xmit_hash_policy"] for lab in labels), labels
        if all(info["packets_per_slave"].values()):  # (an empty member's place is unknown)
            assert best.links == info["slaves"]
        assert same == frames, (best.args(), frames - same)
        return
    assert best.mode == info["mode"], best.label()
    assert answer.explained, answer.reason
    if info["mode"] == "active-backup":  # its failover given as a --link-event
        assert best.links[0] == info["slaves"][0]
        assert "failovers" in best.note and "--link-event" in best.args()
    assert best.links == info["slaves"] or info["mode"] == "broadcast"
    assert same == frames


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[d.name for d in SCENARIOS])
def test_analyze_agrees_fully_with_the_true_policy(scenario):
    info = json.loads((scenario / "scenario.json").read_text())
    if info["mode"] not in ("802.3ad", "balance-xor"):
        pytest.skip("a hash mode's scenario")
    setup = hashscope.make_setup(links=",".join(info["slaves"]), vlan=info["vlan"])
    a = hashscope.analyze(slave_files(scenario), [get_policy(info["xmit_hash_policy"])], setup)
    o = a.results[0].observed
    assert o is not None and o.flows_judged > 0
    assert o.by_flows == 1.0 and o.by_bytes == 1.0
    assert not len(o.disagreeing())
    observed = {m["member"]: m["observed_packets"] for m in o.members
                if m["direction"] == "transmit"}
    assert observed == info["packets_per_slave"]


def test_wrong_member_order_shows_the_disagreeing_flows():
    d = ROOT / "captures" / "scenarios" / "behind-router"
    setup = hashscope.make_setup(links="eth1,eth0,eth2", vlan="inband")
    a = hashscope.analyze(slave_files(d), [get_policy("layer2+3")], setup)
    o = a.results[0].observed
    assert 0 < o.by_flows < 1
    bad = o.disagreeing()
    assert len(bad) == o.flows_judged - o.flows_agreeing
    assert set(bad["predicted"]) <= {"eth0", "eth1"} and (bad["observed"] != bad["predicted"]).all()


def test_behind_router_is_explained_with_its_order(tmp_path):
    d = ROOT / "captures" / "scenarios" / "behind-router"
    res = run_cli("infer", *reversed(slave_files(d)), "--format", "json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["direction"] == "transmit" and out["explained"] is True
    best = out["best"]
    assert best["policy"] == "layer2+3" and best["links"] == ["eth0", "eth1", "eth2"]
    assert best["agreement"]["flows"] == 1.0 and best["chance"] < 1e-30
    assert best["args"][:4] == ["--policy", "layer2+3", "--links", "eth0,eth1,eth2"]
    assert best["deciding_flows"] >= 1


def split_capture(src: Path, tmp_path: Path, n: int, member_of) -> list[str]:
    """Write the frames of ``src`` to n member pcaps, frame i to member_of(frame bytes)."""
    paths = [tmp_path / f"m{i}.pcap" for i in range(n)]
    writers = [dpkt.pcap.Writer(p.open("wb"), nano=True) for p in paths]
    with src.open("rb") as f:
        for ts, buf in dpkt.pcap.Reader(f):
            writers[member_of(buf)].writepkt(buf, ts)
    for w in writers:
        w.close()
    return [str(p) for p in paths]


def test_a_split_no_bond_makes_is_not_explained(tmp_path):
    """Frames split by their IPv4 identification (which no bond hashes): flows spread over
    the members, so no hash, no mode explains it."""
    src = ROOT / "captures" / "scenarios" / "behind-router" / "input.pcap"

    def by_ip_id(buf: bytes) -> int:
        return xxhash.xxh32(buf[18:20] if len(buf) >= 34 else buf).intdigest() % 3

    files = split_capture(src, tmp_path, 3, by_ip_id)
    [answer] = infer(files, None)
    assert answer.explained is False
    assert "nothing explains" in answer.reason
    res = run_cli("infer", *files, "--format", "json")
    assert res.returncode == 0 and json.loads(res.stdout)["explained"] is False
    assert json.loads(res.stdout)["best"] is None


def test_a_split_by_an_unknown_5_tuple_hash_is_only_consistent_with_balance_tcp(tmp_path):
    """Each 5-tuple pinned by a hash with an unknown key is what OVS balance-tcp does, and
    that cannot be tested: not explained, and the reason says why."""
    src = ROOT / "captures" / "scenarios" / "behind-router" / "input.pcap"

    def by_ports(buf: bytes) -> int:
        return xxhash.xxh32(buf[34:38] if len(buf) >= 38 else buf).intdigest() % 3

    [answer] = infer(split_capture(src, tmp_path, 3, by_ports), None)
    assert answer.explained is False
    assert answer.best.policy == "ovs:balance-tcp"
    assert "nothing testable explains" in answer.reason


def test_member_captures_with_different_spans_are_aligned_and_warned(tmp_path):
    """eth0 captured throughout, eth1 only for its last frames, eth2 not at the same time
    at all: each member's span is shown, the barely overlapping spans are warned about,
    and what was captured still agrees with the true policy."""
    d = ROOT / "captures" / "scenarios" / "behind-router"
    cut = tmp_path / "eth1.pcap"
    with (d / "eth1.pcap").open("rb") as f:
        frames = list(dpkt.pcap.Reader(f))
    w = dpkt.pcap.Writer(cut.open("wb"), nano=True)
    for ts, buf in frames[-20:]:
        w.writepkt(buf, ts)
    w.close()
    paths = [str(d / "eth0.pcap"), str(cut), str(d / "eth2.pcap")]
    res = run_cli("analyze", *paths, "-p", "layer2+3", "--links", "eth0,eth1,eth2",
                  "--format", "json")
    assert res.returncode == 0, res.stderr
    assert b"barely overlap in time" in res.stderr
    o = json.loads(res.stdout)["policies"][0]["observed_vs_predicted"]
    assert o["spans"]["eth1"]["frames"] == 20
    assert o["spans"]["eth1"]["first_ns"] > o["spans"]["eth0"]["first_ns"]
    assert o["agreement"]["flows"] == 1.0
    [answer] = infer(paths, None, freebsd=False)
    assert any("barely overlap" in str(w) for w in answer.observations.warnings)


def pcap_records(path: Path) -> tuple[bytes, list[tuple[int, bytes]]]:
    """A little-endian pcap's file header and its records as (time, record bytes), the
    record header kept (wire lengths too)."""
    data = path.read_bytes()
    assert data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1")
    out, at = [], 24
    while at + 16 <= len(data):
        sec, frac, caplen = struct.unpack_from("<III", data, at)
        out.append((sec * 10**9 + frac, data[at:at + 16 + caplen]))
        at += 16 + caplen
    return data[:24], out


def write_records(path: Path, header: bytes, records) -> str:
    path.write_bytes(header + b"".join(r for _, r in records))
    return str(path)


def test_frames_captured_twice_count_once(tmp_path):
    """Overlapping ring files repeat frames on one interface; a bond0 capture holds a copy
    of every member's frame: each frame counts once, on its member, and the output says
    how many copies were dropped."""
    d = ROOT / "captures" / "scenarios" / "behind-router"
    info = json.loads((d / "scenario.json").read_text())
    header, eth0 = pcap_records(d / "eth0.pcap")
    ring = [write_records(tmp_path / "eth0_00001_20261201120000.pcap", header, eth0[:200]),
            write_records(tmp_path / "eth0_00002_20261201120100.pcap", header, eth0[150:])]
    every = sorted((r for n in ("eth0", "eth1", "eth2")
                    for r in pcap_records(d / f"{n}.pcap")[1]), key=lambda r: r[0])
    bond0 = write_records(tmp_path / "bond0.pcap", header, every)
    paths = [*ring, str(d / "eth1.pcap"), str(d / "eth2.pcap"), bond0]
    res = run_cli("analyze", *paths, "-p", "layer2+3", "--links", "eth0,eth1,eth2",
                  "--format", "json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    o = out["policies"][0]["observed_vs_predicted"]
    seen = {m["member"]: m["observed_packets"] for m in o["members"]
            if m["direction"] == "transmit"}
    assert seen == info["packets_per_slave"]
    assert o["agreement"]["flows"] == 1.0
    notes = " ".join(out["assumptions"])
    assert f"{len(every)} copies on interfaces that are not members" in notes
    assert "50 repeats on one interface" in notes
    [answer] = infer(paths, hashscope.parse_links("eth0,eth1,eth2"), freebsd=False)
    assert answer.explained and answer.best.policy == "layer2+3"
    assert answer.observations.spans["eth0"][2] == len(eth0)


def test_a_multi_interface_pcapng_is_inferred_like_its_member_files():
    """tshark -i eth0 -i eth1 ... writes one pcapng: its interfaces are the members."""
    d = ROOT / "captures" / "scenarios" / "lan-l23-lacp3"
    [one] = infer([str(d / "merged.pcapng")], None, freebsd=False)
    [apart] = infer(slave_files(d), None, freebsd=False)
    assert one.explained and one.best.policy == "layer2+3"
    assert one.best.links == apart.best.links == ["wan1", "lan0", "dmz2"]
    assert one.best.evaluation.flows == apart.best.evaluation.flows


def test_ring_buffers_of_more_than_64_files(tmp_path):
    """Each member's capture as a dumpcap ring buffer of 25 files (75 files in all): the
    files of a ring are one member, read in turn, and the bond is found as from one file
    per member."""
    d = ROOT / "captures" / "scenarios" / "lan-l2-xor3"
    info = json.loads((d / "scenario.json").read_text())
    paths = []
    for name in info["slaves"]:
        header, records = pcap_records(d / f"{name}.pcap")
        step = -(-len(records) // 25)
        for k in range(25):
            part = records[k * step:(k + 1) * step]
            stamp = f"20261201{12 + k // 60:02d}{k % 60:02d}00"
            paths.append(write_records(tmp_path / f"{name}_{k + 1:05d}_{stamp}.pcap", header,
                                       part))
    assert len(paths) == 75
    res = run_cli("infer", *reversed(paths), "--format", "json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["explained"] and out["best"]["policy"] == "layer2"
    assert out["best"]["links"] == info["slaves"]
    assert {m: s["frames"] for m, s in out["spans"].items()} == info["packets_per_slave"]


OVS = ROOT / "captures" / "ovs"


@pytest.mark.parametrize("name", ["slb-short", "slb-long"])
def test_ovs_balance_slb_and_its_enabled_order(name):
    """A real Open vSwitch balance-slb bond (the OVS lab): buckets filled in turn give the
    order the bond enabled its members; rebalancing moves and a failover (slb-long) are
    not held against it."""
    info = json.loads((OVS / name / "scenario.json").read_text())
    files = [str(OVS / name / f) for f in info["member_captures"].values()]
    [answer] = infer(files, None, freebsd=False)
    assert answer.explained, answer.reason
    assert answer.best.policy == "ovs:balance-slb"
    assert answer.best.links == info["enabled_order"]


def test_ovs_active_backup_and_balance_tcp():
    info = json.loads((OVS / "active-backup" / "scenario.json").read_text())
    files = [str(OVS / "active-backup" / f) for f in info["member_captures"].values()]
    [answer] = infer(files, None, freebsd=False)
    assert answer.explained and answer.best.mode == "active-backup"
    assert answer.best.links[0] == info["active_member_before"]
    files = sorted(str(p) for p in (OVS / "lacp-balance-tcp").glob("eth*.pcap"))
    [answer] = infer(files, None, freebsd=False)
    assert not answer.explained and answer.best.policy == "ovs:balance-tcp"
    assert "nothing testable" in answer.reason


def test_both_sides_with_local_and_the_receive_side_is_approximate():
    res = run_cli("infer", str(ROOT / "captures" / "two-links-backup.pcapng"), "--local",
                  "198.51.100.10", "--local", "198.51.101.10", "--format", "json")
    assert res.returncode == 0, res.stderr
    sides = json.loads(res.stdout)["sides"]
    assert [s["direction"] for s in sides] == ["transmit", "receive"]
    assert sides[0]["approximate"] is False and sides[1]["approximate"] is True
    assert {c["family"] for c in sides[1]["candidates"]} <= {"cisco", "aruba", "vmware",
                                                             "hp-bl", "hp-gbe2c"}
    assert all(s["direction_from"].startswith("--local") for s in sides)
    only = run_cli("infer", str(ROOT / "captures" / "two-links-backup.pcapng"), "--local",
                   "198.51.100.10", "--direction", "receive", "--format", "json")
    assert json.loads(only.stdout)["direction"] == "receive"


ANY = [d for d in SCENARIOS if (d / "any.pcap").exists()]


@pytest.mark.parametrize("scenario", ANY, ids=[d.name for d in ANY])
def test_sll2_any_capture_with_the_bonds_copies(scenario):
    """tcpdump -i any in the bond's namespace (the kernel lab): each sent frame on bond0
    (and its VLAN device) and again on its slave. With --ifindex and the members, every
    frame counts once, on its slave, the copies are said, and the bond is found."""
    info = json.loads((scenario / "scenario.json").read_text())
    cap = info["any_capture"]
    names = ",".join(f"{k}={v}" for k, v in cap["ifindex"].items())
    links = ",".join(sorted(info["slaves"]))  # the order is inferred
    res = run_cli("infer", str(scenario / "any.pcap"), "--ifindex", names, "--links", links,
                  "--format", "json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["explained"], out["reason"]
    assert out["direction_from"].startswith("as the captures say it")
    assert {m: s["frames"] for m, s in out["spans"].items()} == info["packets_per_slave"]
    copies = cap["records"] - info["packets"]
    assert any(f"{copies} copies on interfaces that are not members" in n for n in out["notes"])
    best = out["best"]
    if info["mode"] in HASHED:
        assert best["policy"] == info["xmit_hash_policy"]
        assert best["links"] == info["slaves"]
        res = run_cli("analyze", str(scenario / "any.pcap"), "--ifindex", names,
                      *best["args"], "--format", "json")
        o = json.loads(res.stdout)["policies"][0]["observed_vs_predicted"]
        assert o["agreement"] == {"flows": 1.0, "bytes": 1.0, "frames": 1.0}
    else:
        assert best["mode"] == info["mode"] and best["links"][0] == info["slaves"][0]


def lagg_split(d: Path, ports: int, version: str, layers: str, key: int
               ) -> tuple[list[str], int]:
    """A real capture split by the FreeBSD lagg hash (the code checked against the real
    functions) with ``key``, ports in a shuffled order: the member files igb0.. in ``d``,
    and the frames in all."""
    src = ROOT / "captures" / "scenarios" / "lan-l23-lacp3" / "input.pcap"
    header, records = pcap_records(src)
    pk = hashscope.read_packets([str(src)])
    setup = hashscope.make_setup(links=ports, seed=key, freebsd=version, mode="lacp")
    link = make_assigner(get_policy(f"lagg:{layers}"), setup).assign(pk).link
    assert (link >= 0).all()
    order = np.random.default_rng(key).permutation(ports)  # bond position -> port name
    files = [write_records(d / f"igb{k}.pcap", header,
                           [r for r, m in zip(records, link, strict=True) if order[m] == k])
             for k in range(ports)]
    return files, len(pk)


@pytest.mark.parametrize(("ports", "version", "layers", "key"), [
    (3, "14.0", "l3,l4", 0x1234ABCD),  # FNV-1, a full 32-bit key search
    (4, "10.3", "l2,l3,l4", 0x0BADC0DE),  # h*33+byte; a power of two: key mod 4 only
    (5, "10.3", "l3,l4", 0x7E57C0DE),
])
def test_freebsd_lagg_split_is_explained_with_its_key(tmp_path, ports, version, layers, key):
    """A real capture split by the FreeBSD lagg hash with a random key, ports in a shuffled
    order (:func:`lagg_split`): infer finds the lagghash set, the hash generation, a key
    that is the same on these frames, and the port order, and its args put every frame on
    its port."""
    files, frames_in = lagg_split(tmp_path, ports, version, layers, key)
    [answer] = infer(files, None)
    assert answer.explained, answer.reason
    best = answer.best
    assert best.policy == f"lagg:{layers}" or f"lagg:{layers}" in " ".join(best.also)
    assert best.freebsd == version
    if ports == 4:
        assert "power of two" in best.note
    frames, same = members_reproduced(files, best.args())
    assert frames == same == frames_in


def test_infer_wants_member_names_not_a_count():
    res = run_cli("infer", str(ROOT / "captures" / "scenarios" / "behind-router" / "eth0.pcap"),
                  "--links", "3")
    assert res.returncode == 2 and b"give the members' names" in res.stderr
    assert b"Traceback" not in res.stderr
