"""hashscope plan against the hash core: the planned streams' frames, built independently
(tests/frames.py, written to a pcap and read back), land where the plan says."""

from __future__ import annotations

import ipaddress
import json
import struct

import numpy as np
import pytest
from frames import ether_frame, ipv4_packet, packet_table
from helpers import ROOT, run_main

from hashscope import read_packets
from hashscope.api import (
    Endpoints,
    bit0_trap,
    get_policy,
    make_assigner,
    make_plan,
    make_setup,
    plan_streams,
    read_iperf3,
)
from hashscope.hashes.linux.eras import PROFILES, SHIFT_NONE
from hashscope.plan.keyed import key_groups

SRC, DST = ipaddress.ip_address("198.51.100.10"), ipaddress.ip_address("198.51.100.20")
ENDS = Endpoints(SRC, DST)
LINKS = range(2, 9)
PORTS = np.arange(50000, 50256)
ADDRS = [SRC + i for i in range(64)]
DADDRS = [DST + i for i in range(64)]
MACS = list(range(0x525400000001, 0x525400000001 + 64))
PLANNED = ROOT / "captures" / "scenarios" / "iperf3-P4-planned"


def _mac(m: int) -> str:
    return ":".join(f"{(m >> s) & 0xFF:02x}" for s in range(40, -8, -8))


def stream_frames(streams, tmp_path, vlan: int | None = None) -> np.ndarray:
    """The streams as TCP frames, built byte by byte and read back through a pcap."""
    frames = []
    for s in streams:
        tcp = struct.pack("!HHIIBBHHH", s.sport, s.dport, 1, 1, 0x50, 0x18, 64240, 0, 0)
        ip = ipv4_packet(6, s.src, s.dst, tcp)
        if vlan is not None:
            ip = struct.pack("!HH", 0x8100, vlan) + ip
        frames.append(ether_frame(s.dst_mac, s.src_mac, ip))
    return packet_table(frames, tmp_path)


def check(plan, policy, setup, tmp_path, n_streams, vlan=None, back=None):
    assert len(plan.streams) == n_streams
    table = stream_frames(plan.streams, tmp_path, vlan)
    links = make_assigner(policy, setup).assign(table).link
    assert [s.link for s in plan.streams] == list(links)
    n = setup.members.count
    counts = np.bincount(links, minlength=n)
    if n_streams <= n:
        assert len(set(links)) == n_streams, links
    else:
        assert counts.max() - counts.min() <= 1, counts
    if back is not None:
        rev = [type(s)(s.dst, s.src, s.dport, s.sport, s.proto, s.dst_mac, s.src_mac, 0, "")
               for s in plan.streams]
        assert [s.return_link for s in plan.streams] == list(
            make_assigner(back, setup).assign(stream_frames(rev, tmp_path)).link)


#: per Linux policy: the field a plan varies, and its values
LINUX_VARY = {"layer2": ("src_mac", MACS), "layer2+3": ("src", ADDRS),
              "encap2+3": ("dst", DADDRS), "layer3+4": ("sport", PORTS),
              "encap3+4": ("sport", PORTS), "vlan+srcmac": ("src_mac", MACS)}


@pytest.mark.parametrize("era", PROFILES, ids=lambda p: p.name)
@pytest.mark.parametrize("name", list(LINUX_VARY))
def test_linux_plans_land_where_promised(era, name, tmp_path):
    if name not in era.policies:
        pytest.skip(f"{name} is not in {era.name}")
    policy = get_policy(name)
    vary, values = LINUX_VARY[name]
    vlan = 100 if name == "vlan+srcmac" else None
    ends = Endpoints(SRC, DST, vlan=vlan)
    for n in LINKS:
        setup = make_setup(n, kernel=".".join(map(str, era.first)), vlan="inband")
        for k in (n, n + 3):
            plan = plan_streams(policy, setup, ends, k, vary, values)
            check(plan, policy, setup, tmp_path, k, vlan)


@pytest.mark.parametrize("name", ["lagg:l3,l4", "lagg:l2,l3,l4", "lagg:l4"])
def test_freebsd_plans_with_a_key(name, tmp_path):
    policy = get_policy(name)
    for n in LINKS:
        setup = make_setup(n, seed=0x1234ABCD + n)
        plan = plan_streams(policy, setup, ENDS, n, "sport", PORTS)
        check(plan, policy, setup, tmp_path, n)


@pytest.mark.parametrize("name,vary,values", [
    ("cisco:src-dst-port", "sport", PORTS), ("cisco:src-dst-ip", "src", ADDRS),
    ("aruba:l4", "sport", PORTS), ("vmware:ip-hash", "src", ADDRS),
    ("hp-bl:sa-da", "src_mac", MACS)])
def test_switch_model_plans(name, vary, values, tmp_path):
    policy = get_policy(name)
    for n in LINKS:
        setup = make_setup(n)
        check(plan_streams(policy, setup, ENDS, n, vary, values), policy, setup, tmp_path, n)


