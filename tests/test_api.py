"""The library API as a notebook uses it: names from ``hashscope`` only, no deep imports."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import ROOT, run_main

import hashscope
from hashscope.hashes.registry import BUILT_IN, Registry

DEMO = str(ROOT / "captures" / "two-links-backup.pcapng")


def test_analyze_compare_assign_agree_with_the_commands(monkeypatch, capsys):
    setup = hashscope.make_setup(links="a,b,c", down=["b"], kernel="6.1")
    policy = hashscope.get_policy("layer2+3")
    result = hashscope.analyze([DEMO], [policy], setup)
    code, out, err = run_main(monkeypatch, capsys, "analyze", DEMO, "-p", "layer2+3",
                              "--links", "a,b,c", "--down", "b", "--kernel", "6.1",
                              "--format", "json")
    assert code == 0, err
    members = json.loads(out)["policies"][0]["members"]
    assert [m["bytes"] for m in members] == result.results[0].load.bytes.tolist()
    assert result.results[0].load.bytes[1] == 0  # b is down

    ranked = hashscope.compare([DEMO], setup, keys=2)
    assert "layer2+3" in {r.policy.name for r in ranked.results}

    links = np.concatenate([a.link for _, a in hashscope.assign([DEMO], policy, setup)])
    assert len(links) == result.packets
    assert np.bincount(links[links >= 0], minlength=3).tolist() == \
        result.results[0].load.packets.tolist()


def test_setup_errors_name_the_setting_the_library_way():
    with pytest.raises(hashscope.SetupError) as info:
        hashscope.make_setup(links=0)
    assert str(info.value) == "links 0: a bond has 1 to 64 members"
    assert info.value.phrased("--links") == "--links 0: a bond has 1 to 64 members"
    with pytest.raises(hashscope.SetupError, match=r"^seed 'x': a number"):
        hashscope.parse_seed("x")
    with pytest.raises(hashscope.SetupError, match="random key: give seed K"):
        list(hashscope.assign([DEMO], hashscope.get_policy("lagg:l3,l4"),
                              hashscope.make_setup()))


def test_a_registry_with_one_more_policy_keeps_every_built_in_one():
    mine = hashscope.Policy("mine:first", "baseline", False, "always the first member",
                            lambda setup: None)
    extended = Registry((*BUILT_IN, mine))
    assert extended.get("mine:first") is mine
    assert [p.name for p in extended.policies[:-1]] == \
        [p.name for p in hashscope.all_policies()]
    assert extended.get("1") is hashscope.get_policy("layer3+4")  # the kernel's number
    assert extended.get("lagg:l4,l3").name == "lagg:l3,l4"
    with pytest.raises(hashscope.HashscopeError, match="unknown policy"):
        hashscope.get_policy("mine:first")  # the built-in registry is not changed
    with pytest.raises(ValueError, match="used twice"):
        Registry((*BUILT_IN, hashscope.get_policy("layer2")))
