"""Interface counters (``--counters BEFORE AFTER``): the readers on real snapshots of this
machine and on public texts, their deltas against captures of the same traffic, bad
input, and the CLI (tests/data/counters/README.md and SOURCES.md say where each comes
from)."""

from __future__ import annotations

import json
import struct

import pytest
from helpers import DATA, run_main

from hashscope.status.counters import (
    IP_JSON,
    IP_TEXT,
    MAX_BYTES,
    NETSTAT,
    PROC_NET_DEV,
    Counter,
    CounterError,
    Counters,
    counter_deltas,
    observed_counters,
    read_counters,
)

LAB = DATA / "counters"
PUBLIC = LAB / "public"
HOST_MAC = bytes.fromhex("020000000001")  #: the lab's bonded host (make_lab.py)
SNAPSHOTS = [("ip-link-{}.json", IP_JSON), ("ip-link-ss-{}.json", IP_JSON),
             ("ip-link-{}.txt", IP_TEXT), ("proc-net-dev-{}.txt", PROC_NET_DEV)]


def capture_counts(path) -> Counter:
    """(rx bytes, rx packets, tx bytes, tx packets) of a tcpdump pcap, by the frames'
    source MAC: the bonded host's are sent. Bytes are each frame's original length."""
    data = path.read_bytes()
    assert struct.unpack_from("<I", data)[0] == 0xA1B2C3D4
    rx_b = rx_p = tx_b = tx_p = 0
    at = 24
    while at < len(data):
        _, _, incl, orig = struct.unpack_from("<IIII", data, at)
        frame = data[at + 16: at + 16 + incl]
        assert incl == orig  # snap length 0: whole frames
        if frame[6:12] == HOST_MAC:
            tx_b, tx_p = tx_b + orig, tx_p + 1
        else:
            rx_b, rx_p = rx_b + orig, rx_p + 1
        at += 16 + incl
    return Counter(rx_b, rx_p, tx_b, tx_p)


@pytest.mark.parametrize(("pattern", "fmt"), SNAPSHOTS)
def test_real_counter_deltas_are_what_the_captures_hold(pattern, fmt):
    """Per interface, after - before is exactly the frames tcpdump saw there: the kernel
    counts a frame's bytes from its Ethernet header, no FCS, as a capture's frame length
    (a 42-byte frame is counted 42, veth pads nothing); the warm-up before the captures
    is in both snapshots and so in no delta."""
    before, after = (read_counters(LAB / pattern.format(t)) for t in ("before", "after"))
    assert before.format == after.format == fmt
    assert list(after) == ["lo", "eth0", "eth1", "mgmt0"]
    assert before["eth0"] == Counter(0, 0, 2710, 5)  # the warm-up: 5 frames of 542 bytes
    deltas, warnings = counter_deltas(before, after, ["eth0", "eth1", "mgmt0"])
    assert warnings == []
    for name in ("eth0", "eth1", "mgmt0"):
        assert deltas[name] == capture_counts(LAB / f"{name}.pcap"), name
    assert deltas["eth0"] == Counter(376, 5, 146722, 219)


def test_one_interface_json_and_the_formats_agree():
    one = read_counters(LAB / "ip-link-eth0-after.json")
    assert list(one) == ["eth0"]
    every = [read_counters(LAB / p.format("after")) for p, _ in SNAPSHOTS]
    assert all(dict(c) == dict(every[0]) for c in every)
    assert one["eth0"] == every[0]["eth0"]


def test_observed_counters_list_the_others_as_ignored():
    before, after = (read_counters(LAB / f"proc-net-dev-{t}.txt") for t in ("before", "after"))
    seen = observed_counters(before, after, ["eth0", "eth1"])
    assert seen.ignored == ["lo", "mgmt0"] and seen.warnings == []
    assert "different windows" in seen.notes[0]


def test_public_netstat_texts():
    """netstat -ib / -I IFACE -b from macOS (no Idrop column) and FreeBSD (Idrop): the
    <Link#N> row of each interface, not its address rows."""
    en1 = read_counters(PUBLIC / "netstat-bI-en1-macos.txt")
    assert en1.format == NETSTAT
    assert dict(en1) == {"en1": Counter(13047081883, 22184840, 6652036717, 29605843)}
    assert dict(read_counters(PUBLIC / "netstat-bI-en0-macos.txt")) == {
        "en0": Counter(0, 0, 836, 0)}
    ixv0 = read_counters(PUBLIC / "netstat-Ib-ixv0-freebsd.txt")
    assert dict(ixv0) == {"ixv0": Counter(7403767425, 0, 0, 0)}  # the Link# row, as is