@pytest.mark.parametrize("back", ["cisco:src-dst-port", "aruba:l4", "layer3+4"])
def test_return_path(back, tmp_path):
    """The return flows (DST back to SRC) hashed by the switch model: the promised members,
    and distinct both ways where the ports allow."""
    fwd, rev = get_policy("layer3+4"), get_policy(back)
    for n in (2, 3, 4):
        setup = make_setup(n)
        plan = plan_streams(fwd, setup, ENDS, n, "sport", PORTS, rev)
        check(plan, fwd, setup, tmp_path, n, back=rev)
        assert len({s.return_link for s in plan.streams}) == n


def test_freebsd_without_key_power_of_two(tmp_path):
    """4 members: the key only relabels them, so the plan's groups are distinct members
    under keys it never tried; 3 members: nothing reliable."""
    policy = get_policy("lagg:l3,l4")
    r = make_plan(make_setup(4), 4, policy, ENDS, "sport", list(PORTS))
    assert r.keyed_groups and len({s.link for s in r.streams}) == 4
    for key in (7, 0xDEADBEEF, 0x0BADF00D):
        setup = make_setup(4, seed=key)
        links = make_assigner(policy, setup).assign(stream_frames(r.streams, tmp_path)).link
        assert len(set(links)) == 4
    r3 = make_plan(make_setup(3), 3, policy, ENDS, "sport", list(PORTS))
    assert not r3.streams and "no choice of ports is reliable" in " ".join(r3.notes)
    assert not key_groups(policy, make_setup(3), ENDS, "sport", PORTS).relabels


def test_ovs_balance_tcp_gives_odds_only():
    r = make_plan(make_setup(4), 4, get_policy("ovs:balance-tcp"), ENDS, "sport", list(PORTS))
    assert not r.streams and not r.exact and r.here["p_all_used"] == pytest.approx(3 / 32)
    assert "random per boot" in r.notes[0]


def test_bit0_trap_found_only_where_the_hash_drops_the_low_bit():
    policy = get_policy("layer3+4")
    current = make_setup(4)
    assert current.kernel.shift != SHIFT_NONE
    trap = bit0_trap(policy, current, ENDS, PORTS)
    assert trap is not None and trap.name == "bit0"
    # the claim itself, with the hash: p and p ^ 1 share a member
    table_links = make_assigner(policy, current)
    a = plan_streams(policy, current, ENDS, 1, "sport", [50010]).streams[0].link
    b = plan_streams(policy, current, ENDS, 1, "sport", [50011]).streams[0].link
    assert a == b and table_links.ordered is False
    old = make_setup(4, kernel="4.9")
    assert old.kernel.shift == SHIFT_NONE
    assert bit0_trap(policy, old, ENDS, PORTS) is None
    # layer2+3 reads no ports: no trap either (every pair agrees, but one member only)
    assert bit0_trap(get_policy("layer2+3"), current, ENDS, PORTS) is None


def test_cport_trap_members(tmp_path):
    r = make_plan(make_setup(4), 4, get_policy("layer3+4"), ENDS, "sport", list(PORTS))
    cport = next(t for t in r.traps if t.name == "cport")
    assert cport.data["ports"] == [50000, 50001, 50002, 50003]
    assert cport.data["links"] == [0, 0, 1, 1] and cport.data["members_used"] == 2
    kernel = next(t for t in r.traps if t.name == "kernel_ports")
    assert kernel.data["era"] == "random2" and 0 < kernel.data["p_all_members"] < 1


def test_range_summary():
    r = make_plan(make_setup(4), None, get_policy("layer3+4"), ENDS, "sport", list(PORTS))
    s = r.summary
    assert sum(s["per_member"].values()) == len(PORTS)
    assert all(x % 2 == 0 for x in s["run_lengths"])  # 5.18+, 4 members: pairs p, p ^ 1
    assert s["period"] is None or len(s["pattern"]) == s["period"]


# ------------------------------------------------------------------------- the CLI

PLAN = ["plan", "--policy", "layer3+4", "--links", "4", "--src", str(SRC), "--dst", str(DST),
        "--dport", "5201", "--streams", "4"]


def test_cli_plan_table(monkeypatch, capsys):
    code, out, err = run_main(monkeypatch, capsys, *PLAN)
    assert code == 0, err
    assert "iperf3 -c 198.51.100.20 -p 5201 --cport 50000" in out
    assert "ports: 50000 50002 50004 50006" in out
    assert "trap: source ports that differ only in bit 0" in out


def test_cli_plan_json(monkeypatch, capsys):
    code, out, err = run_main(monkeypatch, capsys, *PLAN, "--format", "json")
    assert code == 0, err
    d = json.loads(out)
    assert [s["sport"] for s in d["streams"]] == [50000, 50002, 50004, 50006]
    for s in d["streams"]:
        assert {"src", "dst", "sport", "dport", "link", "member"} <= set(s)
    assert sorted(s["link"] for s in d["streams"]) == [0, 1, 2, 3]
    assert set(d["streams_for"]) == {"0.5", "0.9", "0.95", "0.99"}
    assert d["p_all_used"] == pytest.approx(3 / 32)
    assert 0.25 < d["expected_busiest_share"] < 1


