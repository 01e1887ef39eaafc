"""``hashscope status`` and ``--bond-status``: a bond's own status text read, whatever the
era and however it was pasted (tests/data/status: the kernel lab's /proc texts, real
texts from public sources listed in real/SOURCES.md, and malformed variants)."""

from __future__ import annotations

import json

import pytest
from helpers import DATA, ROOT, run_main

from hashscope.errors import HashscopeError
from hashscope.status import parse_status, read_status

STATUS = DATA / "status"
REAL = STATUS / "real"
BAD = STATUS / "malformed"
SCEN = ROOT / "captures" / "scenarios"
IPERF = SCEN / "iperf3-P4-lacp"


# -- the kernel lab's own /proc texts, against the scenario that made them -------------

@pytest.mark.parametrize("scenario", sorted(p.name for p in SCEN.iterdir()
                                            if (p / "proc_net_bonding_bond0.txt").exists()))
def test_the_lab_proc_text_says_what_the_scenario_made(scenario):
    meta = json.loads((SCEN / scenario / "scenario.json").read_text())
    st = read_status(SCEN / scenario / "proc_net_bonding_bond0.txt")
    assert st.kind == "linux"
    assert st.mode == meta["mode"]
    assert st.policy == meta.get("xmit_hash_policy")
    assert list(st.names) == meta["slaves"]
    assert st.warnings == () and st.ignored == ()
    assert st.detail("driver") == "v" + meta["kernel"]
    if meta["mode"] == "802.3ad":
        assert st.active_aggregator == 1
        assert all(m.aggregator == 1 and m.active for m in st.members)
    assert st.down == ()


@pytest.mark.parametrize("scenario", ["iperf3-P4-lacp", "lan-l23-lacp3"])
def test_the_lacp_partner_text(scenario):
    st = read_status(SCEN / scenario / "partner_po1.txt")
    n = len(json.loads((SCEN / scenario / "scenario.json").read_text())["slaves"])
    assert (st.kind, st.mode, st.policy) == ("linux", "802.3ad", "layer3+4")
    assert st.names == tuple(f"swp{i}" for i in range(n))
    assert st.active_aggregator == 1 and st.down == ()


def test_active_backup_after_a_failover_names_the_active_slave():
    st = read_status(SCEN / "active-backup-failover-any" / "proc_net_bonding_bond0.txt")
    assert st.names == ("eno2", "eno1") and st.active == "eno1"
    assert [m.active for m in st.members] == [False, True]
    assert [m.speed_bps for m in st.members] == [None, None]  # Speed: Unknown


def test_speeds_and_churn_states():
    st = read_status(IPERF / "proc_net_bonding_bond0.txt")
    assert {m.speed_bps for m in st.members} == {10_000_000_000}
    assert st.members[0].flags == ("actor churn monitoring", "partner churn monitoring")


# -- real texts (tests/data/status/real/SOURCES.md): expectations written from reading them

