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

SCENARIOS = sorted((ROOT / "captures" / "scenarios").glob("*/scenario.json"))


@pytest.mark.parametrize("manifest", SCENARIOS, ids=[p.parent.name for p in SCENARIOS])
def test_assign_names_the_slave_the_kernel_used(monkeypatch, capsys, manifest):
    s = json.loads(manifest.read_text())
    total = 0
    for slave, name in s["slave_captures"].items():
        code, out, err = run_main(
            monkeypatch, capsys, "assign", manifest.parent / name, "--policy",
            s["xmit_hash_policy"], "--mode", s["mode"], "--links", ",".join(s["slaves"]),
            "--vlan", s["vlan"], "--local", s["local_mac"], "--format", "csv")
        assert code == 0, err
        got = pd.read_csv(io.StringIO(out), dtype=str, keep_default_na=False)
        assert len(got) == s["packets_per_slave"][slave]
        wrong = got[got["member"] != slave]
        assert wrong.empty, f"{len(wrong)} of {len(got)} frames on {slave} predicted " \
                            f"elsewhere: {wrong.head().to_dict('records')}"
        total += len(got)
    assert total == s["packets"] > 1000


def test_scenarios_are_there():
    names = {p.parent.name for p in SCENARIOS}
    assert {"nightly-backup", "iperf3-P4-lacp", "smb3-multichannel", "behind-router"} <= names