def test_cli_odds_only(monkeypatch, capsys):
    code, out, err = run_main(monkeypatch, capsys, "plan", "--links", "4", "--streams", "8",
                              "--format", "json")
    assert code == 0, err
    d = json.loads(out)
    assert d["streams"] == [] and d["streams_for"]["0.9"] == 13
    assert [r["links"] for r in d["odds"]["uniform"]] == list(LINKS)
    assert len(d["odds"]["8-buckets"]) == 7
    code, out, _ = run_main(monkeypatch, capsys, "plan", "--links", "4", "--streams", "8")
    assert code == 0 and "P(all used)" in out


@pytest.mark.parametrize("command", ["plan", "analyze"])
def test_cli_iperf3(monkeypatch, capsys, command):
    f = ROOT / "tests" / "data" / "iperf3" / "iperf3-P4.json"
    code, out, err = run_main(monkeypatch, capsys, command, "--iperf3", f, "--links", "4",
                              "-p", "layer3+4", "--format", "json")
    assert code == 0, err
    d = json.loads(out)
    run = read_iperf3(f)
    assert [s["sport"] for s in d["streams"]] == [59892, 59894, 59896, 59900]
    assert all(s["sender_bps"] > 1e8 for s in d["streams"])
    plan = [plan_streams(get_policy("layer3+4"), make_setup(4), Endpoints(
        ipaddress.ip_address(s.src), ipaddress.ip_address(s.dst), s.dport), 1, "sport",
        [s.sport]).streams[0].link for s in run.streams]
    assert [s["link"] for s in d["streams"]] == plan
    code, out, err = run_main(monkeypatch, capsys, command, "--iperf3", f, "--links", "4")
    assert code == 0 and "Gbit/s" in out


def test_iperf3_reverse_and_udp():
    r = read_iperf3(ROOT / "tests" / "data" / "iperf3" / "iperf3-P2-R.json")
    assert r.reverse and all(s.sport == 5299 for s in r.streams)  # the server sent
    u = read_iperf3(ROOT / "tests" / "data" / "iperf3" / "iperf3-P2-udp.json")
    assert u.protocol == "udp" and all(s.sender_bps for s in u.streams)


@pytest.mark.parametrize("args", [
    ["plan", "--iperf3", "{bad"],
    ["plan", "--iperf3", "[]"],
    ["plan", "--iperf3", '{"start": {}}'],
    ["analyze", "--iperf3", "{bad"],
    ["report", "--iperf3", "{bad"],
    ["plan", "-p", "layer3+4", "--src", "10.0.0.1", "--dst", "10.0.0.2", "--streams", "2",
     "--sport-range", "60000-50000"],
    ["plan", "-p", "layer3+4", "--src", "10.0.0.1", "--streams", "2"],
    ["plan", "-p", "layer3+4", "--src", "10.0.0.1", "--dst", "banana", "--streams", "2"],
    ["plan", "-p", "layer3+4", "--mode", "balance-rr", "--src", "10.0.0.1", "--dst",
     "10.0.0.2", "--streams", "2"],
    ["plan"],
])
def test_cli_bad_input_one_line(monkeypatch, capsys, tmp_path, args):
    args = list(args)
    if "--iperf3" in args:
        i = args.index("--iperf3") + 1
        (tmp_path / "r.json").write_text(args[i])
        args[i] = str(tmp_path / "r.json")
    code, out, err = run_main(monkeypatch, capsys, *args)
    assert code == 2, (code, err)
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


# -------------------------------------------------------------- the kernel lab's replay

def test_kernel_lab_replay_of_the_planned_ports():
    """plan's four ports are the scenario's, and the real 6.1 bond sent one stream down
    each slave: every slave carried frames, each one stream, the one plan promised."""
    m = json.loads((PLANNED / "scenario.json").read_text())
    r = make_plan(make_setup(",".join(m["slaves"]), kernel=m["kernel"]), 4,
                  get_policy(m["xmit_hash_policy"]), ENDS, "sport", list(range(50000, 60001)))
    ports = [s.sport for s in r.streams]
    sent = read_packets([str(PLANNED / "input.pcap")])
    streams = sorted(set(sent["sport"][sent["dport"] == 5201].tolist()) - {34390})
    assert ports == streams == [50000, 50002, 50004, 50006]
    assert all(n > 0 for n in m["packets_per_slave"].values())
    for s in r.streams:
        slave = read_packets([str(PLANNED / f"{s.member}.pcap")])
        data = set(slave["sport"][(slave["dport"] == 5201) & (slave["sport"] != 34390)].tolist())
        assert data == {s.sport}, (s.member, data)
    assert [s.member for s in r.streams] == m["slaves"]
