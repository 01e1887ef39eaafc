"""analyze, compare, assign, policies through the real CLI entry point, on real captures."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from helpers import ROOT, SHARED_TCPDUMP, TCPDUMP, VECTORS, run_main

from hashscope import read_packets
from hashscope.hashes.linux.if_bonding import POLICIES
from hashscope.hashes.linux.xmit_hash import linux_xmit_hash

DEMO = ROOT / "captures" / "two-links-backup.pcapng"


def assign_csv(monkeypatch, capsys, *args) -> pd.DataFrame:
    code, out, err = run_main(monkeypatch, capsys, "assign", *args)
    assert code == 0, err
    return pd.read_csv(io.StringIO(out), dtype={"hash": str, "link": str, "member": str},
                       keep_default_na=False)


@pytest.mark.parametrize(("vset", "vlan"), [("linux-6.1", "inband"),
                                            ("linux-6.1-vlan-offload", None)])
@pytest.mark.parametrize("policy", list(POLICIES))
def test_assign_reproduces_kernel_vectors(monkeypatch, capsys, vset, vlan, policy):
    """Every row of the real-kernel vectors, through `hashscope assign --format csv`."""
    vectors = pd.read_csv(VECTORS / vset / "vectors.csv.gz")
    rows = vectors[vectors["xmit_hash_policy"] == policy]
    frames = VECTORS / vset / "frames.pcap"
    for n, want in rows.groupby("slave_count"):
        extra = ["--vlan", vlan] if vlan else []  # offload is the default
        got = assign_csv(monkeypatch, capsys, frames, "--policy", policy, "--links", n,
                         "--format", "csv", *extra)
        assert list(got["packet"]) == list(range(len(got)))
        link = got["link"].to_numpy()[want["frame_index"].to_numpy()]
        expected = want["slave_index"].astype(str).to_numpy()
        assert (link == expected).all(), f"{policy} n={n}: {(link != expected).sum()} differ"


def demo_json(monkeypatch, capsys, *args) -> dict:
    code, out, err = run_main(monkeypatch, capsys, "analyze", DEMO, "--format", "json", *args)
    assert code == 0, err
    return json.loads(out)


def test_analyze_counts_agree_with_the_hash_core(monkeypatch, capsys):
    packets = read_packets([str(DEMO)])
    h, valid = linux_xmit_hash(packets, "layer3+4")
    assert valid.all()
    link = h % 3
    data = demo_json(monkeypatch, capsys, "--policy", "layer3+4", "--links", "a,b,c",
                     "--link-speed", "1G")
    (p,) = data["policies"]
    members = pd.DataFrame(p["members"])
    assert list(members["member"]) == ["a", "b", "c"]
    assert list(members["packets"]) == list(np.bincount(link, minlength=3))
    assert list(members["bytes"]) == list(np.bincount(link, weights=packets["wirelen"],
                                                      minlength=3).astype(int))
    assert data["sent_packets"] == data["packets"] == len(packets)
    share = members["bytes"] / members["bytes"].sum()
    assert p["imbalance"]["max_mean"] == pytest.approx(share.max() * 3)
    assert p["best_aggregate_bps"] == pytest.approx(1e9 / share.max())
    assert data["assumptions"] and "--local" in data["assumptions"][0]
    # the 4 iperf-like streams from client ports 50000-50003: with a power-of-two member
    # count, ports differing only in bit 0 share a member (the hash drops its low bit)
    flows = pd.DataFrame(p["heaviest_flows"])
    by_port = dict(zip(flows["sport"], flows["member"], strict=False))
    two = pd.DataFrame(demo_json(monkeypatch, capsys, "-p", "layer3+4")["policies"][0][
        "heaviest_flows"])
    by_port2 = dict(zip(two["sport"], two["member"], strict=False))
    assert by_port2[50000] == by_port2[50001] and by_port2[50002] == by_port2[50003]
    assert set(by_port) >= {50000, 50001}


def test_analyze_as_the_user_wrote_it(monkeypatch, capsys):
    code, out, err = run_main(monkeypatch, capsys, "analyze", DEMO, "--policy", "layer3+4")
    assert code == 0, err
    assert "--kernel current" in out
    # the capture's two interfaces are taken as the members, their order said unknown
    assert "members eth0, eth1 from the captures' interfaces" in out and "unknown" in out
    assert "max/mean" in out and "Jain" in out and "heaviest flows" in out
    assert "eth0" in out and "eth1" in out  # the observed per-interface traffic


def test_local_selects_the_frames_the_host_sends(monkeypatch, capsys):
    everything = demo_json(monkeypatch, capsys, "-p", "layer2+3")
    client = demo_json(monkeypatch, capsys, "-p", "layer2+3", "--local", "198.51.100.10",
                       "--local", "198.51.101.10")
    assert not any("assumed every frame" in a for a in client["assumptions"])
    assert any("assumed every frame" in a for a in everything["assumptions"])
    assert 0 < client["sent_packets"] < everything["sent_packets"]
    members = pd.DataFrame(client["policies"][0]["members"])
    assert members["packets"].sum() == client["sent_packets"]
    flows = pd.DataFrame(client["policies"][0]["heaviest_flows"])
    assert set(flows["src"]) <= {"198.51.100.10", "198.51.101.10"}


def test_down_member_and_usable_array(monkeypatch, capsys):
    all_up = assign_csv(monkeypatch, capsys, DEMO, "-p", "layer3+4", "--links", "2")
    one_down = assign_csv(monkeypatch, capsys, DEMO, "-p", "layer3+4", "--links",
                          "eth0,eth1,eth2", "--down", "eth1")
    # usable = [eth0, eth2]: hash % 2 picks between them, as with two members
    mapping = {"0": "eth0", "1": "eth2"}
    assert list(one_down["member"]) == [mapping[x] for x in all_up["link"]]
    old = assign_csv(monkeypatch, capsys, DEMO, "-p", "layer3+4", "--links", "3", "--down",
                     "1", "--kernel", "3.16")
    h = np.array([int(x, 16) for x in old["hash"]], dtype=np.uint64)
    walk = np.array(["0", "2", "2"])[h % 3]  # 3.13-3.18: hash % 3, then the next usable
    assert (old["link"].to_numpy() == walk).all()


def test_modes(monkeypatch, capsys):
    rr = assign_csv(monkeypatch, capsys, DEMO, "-p", "layer2", "--mode", "balance-rr",
                    "--links", "3")
    assert list(rr["link"][:6]) == ["1", "2", "0", "1", "2", "0"]  # per-CPU counter, 5.14+
    rr_old = assign_csv(monkeypatch, capsys, DEMO, "-p", "layer2", "--mode", "balance-rr",
                        "--links", "2", "--kernel", "5.10", "--packets-per-slave", "2")
    assert list(rr_old["link"][:6]) == ["0", "0", "1", "1", "0", "0"]
    bc = assign_csv(monkeypatch, capsys, DEMO, "-p", "layer2", "--mode", "broadcast",
                    "--links", "eth0,eth1,eth2", "--down", "eth2")
    assert set(bc["member"]) == {"eth0;eth1"}
    ab = assign_csv(monkeypatch, capsys, DEMO, "-p", "layer2", "--mode", "active-backup",
                    "--links", "eth0,eth1", "--down", "eth0")
    assert set(ab["member"]) == {"eth1"}
    xor = assign_csv(monkeypatch, capsys, DEMO, "-p", "layer3+4", "--links", "2")
    tlb = assign_csv(monkeypatch, capsys, DEMO, "-p", "layer3+4", "--links", "2", "--mode",
                     "balance-tlb", "--tlb-dynamic-lb", "0")
    packets = read_packets([str(DEMO)])
    unicast_ip = (packets["ip_ver"] > 0) & ((packets["dst_mac"] >> np.uint64(40)) & np.uint64(
        1) == 0) & ~((packets["proto"] == 58) & np.isin(packets["icmp_type"], (135, 136)))
    assert (tlb["link"][unicast_ip] == xor["link"][unicast_ip]).all()
    assert (tlb["link"][~unicast_ip] == "0").all()  # to the active slave
    dyn = assign_csv(monkeypatch, capsys, DEMO, "-p", "layer3+4", "--links", "2", "--mode",
                     "balance-tlb")
    assert (dyn["link"][unicast_ip] == "").all()  # dynamic table: not predictable


def test_compare_ranks_policies(monkeypatch, capsys):
    code, out, err = run_main(monkeypatch, capsys, "compare", DEMO, "--links", "4",
                              "--format", "json")
    assert code == 0, err
    df = pd.DataFrame(json.loads(out)["policies"])
    assert {"layer2", "layer3+4", "layer2+3"} <= set(df["policy"])
    assert (np.diff(df["max_mean"]) >= 0).all()
    l34 = df.set_index("policy").loc["layer3+4"]
    assert l34["accuracy"] == "exact" and 1 <= l34["max_mean"] <= 4
    from hashscope.hashes.registry import all_policies
    registered = {p.name: p.accuracy for p in all_policies()}
    assert dict(zip(df["policy"], df["accuracy"], strict=True)) == registered
    assert {"lagg:l3,l4", "ovs:balance-slb", "cisco:src-dst-ip", "uniform"} <= set(registered)
    code, out, err = run_main(monkeypatch, capsys, "compare", DEMO)
    assert code == 0 and "layer3+4" in out


def test_policies_lists_every_policy(monkeypatch, capsys):
    code, out, err = run_main(monkeypatch, capsys, "policies")
    assert code == 0
    for name in POLICIES:
        assert name in out
    assert "exact" in out


@pytest.mark.parametrize("args", [
    ["analyze", DEMO, "--policy", "layer5"],
    ["analyze", DEMO, "--links", "0"],
    ["analyze", DEMO, "--links", "eth0,eth0"],
    ["analyze", DEMO, "--links", "2", "--down", "eth7"],
    ["analyze", DEMO, "--kernel", "2.6.32"],
    ["analyze", DEMO, "-p", "vlan+srcmac", "--kernel", "4.19"],
    ["analyze", DEMO, "--mode", "balance-fast"],
    ["analyze", DEMO, "--link-speed", "fast"],
    ["analyze", DEMO, "--local", "not-an-address"],
    ["assign", DEMO, "-p", "layer2", "--seed", "banana"],
    ["assign", ROOT / "no-such.pcap", "-p", "layer2"],
])
def test_bad_arguments_give_one_line(monkeypatch, capsys, args):
    code, out, err = run_main(monkeypatch, capsys, *args)
    assert code == 2, (code, err)
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize("command", [["analyze", "-p", "layer3+4"], ["compare"],
                                     ["assign", "-p", "encap3+4", "--links", "3"]])
def test_tcpdump_captures_never_crash(monkeypatch, capsys, command):
    ok = 0
    for path in sorted(TCPDUMP.iterdir()):
        code, out, err = run_main(monkeypatch, capsys, command[0], path, *command[1:])
        assert code in (0, 2), (path, err)
        assert "Traceback" not in err and "internal error" not in err, (path, err)
        ok += code == 0
    assert ok >= 35


FREEBSD = {"fnv": "14.0", "djb": "10.4"}


@pytest.mark.parametrize("variant", list(FREEBSD))
@pytest.mark.parametrize("vlan", ["inband", "hwtag"])
def test_assign_reproduces_freebsd_vectors(monkeypatch, capsys, variant, vlan):
    """Every row of the FreeBSD vectors through `hashscope assign -p lagg:...`."""
    vectors = pd.read_csv(VECTORS / "freebsd" / "vectors.csv.gz")
    rows = vectors[(vectors["variant"] == variant) & (vectors["vlan"] == vlan)]
    frames = VECTORS / "freebsd" / "frames.pcap"
    checked = 0
    for (flags, seed), want in rows.groupby(["flags", "seed"]):
        got = assign_csv(monkeypatch, capsys, frames, "-p", f"lagg:{flags}", "--seed", seed,
                         "--freebsd", FREEBSD[variant], "--links", 3, "--vlan",
                         "inband" if vlan == "inband" else "offload")
        frame = want["frame_index"].to_numpy()
        expected = [f"{int(h, 16):08x}" for h in want["hash"]]
        assert list(got["hash"].to_numpy()[frame]) == expected, (flags, seed)
        links = [str(int(h, 16) % 3) for h in want["hash"]]  # lacp, all distributing
        assert list(got["link"].to_numpy()[frame]) == links
        checked += len(want)
    assert checked == len(rows) > 0


def test_keyed_policy_without_seed(monkeypatch, capsys):
    data = demo_json(monkeypatch, capsys, "-p", "lagg:l3,l4", "--links", "4", "--keys", "8")
    spread = data["policies"][0]["over_random_keys"]
    assert spread["keys"] == 8
    assert 1 <= spread["max_mean_best"] <= spread["max_mean_expected"] <= \
        spread["max_mean_worst"] <= 4
    assert "flowid" in data["policies"][0]["caveat"]
    code, out, err = run_main(monkeypatch, capsys, "assign", DEMO, "-p", "lagg:l3,l4")
    assert code == 2 and "--seed" in err
    rr = assign_csv(monkeypatch, capsys, DEMO, "-p", "lagg:l2", "--mode", "roundrobin",
                    "--links", "3", "--rr-limit", "2", "--seed", "1")
    assert list(rr["link"][:7]) == ["0", "0", "1", "1", "2", "2", "0"]


@pytest.mark.parametrize("policy", ["cisco:src-dst-ip", "ovs:balance-slb", "aruba:l4",
                                    "vmware:ip-hash", "uniform"])
def test_models_spread_over_the_members_that_are_up(monkeypatch, capsys, policy):
    got = assign_csv(monkeypatch, capsys, DEMO, "-p", policy, "--links", "a,b,c", "--down",
                     "b")
    assert set(got["member"]) == {"a", "c"}
    code, out, err = run_main(monkeypatch, capsys, "analyze", DEMO, "-p", policy)
    assert code == 0 and ("(approximate)" in out or "(exact)" in out)


@pytest.mark.skipif(not SHARED_TCPDUMP.is_dir(), reason="tcpdump corpus not beside the repo")
def test_whole_tcpdump_corpus_through_the_bond_commands(monkeypatch, capsys):
    """analyze, compare and assign over all 830 corpus captures: a result or one line."""
    ok = 0
    for path in sorted(SHARED_TCPDUMP.iterdir()):
        for command in (["analyze", "-p", "layer3+4", "--links", "3"],
                        ["assign", "-p", "encap2+3", "--links", "4"],
                        ["compare", "--keys", "2"]):
            code, out, err = run_main(monkeypatch, capsys, command[0], path, *command[1:])
            assert code in (0, 2), (path, command, err)
            assert "Traceback" not in err and "internal error" not in err, (path, err)
            if code == 2:
                assert len([x for x in err.splitlines() if "error:" in x]) == 1, (path, err)
            ok += code == 0
    assert ok > 3 * 500