REAL_EXPECTED = {
    # file: (kind, mode, policy, members, down, active)
    "linux-v3.5.0-lacp-no-aggregator.txt": ("linux", "802.3ad", "layer2", "eth1,eth2", "", None),
    "linux-v3.2.4-lacp-two-aggregators.txt": ("linux", "802.3ad", "layer2", "eth1,eth2", "eth2",
                                              None),
    "linux-v3.7.1-lacp-redacted-no-blank-lines.txt": ("linux", "802.3ad", "layer3+4",
                                                      "eth0,eth1", "", None),
    "linux-v3.7.1-active-backup-hash-comments.txt": ("linux", "active-backup", None,
                                                     "eth0,eth1", "", "eth0"),
    "linux-v5.10.45-active-backup-quoted-xx.txt": ("linux", "active-backup", None,
                                                   "enp2s0,enp3s0", "enp3s0", "enp2s0"),
    "linux-2.6.1-round-robin.txt": ("linux", "balance-rr", None, "eth1,eth0", "", "eth0"),
    "linux-v3.4.0-active-backup-arp.txt": ("linux", "active-backup", None, "eth0,eth1", "",
                                           "eth1"),
    "linux-v3.4.0-lacp-aggregator-3-of-4.txt": ("linux", "802.3ad", "layer2+3",
                                                "eth0,eth1,eth2,eth3", "eth0,eth1", None),
    "linux-v5.15-lacp-doc.txt": ("linux", "802.3ad", "layer3+4", "eth0,eth1", "", None),
    "linux-v4.18-xor-vlansrc-no-slaves.txt": ("linux", "balance-xor", "vlan+srcmac", "", "",
                                              None),
    "linux-v4.18-active-backup-rhel8.txt": ("linux", "active-backup", None, "ens160,ens192",
                                            "", "ens160"),
    "linux-v3.7.1-active-backup-indented.txt": ("linux", "active-backup", None, "eth0,eth1",
                                                "", "eth1"),
    "linux-v3.7.1-round-robin-tap.txt": ("linux", "balance-rr", None, "tap0,tap1", "", None),
    "linux-v3.4.0-1-two-bonds-tabbed.txt": ("linux", "active-backup", None, "eth0,eth3", "",
                                            "eth0"),
    "linux-v3.7.1-active-backup-prompt.txt": ("linux", "active-backup", None, "eth0,eth1", "",
                                              "eth0"),
    "freebsd-old-lacp-no-lagghash.txt": ("freebsd", "lacp", "lagg:l2,l3,l4", "fxp1,fxp0", "",
                                         None),
    "freebsd-old-failover.txt": ("freebsd", "failover", "lagg:l2,l3,l4", "fxp1,fxp0", "fxp1",
                                 "fxp0"),
    "freebsd-lacp-ixl-lagghash.txt": ("freebsd", "lacp", "lagg:l2,l3,l4", "ixl0,ixl1", "",
                                      None),
    "freebsd-lacp-flags-names-lost.txt": ("freebsd", "lacp", "lagg:l2,l3,l4", "ixl0,ixl1", "",
                                          None),
    "freebsd-lacp-em-not-active.txt": ("freebsd", "lacp", "lagg:l2,l3,l4", "em0,em1",
                                       "em0,em1", None),
    "freebsd-failover-lagghash-after-carp.txt": ("freebsd", "failover", "lagg:l2,l3,l4", "ix0",
                                                 "", "ix0"),
    "ovs-new-member-balance-tcp-buckets.txt": ("ovs-bond", "balance-tcp", "ovs:balance-tcp",
                                               "ens20f0np0,ens20f1np1", "", "ens20f1np1"),
    "ovs-old-slave-balance-tcp-dpdk-failover.txt": ("ovs-bond", "balance-tcp",
                                                    "ovs:balance-tcp", "dpdk0,dpdk1", "dpdk0",
                                                    "dpdk1"),
    "ovs-old-lacp-show-dpdk.txt": ("ovs-lacp", None, None, "dpdk0,dpdk1", "dpdk1", None),
    "ovs-old-slave-active-backup-two-bonds.txt": ("ovs-bond", "active-backup",
                                                  "ovs:active-backup", "br0p0,br0p1", "",
                                                  "br0p1"),
    "ovs-old-slave-active-backup-html.txt": ("ovs-bond", "active-backup", "ovs:active-backup",
                                             "e00,e01", "", "e00"),
    "ovs-xcpng-balance-tcp-slave.txt": ("ovs-bond", "balance-tcp", "ovs:balance-tcp",
                                        "eth0,eth1", "", "eth0"),
    "teamd-lacp-state-rhel.txt": ("teamd", "802.3ad", None, "en5,en6", "en6", None),
    "teamd-activebackup-nsna.txt": ("teamd", "active-backup", None,
                                    "internal1_1.100,mac_ma1_1,mac_ma1_2",
                                    "internal1_1.100,mac_ma1_2", "mac_ma1_1"),
    "teamd-lacp-config.json": ("teamd", "802.3ad", None, "eth0,eth1", "", None),
}


def _split(s: str) -> tuple[str, ...]:
    return tuple(s.split(",")) if s else ()


def test_every_real_text_has_its_expectations_and_a_source():
    files = {p.name for p in REAL.iterdir() if p.name != "SOURCES.md"}
    assert files == set(REAL_EXPECTED) and len(files) >= 20
    sources = (REAL / "SOURCES.md").read_text()
    assert all(f"| {name} |" in sources for name in files)


@pytest.mark.parametrize("name", sorted(REAL_EXPECTED))
def test_a_real_text(name):
    kind, mode, policy, members, down, active = REAL_EXPECTED[name]
    st = read_status(REAL / name)
    assert (st.kind, st.mode, st.policy) == (kind, mode, policy)
    assert st.names == _split(members)
    assert st.down == _split(down)
    assert st.active == active