def test_public_proc_net_dev():
    c = read_counters(PUBLIC / "proc-net-dev-venet0.txt")
    assert c.format == PROC_NET_DEV
    assert c["venet0"] == Counter(194953, 2253, 483704, 1937)
    assert c["lo"] == Counter(53536, 706, 53536, 706)


def test_proc_net_dev_name_glued_to_its_first_counter(tmp_path):
    text = (PUBLIC / "proc-net-dev-venet0.txt").read_text().replace("venet0:  194953",
                                                                    "venet0:194953")
    (tmp_path / "dev").write_text(text)
    assert read_counters(tmp_path / "dev")["venet0"].rx_bytes == 194953


@pytest.mark.parametrize(("name", "content", "says"), [
    ("empty", b"", "empty"),
    ("blank", b"\n  \n", "empty"),
    ("garbage", b"\x89PNG\r\n\x1a\n\0\0\0", "binary"),
    ("latin1", b"caf\xe9 au lait\n", "not text"),
    ("words", b"hello world\nthis is not a counter file\n", "not interface counters"),
    ("truncated.json", (LAB / "ip-link-after.json").read_bytes()[:300], "truncated"),
    ("bad.json", b'[{"ifname": "eth0"}, {"x": 1}]', "not the output of ip -s -j link"),
    ("nostats.json", b'[{"ifindex": 2, "ifname": "eth0", "mtu": 1500}]', "no statistics"),
    ("negative.json", b'[{"ifname": "eth0", "stats64": {"rx": {"bytes": -1, "packets": 0},'
                      b' "tx": {"bytes": 0, "packets": 0}}}]', "not a counter"),
    ("short-row", b"Inter-|   Receive  |  Transmit\n face |bytes    packets errs|bytes    "
                  b"packets errs\n  eth0: 1 2 3 4 5\n", "not a /proc/net/dev row"),
    ("netstat-in", (PUBLIC / "netstat-in-freebsd-no-bytes.txt").read_bytes(), "netstat -ib"),
    ("linux-2.0", (PUBLIC / "proc-net-dev-linux-2.0.txt").read_bytes(), "byte counters"),
    ("capture.pcap", (LAB / "mgmt0.pcap").read_bytes(), "binary"),
    ("ip-link-no-s.txt", b"2: eth0: <BROADCAST,UP> mtu 1500 qdisc noqueue state UP\n"
                         b"    link/ether 02:00:00:00:00:01 brd ff:ff:ff:ff:ff:ff\n",
     "no statistics"),
])
def test_malformed_snapshot_is_one_clear_error(tmp_path, name, content, says):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(CounterError) as info:
        read_counters(path)
    assert str(info.value).startswith(f"{path}: ") and says in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_directory_and_oversized(tmp_path):
    for path, says in ((tmp_path / "nope", "no such file"), (tmp_path, "a directory")):
        with pytest.raises(CounterError, match=says):
            read_counters(path)
    big = tmp_path / "big"
    big.write_bytes(b" " * (MAX_BYTES + 1))
    with pytest.raises(CounterError, match="larger than 4 MiB"):
        read_counters(big)


def snap(fmt: str, **ifaces: tuple[int, int, int, int]) -> Counters:
    return Counters(f"{fmt}-snapshot", fmt, {k: Counter(*v) for k, v in ifaces.items()})


def test_a_member_missing_is_a_warning():
    deltas, warnings = counter_deltas(snap(IP_JSON, eth0=(0, 0, 0, 0)),
                                      snap(IP_JSON, eth0=(1, 1, 2, 2), eth1=(5, 5, 5, 5)),
                                      ["eth0", "eth1"])
    assert deltas == {"eth0": Counter(1, 1, 2, 2)}
    assert warnings == ["member eth1 is not in ip -s -j link-snapshot: its counters are "
                        "unknown"]


def test_counters_going_backwards_are_a_warning():
    """stats64 do not wrap at 32 bits: a counter that went down was reset (a reboot)."""
    deltas, warnings = counter_deltas(snap(IP_JSON, eth0=(100, 10, 5000, 50)),
                                      snap(IP_JSON, eth0=(20, 2, 6000, 60)), ["eth0"])
    assert deltas == {}
    assert len(warnings) == 1 and "went backwards" in warnings[0]
    assert "received bytes 100 -> 20" in warnings[0]
    # above 2^32 in a text format: no wrap either
    deltas, warnings = counter_deltas(snap(PROC_NET_DEV, eth0=(2**33, 0, 0, 0)),
                                      snap(PROC_NET_DEV, eth0=(5, 0, 0, 0)), ["eth0"])
    assert deltas == {} and "went backwards" in warnings[0]


