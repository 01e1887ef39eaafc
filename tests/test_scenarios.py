"""End to end: the real Linux bonding driver's per-slave captures against `hashscope assign`.

Each scenario in captures/scenarios was replayed through a real bond by the kernel lab
(tools/kernel_lab); every frame a slave transmitted is in that slave's capture. hashscope,
told only what scenario.json says (mode, policy, slaves in enslave order, VLAN set-up,
the host's MAC), must name that slave for 100% of them.
"""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from helpers import ROOT, run_main

ALL = sorted((ROOT / "captures" / "scenarios").glob("*/scenario.json"))
# the modes that hash: each slave's capture on its own says where its frames went
SCENARIOS = [p for p in ALL if json.loads(p.read_text())["xmit_hash_policy"]]
# the others (balance-rr, active-backup, broadcast): the whole input, in order
OTHERS = [p for p in ALL if p not in SCENARIOS]


def local_args(s):
    return [a for mac in s.get("source_macs") or [s["local_mac"]] for a in ("--local", mac)]


@pytest.mark.parametrize("manifest", SCENARIOS, ids=[p.parent.name for p in SCENARIOS])
def test_assign_names_the_slave_the_kernel_used(monkeypatch, capsys, manifest):
    s = json.loads(manifest.read_text())
    total = 0
    for slave, name in s["slave_captures"].items():
        code, out, err = run_main(
            monkeypatch, capsys, "assign", manifest.parent / name, "--policy",
            s["xmit_hash_policy"], "--mode", s["mode"], "--links", ",".join(s["slaves"]),
            "--vlan", s["vlan"], *local_args(s), "--format", "csv")
        assert code == 0, err
        got = pd.read_csv(io.StringIO(out), dtype=str, keep_default_na=False)
        assert len(got) == s["packets_per_slave"][slave]
        wrong = got[got["member"] != slave]
        assert wrong.empty, f"{len(wrong)} of {len(got)} frames on {slave} predicted " \
                            f"elsewhere: {wrong.head().to_dict('records')}"
        total += len(got)
    assert total == s["packets"] > 500


def merged_members(d):
    """The slave of each frame of a scenario, from its merged pcapng (one interface per slave)."""
    import struct
    b = (d / "merged.pcapng").read_bytes()
    off, names, out = 0, [], []
    while off < len(b):
        btype, blen = struct.unpack("<II", b[off:off + 8])
        body = b[off + 8:off + blen - 4]
        if btype == 1:
            o = 8
            while o + 4 <= len(body):
                code, ln = struct.unpack("<HH", body[o:o + 4])
                if code == 2:
                    names.append(body[o + 4:o + 4 + ln].decode())
                o += 4 + ln + (-ln % 4)
                if code == 0:
                    break
        elif btype == 6:
            out.append(names[struct.unpack("<I", body[:4])[0]])
        off += blen
    return out


def assign_members(monkeypatch, capsys, s, d, *extra):
    code, out, err = run_main(
        monkeypatch, capsys, "assign", d / s["input"], "--policy", "layer2", "--mode",
        s["mode"], "--links", ",".join(s["slaves"]), "--vlan", s["vlan"], *local_args(s),
        "--format", "csv", *extra)
    assert code == 0, err
    return list(pd.read_csv(io.StringIO(out), dtype=str, keep_default_na=False)["member"])


@pytest.mark.parametrize("manifest", OTHERS, ids=[p.parent.name for p in OTHERS])
def test_assign_modes_that_do_not_hash(monkeypatch, capsys, manifest):
    """balance-rr (the counter, IGMP to the active slave) and broadcast exactly; active-backup
    up to the failover, and after it with the failed slave given as --down (hashscope has no
    timeline of link events for Linux bonds; without a primary the real bond stays on eno1
    after eno2 comes back, so --down matches it to the end)."""
    s, d = json.loads(manifest.read_text()), manifest.parent
    got = assign_members(monkeypatch, capsys, s, d)
    if s["mode"] == "broadcast":
        assert got == [";".join(s["slaves"])] * s["packets"]
        return
    truth = merged_members(d)
    assert len(got) == len(truth) == s["packets"] > 500
    first = s["events"][0]["before_frame"] if s.get("events") else len(truth)
    assert got[:first] == truth[:first]
    if first < len(truth):
        down = s["events"][0]["command"].split()[3]
        later = assign_members(monkeypatch, capsys, s, d, "--down", down)
        assert later[first:] == truth[first:]


def test_scenarios_are_there():
    names = {p.parent.name for p in ALL}
    assert {"nightly-backup", "iperf3-P4-lacp", "smb3-multichannel", "behind-router"} <= names
    assert {p.parent.name for p in OTHERS} >= {"rr3-office", "active-backup-failover-any",
                                               "broadcast2-office"}