def test_real_details_by_hand():
    st = read_status(REAL / "linux-v3.4.0-lacp-aggregator-3-of-4.txt")
    assert st.active_aggregator == 3
    assert [m.aggregator for m in st.members] == [2, 2, 3, 3]
    assert st.members[0].out == "aggregator 2, not the active aggregator 3"
    st = read_status(REAL / "linux-v3.5.0-lacp-no-aggregator.txt")
    assert st.active_aggregator is None and st.members[0].flags == ("aggregator N/A",)
    assert any("no active aggregator" in w for w in st.warnings)
    st = read_status(REAL / "linux-v5.10.45-active-backup-quoted-xx.txt")
    assert [m.up for m in st.members] == [True, False]
    assert st.members[0].speed_bps == 1_000_000_000 and st.detail("driver") == "v5.10.45"
    assert (1, "And the bonding configuration:") in st.ignored
    st = read_status(REAL / "linux-v3.4.0-1-two-bonds-tabbed.txt")
    assert any("second bond" in w for w in st.warnings)
    assert any("eth4" in t for _, t in st.ignored)  # the second bond is listed, not lost
    st = read_status(REAL / "linux-v4.18-xor-vlansrc-no-slaves.txt")
    assert any("no member" in w for w in st.warnings)
    st = read_status(REAL / "linux-v5.15-lacp-doc.txt")
    assert (13, "Peer Encryption Protocol: none") in st.ignored
    st = read_status(REAL / "freebsd-old-lacp-no-lagghash.txt")
    assert st.members[0].flags == ("ACTIVE", "COLLECTING", "DISTRIBUTING")
    assert any("no lagghash" in w for w in st.warnings)
    st = read_status(REAL / "freebsd-lacp-flags-names-lost.txt")
    assert st.members[1].flags == ("ACTIVE", "COLLECTING", "DISTRIBUTING")
    assert any("without their names" in w for w in st.warnings)
    st = read_status(REAL / "freebsd-old-failover.txt")
    assert st.members[1].flags == ("MASTER", "ACTIVE") and st.members[0].flags == ()
    st = read_status(REAL / "freebsd-failover-lagghash-after-carp.txt")
    assert st.name == "dhcpha0lagg"
    st = read_status(REAL / "ovs-new-member-balance-tcp-buckets.txt")
    assert len(st.members[0].buckets) == 43 and st.members[1].buckets[10] == (131, 142)
    assert st.detail("lacp_status") == "negotiated" and st.detail("bond-hash-basis") == "0"
    st = read_status(REAL / "ovs-old-lacp-show-dpdk.txt")
    assert st.members[0].flags[:2] == ("current", "attached")
    assert "actor distributing" in st.members[0].flags
    st = read_status(REAL / "ovs-old-slave-active-backup-two-bonds.txt")
    assert st.name == "bond0" and any("bond1" in w for w in st.warnings)
    st = read_status(REAL / "teamd-lacp-state-rhel.txt")
    assert [m.aggregator for m in st.members] == [4, 0]
    assert st.members[0].speed_bps == 10_000_000_000
    assert st.members[1].out == "link down"
    st = read_status(REAL / "teamd-lacp-config.json")
    assert st.detail("tx_hash") == "eth,ipv4,ipv6" and st.name == "team0"


# -- malformed variants ---------------------------------------------------------------

READABLE = {
    # file: (members, down, a warning that says what was wrong, or None)
    "quoted.txt": ("eth0,eth1,eth2,eth3", "eth0,eth1", "quoted"),
    "indented.txt": ("eth0,eth1,eth2,eth3", "eth0,eth1", None),
    "html-one-line.txt": ("ens20f0np0,ens20f1np1", "", "HTML"),
    "html-entities.txt": ("ixl0,ixl1", "", "HTML entities"),
    "cut-mid-block.txt": ("ens1f0,ens1f1", "", "cut off"),
    "redacted.txt": ("ens1f0,ens1f1,ens1f2,ens1f3", "", None),
    "no-blank-lines.txt": ("ens1f0,ens1f1,ens1f2,ens1f3", "", None),
    "notes-interleaved.txt": ("ens1f0,ens1f1,ens1f2,ens1f3", "", None),
    "crlf.txt": ("en5,en6", "en6", None),
}
UNREADABLE = {
    "binary.bin": "binary data", "empty.txt": "empty", "blank.txt": "empty",
    "wrong-kind.txt": "not a bond status", "json-cut.json": "does not parse",
    "huge-line.txt": "nothing of a bond status",
}


