"""Every command's output, byte for byte, against outputs recorded in tests/data/golden
(gzip: `zcat` one to read it).

The recorded outputs pin what a user sees: the terminal tables, CSV and JSON, the notes
and the one-line errors, on the shipped captures, the kernel-lab scenarios and a few
corpus captures. A change that means to alter an output re-records them, and the diff
of tests/data/golden shows exactly what changed:

    HASHSCOPE_RECORD_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden_outputs.py
"""

from __future__ import annotations

import gzip
import os
import re

import pytest
from helpers import DATA, ROOT, run_main

GOLDEN = DATA / "golden"
RECORD = bool(os.environ.get("HASHSCOPE_RECORD_GOLDEN"))

DEMO = "captures/two-links-backup.pcapng"
SCEN = "captures/scenarios"
ROUTER = [f"{SCEN}/behind-router/eth{i}.pcap" for i in range(3)]
IPERF = [f"{SCEN}/iperf3-P4-lacp/ens1f{i}.pcap" for i in range(4)]
QINQ = "tests/data/tcpdump/802.1ad_QinQ.pcap"
MIXED = "tests/data/made/mixed.pcapng"

CASES: dict[str, list[str]] = {
    "policies": ["policies"],
    "flows-demo": ["flows", DEMO],
    "flows-demo-all": ["flows", DEMO, "--top", "0"],
    "flows-demo-csv": ["flows", DEMO, "--format", "csv"],
    "flows-demo-json": ["flows", DEMO, "--format", "json"],
    "flows-router-members": ["flows", *ROUTER],
    "flows-mixed-csv": ["flows", MIXED, "--format", "csv"],
    "flows-qinq": ["flows", QINQ, "--top", "5"],
    "flows-missing": ["flows", "no-such.pcap"],
    "flows-parquet-no-output": ["flows", DEMO, "--format", "parquet"],
    "analyze-demo": ["analyze", DEMO, "--policy", "layer3+4"],
    "analyze-demo-json": ["analyze", DEMO, "-p", "layer3+4", "--links", "a,b,c",
                          "--link-speed", "1G", "--format", "json"],
    "analyze-demo-l23-down": ["analyze", DEMO, "-p", "layer2+3", "--links", "eth0,eth1,eth2",
                              "--down", "eth1", "--local", "198.51.100.10"],
    "analyze-demo-old-kernel": ["analyze", DEMO, "-p", "layer2+3", "--kernel", "4.19",
                                "--links", "3", "--top", "3"],
    "analyze-demo-lagg": ["analyze", DEMO, "-p", "lagg:l2,l3,l4", "--links", "3",
                          "--keys", "4"],
    "analyze-demo-lagg-seed": ["analyze", DEMO, "-p", "lagg:l3,l4", "--links", "4", "--seed",
                               "0x1234abcd", "--freebsd", "10.4", "--format", "json"],
    "analyze-demo-ovs-slb": ["analyze", DEMO, "-p", "ovs:balance-slb", "--links", "2"],
    "analyze-demo-ovs-tcp": ["analyze", DEMO, "-p", "ovs:balance-tcp", "--keys", "3"],
    "analyze-demo-cisco": ["analyze", DEMO, "-p", "cisco:src-dst-ip", "--links", "4",
                           "--link-speed", "10G"],
    "analyze-demo-rr": ["analyze", DEMO, "-p", "layer2", "--mode", "balance-rr",
                        "--links", "3"],
    "analyze-demo-tlb": ["analyze", DEMO, "-p", "layer3+4", "--mode", "balance-tlb"],
    "analyze-router-members": ["analyze", *ROUTER, "-p", "layer2+3", "--links",
                               "eth0,eth1,eth2", "--vlan", "inband", "--local",
                               "52:54:00:3a:7c:01"],
    "analyze-iperf-members": ["analyze", *IPERF, "-p", "layer3+4", "--links", "4"],
    "analyze-backup-merged": ["analyze", f"{SCEN}/nightly-backup/merged.pcapng", "-p",
                              "layer3+4", "--format", "json"],
    "analyze-smb3": ["analyze", f"{SCEN}/smb3-multichannel/merged.pcapng", "-p", "encap3+4"],
    "analyze-qinq": ["analyze", QINQ, "-p", "layer2+3", "--vlan", "inband"],
    "compare-demo": ["compare", DEMO, "--links", "4", "--keys", "4"],
    "compare-demo-json": ["compare", DEMO, "--links", "3", "--keys", "2", "--link-speed",
                          "1G", "--format", "json"],
    "compare-router": ["compare", *ROUTER, "--links", "3", "--keys", "2", "--local",
                       "52:54:00:3a:7c:01"],
    "assign-demo": ["assign", DEMO, "-p", "layer3+4", "--links", "4"],
    "assign-demo-names-down": ["assign", DEMO, "-p", "layer2", "--links", "a,b,c",
                               "--down", "b", "--mode", "broadcast"],
    "assign-demo-lagg": ["assign", DEMO, "-p", "lagg:l2,l3,l4", "--seed", "7", "--links",
                         "3"],
    "assign-demo-lagg-noseed": ["assign", DEMO, "-p", "lagg:l3,l4"],
    "assign-demo-ovs": ["assign", DEMO, "-p", "ovs:balance-slb", "--links", "3"],
    "assign-demo-aruba": ["assign", DEMO, "-p", "aruba:l4", "--links", "3", "--local",
                          "198.51.100.10"],
    "assign-smb3": ["assign", f"{SCEN}/smb3-multichannel/merged.pcapng", "-p", "encap2+3"],
    "error-policy": ["analyze", DEMO, "--policy", "layer5"],
    "error-links": ["analyze", DEMO, "--links", "0"],
    "error-links-twice": ["analyze", DEMO, "--links", "eth0,eth0"],
    "error-down": ["analyze", DEMO, "--links", "2", "--down", "eth7"],
    "error-kernel": ["analyze", DEMO, "--kernel", "2.6.32"],
    "error-kernel-policy": ["analyze", DEMO, "-p", "vlan+srcmac", "--kernel", "4.19"],
    "error-mode": ["analyze", DEMO, "--mode", "balance-fast"],
    "error-mode-policy": ["analyze", DEMO, "-p", "lagg:l2", "--mode", "balance-rr"],
    "error-speed": ["analyze", DEMO, "--link-speed", "fast"],
    "error-local": ["analyze", DEMO, "--local", "not-an-address"],
    "error-seed": ["assign", DEMO, "-p", "layer2", "--seed", "banana"],
    "error-seed-range": ["assign", DEMO, "-p", "layer2", "--seed", "0x100000000"],
    "error-freebsd": ["analyze", DEMO, "-p", "lagg:l2", "--freebsd", "8.0"],
    "error-dynlb": ["analyze", DEMO, "--tlb-dynamic-lb", "2"],
    "error-freebsd-version": ["analyze", DEMO, "-p", "lagg:l2", "--freebsd", "5.0"],
    "error-kernel-text": ["analyze", DEMO, "--kernel", "banana"],
}


def transcript(code: int, out: str, err: str) -> str:
    return f"exit: {code}\n--- stdout\n{out}--- stderr\n{err}"


@pytest.mark.parametrize("name", list(CASES))
def test_output_is_as_recorded(monkeypatch, capsys, name):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("COLUMNS", "120")
    got = transcript(*run_main(monkeypatch, capsys, *CASES[name]))
    path = GOLDEN / f"{name}.txt.gz"
    if RECORD:
        GOLDEN.mkdir(exist_ok=True)
        path.write_bytes(gzip.compress(got.encode(), mtime=0))
    want = gzip.decompress(path.read_bytes()).decode()
    assert got == want, f"{name}: output differs from {path.relative_to(ROOT)} (zcat it)"


def test_every_recording_has_a_case():
    paths = sorted(GOLDEN.glob("*.txt.gz"))
    assert {p.name.removesuffix(".txt.gz") for p in paths} == set(CASES)
    assert not any(re.search(r"internal error|Traceback", gzip.decompress(p.read_bytes()).decode())
                   for p in paths)