def test_a_32_bit_wrap_in_proc_net_dev():
    """A 32-bit kernel's /proc/net/dev wraps at 2^32: the delta goes through the wrap."""
    deltas, warnings = counter_deltas(
        snap(PROC_NET_DEV, eth0=(10, 1, 2**32 - 1000, 7)),
        snap(PROC_NET_DEV, eth0=(30, 2, 500, 9)), ["eth0"])
    assert deltas == {"eth0": Counter(20, 1, 1500, 2)}
    assert len(warnings) == 1 and "transmitted bytes" in warnings[0]
    assert "2^32" in warnings[0]


BOND = ["--links", "eth0,eth1", "-p", "layer3+4", "--local", "10.9.0.1"]


def test_cli_analyze_table(monkeypatch, capsys):
    code, out, err = run_main(monkeypatch, capsys, "analyze", LAB / "bond0.pcap", *BOND,
                              "--counters", LAB / "ip-link-before.json",
                              LAB / "ip-link-after.json")
    assert code == 0, err
    table = out[out.index("observed from interface counters"):]
    rows = [line.split("│")[1:-1] for line in table.splitlines() if line.startswith("│")]
    rows = [[c.strip() for c in r] for r in rows]
    assert rows[0] == ["eth0", "transmit", "219", "146722", "32.6%", "32.6%"]
    assert rows[1] == ["eth1", "transmit", "303", "302986", "67.4%", "67.4%"]
    assert rows[2][:4] == ["eth0", "receive", "5", "376"] and rows[2][5] == ""
    assert "note: interface counters ignored (not members): lo, mgmt0" in out
    assert "different windows" in out


def test_cli_analyze_json(monkeypatch, capsys):
    code, out, err = run_main(monkeypatch, capsys, "analyze", LAB / "bond0.pcap", *BOND,
                              "--counters", LAB / "proc-net-dev-before.txt",
                              LAB / "proc-net-dev-after.txt", "-f", "json")
    assert code == 0, err
    doc = json.loads(out)
    seen = doc["observed_counters"]
    assert seen["format"] == PROC_NET_DEV and seen["ignored"] == ["lo", "mgmt0"]
    predicted = {m["member"]: m for m in doc["policies"][0]["members"]}
    for m in seen["members"]:
        if m["direction"] == "transmit":  # the lab sent each flow where layer3+4 says
            assert m["bytes"] == predicted[m["member"]]["bytes"]
            assert m["packets"] == predicted[m["member"]]["packets"]
            assert m["predicted_share"] == pytest.approx(m["share"])
        else:
            assert m["predicted_share"] is None


def test_cli_without_counters_has_no_counter_output(monkeypatch, capsys):
    code, out, _ = run_main(monkeypatch, capsys, "analyze", LAB / "bond0.pcap", *BOND,
                            "-f", "json")
    assert code == 0 and "observed_counters" not in json.loads(out)


def test_cli_report_loads_from_counters(tmp_path, monkeypatch, capsys):
    code, _, err = run_main(monkeypatch, capsys, "report", LAB / "bond0.pcap", *BOND,
                            "--counters", LAB / "ip-link-before.txt",
                            LAB / "ip-link-after.txt", "-o", tmp_path / "r")
    assert code == 0, err
    doc = json.loads((tmp_path / "r" / "summary.json").read_text())
    loads = {(x["member"], x["direction"]): x for x in doc["loads"]}
    assert loads["eth0", "transmit"]["observed_bytes"] == 146722
    assert loads["eth1", "transmit"]["observed_packets"] == 303
    assert loads["eth1", "receive"]["observed_bytes"] == 1452
    assert "the loads' observed packets and bytes are the interface counters'" in doc["notes"]
    assert doc["observed_counters"]["ignored"] == ["lo", "mgmt0"]


def test_cli_member_warning_and_bad_file(tmp_path, monkeypatch, capsys):
    one = LAB / "ip-link-eth0-before.json"
    code, out, err = run_main(monkeypatch, capsys, "analyze", LAB / "bond0.pcap", *BOND,
                              "--counters", one, LAB / "ip-link-eth0-after.json")
    assert code == 0, err
    assert "warning: member eth1 is not in" in out
    bad = tmp_path / "after.json"
    bad.write_bytes((LAB / "ip-link-after.json").read_bytes()[:100])
    code, out, err = run_main(monkeypatch, capsys, "analyze", LAB / "bond0.pcap", *BOND,
                              "--counters", LAB / "ip-link-before.json", bad)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and str(bad) in err and "Traceback" not in err