@pytest.mark.parametrize("name", sorted(READABLE))
def test_a_readable_malformed_text(name):
    members, down, warning = READABLE[name]
    st = read_status(BAD / name)
    assert st.names == _split(members) and st.down == _split(down)
    if warning:
        assert any(warning in w for w in st.warnings), st.warnings


def test_notes_in_the_text_are_listed_as_ignored():
    st = read_status(BAD / "notes-interleaved.txt")
    assert [t for _, t in st.ignored] == ["<-- this is the one that drops, see below",
                                          "(I snipped the lacp pdu details)"]
    assert st.ignored[0][0] == 20


@pytest.mark.parametrize("name", sorted(UNREADABLE))
def test_an_unreadable_text_is_one_error_naming_the_file(name):
    with pytest.raises(HashscopeError) as e:
        read_status(BAD / name)
    assert str(BAD / name) in str(e.value) and UNREADABLE[name] in str(e.value)
    assert "\n" not in str(e.value)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(HashscopeError, match="no such file"):
        read_status(tmp_path / "nope.txt")
    with pytest.raises(HashscopeError, match="a directory"):
        read_status(tmp_path)


def test_reading_is_bounded(tmp_path):
    big = tmp_path / "big.txt"
    text = (IPERF / "proc_net_bonding_bond0.txt").read_text()
    big.write_text(text + "\n" + "filler line\n" * 120_000)
    st = read_status(big)
    assert st.names == ("ens1f0", "ens1f1", "ens1f2", "ens1f3")
    assert any("only the first 1 MiB" in w for w in st.warnings)


def test_mode_names_of_every_linux_era():
    for text, mode in [("load balancing (xor)", "balance-xor"),
                       ("transmit load balancing", "balance-tlb"),
                       ("adaptive load balancing", "balance-alb"),
                       ("fault-tolerance (broadcast)", "broadcast")]:
        st = parse_status(f"Bonding Mode: {text}\nSlave Interface: eth0\nMII Status: up\n")
        assert st.mode == mode


# -- the CLI ----------------------------------------------------------------------------

def test_status_command_table_and_json(monkeypatch, capsys):
    code, out, err = run_main(monkeypatch, capsys, "status",
                              REAL / "linux-v3.4.0-lacp-aggregator-3-of-4.txt")
    assert code == 0 and "802.3ad" in out and "layer2+3" in out
    assert "no: aggregator 2, not the active aggregator 3" in out
    code, out, err = run_main(monkeypatch, capsys, "status", "--format", "json",
                              REAL / "linux-v5.10.45-active-backup-quoted-xx.txt")
    doc = json.loads(out)
    assert (doc["kind"], doc["mode"], doc["policy"]) == ("linux", "active-backup", None)
    assert [m["name"] for m in doc["members"]] == ["enp2s0", "enp3s0"]
    assert doc["members"][1] == {"name": "enp3s0", "up": False, "speed": None,
                                 "aggregator": None, "flags": [], "active": False,
                                 "out": "MII Status down"}
    assert {"line": 1, "text": "And the bonding configuration:"} in doc["ignored"]
    code, out, err = run_main(monkeypatch, capsys, "status", "--format", "json",
                              REAL / "teamd-lacp-config.json", REAL / "freebsd-old-failover.txt")
    assert [d["kind"] for d in json.loads(out)["statuses"]] == ["teamd", "freebsd"]


@pytest.mark.parametrize("name", sorted(UNREADABLE))
def test_status_command_unreadable_is_exit_2(monkeypatch, capsys, name):
    code, out, err = run_main(monkeypatch, capsys, "status", BAD / name)
    assert code == 2 and err.count("\n") == 1 and err.startswith("hashscope: error: ")
    assert "Traceback" not in err


def _pcaps():
    return [str(p) for p in sorted(IPERF.glob("ens1f*.pcap"))]


def test_bond_status_gives_analyze_its_defaults(monkeypatch, capsys):
    status = IPERF / "proc_net_bonding_bond0.txt"
    code, with_status, err = run_main(monkeypatch, capsys, "analyze", *_pcaps(),
                                      "--bond-status", status, "--format", "json")
    assert code == 0
    code, explicit, _ = run_main(monkeypatch, capsys, "analyze", *_pcaps(), "--policy",
                                 "layer3+4", "--links", "ens1f0,ens1f1,ens1f2,ens1f3",
                                 "--link-speed", "10G", "--format", "json")
    a, b = json.loads(with_status), json.loads(explicit)
    notes = a.pop("assumptions")
    b.pop("assumptions")
    assert a == b
    assert any("from the bond status" in n and "policy layer3+4" in n for n in notes)
    code, table, _ = run_main(monkeypatch, capsys, "analyze", *_pcaps(), "--bond-status",
                              status)
    assert "note: from the bond status" in table


def test_an_explicit_option_beats_the_status_file(monkeypatch, capsys):
    status = IPERF / "proc_net_bonding_bond0.txt"
    code, out, _ = run_main(monkeypatch, capsys, "analyze", *_pcaps(), "--bond-status",
                            status, "--policy", "layer2", "--format", "json")
    doc = json.loads(out)
    assert doc["policies"][0]["policy"] == "layer2"
    assert [m["member"] for m in doc["policies"][0]["members"]] == [
        "ens1f0", "ens1f1", "ens1f2", "ens1f3"]
    notes = " ".join(doc["assumptions"])
    assert "policy layer3+4" not in notes and "members ens1f0" in notes


def test_a_down_or_outside_slave_becomes_down(monkeypatch, capsys, tmp_path):
    text = (IPERF / "proc_net_bonding_bond0.txt").read_text()
    blocks = text.split("Slave Interface: ")
    blocks[2] = blocks[2].replace("MII Status: up", "MII Status: down", 1)  # ens1f1
    blocks[4] = blocks[4].replace("Aggregator ID: 1", "Aggregator ID: 2", 1)  # ens1f3
    path = tmp_path / "bond0.txt"
    path.write_text("Slave Interface: ".join(blocks))
    assert read_status(path).down == ("ens1f1", "ens1f3")
    code, out, err = run_main(monkeypatch, capsys, "assign", *_pcaps(), "--bond-status", path,
                              "-o", tmp_path / "a.csv")
    assert code == 0
    assert "--down ens1f1 (MII Status down), ens1f3 (aggregator 2, not the active " \
           "aggregator 1)" in err.replace("\n", " ").replace("hashscope: note: ", "")
    links = {line.split(",")[2] for line in (tmp_path / "a.csv").read_text().splitlines()[1:]}
    assert links <= {"0", "2", ""}
    code, out, err = run_main(monkeypatch, capsys, "assign", *_pcaps(), "--bond-status", path,
                              "--down", "ens1f0", "-o", tmp_path / "b.csv")
    links = {line.split(",")[2] for line in (tmp_path / "b.csv").read_text().splitlines()[1:]}
    assert "0" not in links and "1" in links


@pytest.mark.parametrize("command", ["flows", "compare", "infer", "assign", "analyze"])
def test_every_command_takes_bond_status(monkeypatch, capsys, command, tmp_path):
    extra = ["-o", str(tmp_path / "x.csv")] if command == "assign" else []
    code, out, err = run_main(monkeypatch, capsys, command, *_pcaps(), "--bond-status",
                              IPERF / "proc_net_bonding_bond0.txt", *extra)
    assert code == 0, err
    code, out, err = run_main(monkeypatch, capsys, command, *_pcaps(), "--bond-status",
                              BAD / "binary.bin", *extra)
    assert code == 2 and "binary data" in err and err.count("\n") == 1


def test_report_takes_bond_status(monkeypatch, capsys, tmp_path):
    code, out, err = run_main(monkeypatch, capsys, "report", *_pcaps(), "--bond-status",
                              IPERF / "proc_net_bonding_bond0.txt", "-o", tmp_path / "r")
    assert code == 0, err
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert "from the bond status" in json.dumps(summary)


def test_the_api_exports_read_status():
    import hashscope

    assert hashscope.read_status is read_status


def test_the_status_files_speed_is_the_link_speed(monkeypatch, capsys):
    code, out, err = run_main(monkeypatch, capsys, "analyze", *_pcaps(), "--bond-status",
                              IPERF / "proc_net_bonding_bond0.txt", "--format", "json")
    assert code == 0, err
    d = json.loads(out)
    assert d["policies"][0]["capacity_bps"] == 4 * 10e9  # four slaves at 10000 Mbps
    assert any("--link-speed 10 Gbit/s from the bond status" in n for n in d["assumptions"])
    code, out, err = run_main(monkeypatch, capsys, "analyze", *_pcaps(), "--bond-status",
                              IPERF / "proc_net_bonding_bond0.txt", "--link-speed", "1G",
                              "--format", "json")
    assert json.loads(out)["policies"][0]["capacity_bps"] == 4 * 1e9  # the option wins
