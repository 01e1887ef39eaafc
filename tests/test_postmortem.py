"""The post-mortem's numbers: bytes over time, the odds, and the findings, on the kernel
lab's real bonds (captures/scenarios/: frames replayed through real Linux bonds, each
slave captured)."""

from __future__ import annotations

import json
from fractions import Fraction
from itertools import product

import numpy as np
import pytest
from helpers import ROOT

import hashscope
from hashscope.analysis.postmortem import post_mortem
from hashscope.analysis.timeline import MAX_BINS, TimeBins
from hashscope.plan.odds import (
    bucket_shares,
    exact_p_all_used,
    expected_busiest_share,
    p_all_used,
    streams_for,
    uniform_shares,
)
from hashscope.report.findings import findings
from hashscope.report.postmortem import summary

SCENARIOS = ROOT / "captures" / "scenarios"


def scenario(name: str, policy: str | None = None, links: str | None = None):
    d = SCENARIOS / name
    info = json.loads((d / "scenario.json").read_text())
    paths = [str(d / f) for f in info["slave_captures"].values()]
    setup = hashscope.make_setup(links=links or ",".join(info["slaves"]))
    pm = post_mortem(paths, hashscope.get_policy(policy or info["xmit_hash_policy"]), setup)
    return info, pm


def by_id(pm) -> dict:
    return {f.id: f for f in findings(pm)}


# --- bytes over time ---------------------------------------------------------------------

def naive_bins(series, ts, size, width, n):
    out = {}
    for s, t, b in zip(series, ts, size, strict=True):
        if s >= 0:
            out[(s, t // width)] = out.get((s, t // width), 0) + b
    return out


@pytest.mark.parametrize("span_ns", [10**6, 10**9, 3600 * 10**9, 10**15])
def test_time_bins_equal_a_naive_binning_at_the_width_they_end_with(span_ns):
    rng = np.random.default_rng(span_ns % 1000)
    n, frames = 3, 5000
    ts = rng.integers(10**18, 10**18 + span_ns, frames)
    series = rng.integers(-1, n, frames)
    size = rng.integers(60, 9000, frames)
    bins = TimeBins([f"s{i}" for i in range(n)])
    for part in np.array_split(np.arange(frames), 7):  # batches out of time order
        bins.add(series[part], ts[part], size[part])
    t = bins.timeline()
    assert t.bytes.shape[1] <= MAX_BINS
    want = naive_bins(series.tolist(), ts.tolist(), size.tolist(), t.bin_ns, n)
    got = {(s, t.start_ns // t.bin_ns + i): int(v) for s in range(n)
           for i, v in enumerate(t.bytes[s]) if v}
    assert got == want
    assert t.start_ns % t.bin_ns == 0


def test_timeline_per_member_adds_up_to_the_prediction_and_the_member_captures():
    info, pm = scenario("iperf3-P4-lacp")
    t, r = pm.analysis.timeline, pm.current
    names = pm.setup.members.names
    assert [int(t.series(f"predicted:{m}").sum()) for m in names] == r.load.bytes.tolist()
    seen = {m["member"]: m["observed_bytes"] for m in r.observed.members
            if m["direction"] == "transmit"}
    assert [int(t.series(f"transmit:{m}").sum()) for m in names] == [seen[m] for m in names]
    assert (r.load.packets == [info["packets_per_slave"][m] for m in names]).all()


# --- the odds ----------------------------------------------------------------------------

@pytest.mark.parametrize("n", range(2, 9))
def test_p_all_used_matches_exact_fractions_and_brute_force(n):
    for k in range(1, 13):
        assert p_all_used(k, uniform_shares(n)) == pytest.approx(
            float(exact_p_all_used(k, n)), abs=1e-12)
    if n <= 4:  # every assignment of 6 flows to n members
        k = 6
        hits = sum(len(set(a)) == n for a in product(range(n), repeat=k))
        assert exact_p_all_used(k, n) == Fraction(hits, n ** k)


def test_bucket_shares_and_their_odds():
    assert bucket_shares(3) == (3 / 8, 3 / 8, 2 / 8)
    assert bucket_shares(8) == (1 / 8,) * 8
    # unequal shares make "every member used" less likely than equal ones
    assert p_all_used(6, bucket_shares(3)) < p_all_used(6, uniform_shares(3))
    assert streams_for(0.9, uniform_shares(2)) == 5  # 1 - 2 * 0.5**k >= 0.9 from k = 5
    assert streams_for(0.99, uniform_shares(4)) == 21


def test_expected_busiest_share_by_enumeration():
    for n, k in ((2, 3), (3, 4), (4, 5)):
        want = np.mean([max(np.bincount(a, minlength=n)) / k
                        for a in product(range(n), repeat=k)])
        assert expected_busiest_share(k, uniform_shares(n)) == pytest.approx(want)


# --- findings ----------------------------------------------------------------------------

def test_iperf3_P4_consecutive_ports_collide_in_pairs():
    _, pm = scenario("iperf3-P4-lacp")
    f = by_id(pm)
    ports = f["colliding-ports"]
    assert ports.numbers["pairs"] == 2
    assert ports.numbers["examples"][:2] == ["50000/50001 on ens1f0", "50002/50003 on ens1f1"]
    assert f["elephants"].numbers["flows"] == 4
    assert f["elephants"].numbers["members_used"] == 2
    assert f["better-policy"].severity == "ok"


def test_behind_router_under_layer2_lands_on_one_member_and_layer23_is_better():
    _, pm = scenario("behind-router", "layer2")
    f = by_id(pm)
    assert f["one-router"].severity == "warning"
    assert f["one-router"].numbers["share"] > 0.999
    assert f["better-policy"].numbers["best"] == "layer2+3"
    assert f["better-policy"].numbers["current_busiest_share"] == pytest.approx(1.0)
    inferred = f["inferred"]  # the bond really ran layer2+3
    assert inferred.severity == "warning" and inferred.numbers["label"].startswith("layer2+3")
    assert "--policy layer2+3" in " ".join(inferred.numbers["args"])
    _, pm = scenario("behind-router", "layer2+3")
    f = by_id(pm)
    assert f["one-router"].severity == "info" and f["inferred"].severity == "ok"


def test_nightly_backup_is_one_elephant():
    _, pm = scenario("nightly-backup")
    e = by_id(pm)["elephants"]
    assert e.numbers["flows"] == 1 and e.numbers["share"] > 0.99
    assert e.numbers["streams_for"] == {"0.5": 2, "0.9": 5}


def test_round_robin_spreads_the_elephant_over_every_member():
    """balance-rr sends a flow's frames in turn on every member: the one big flow is not
    held to one link, and the finding says so instead of the hash's warning."""
    d = SCENARIOS / "nightly-backup"
    info = json.loads((d / "scenario.json").read_text())
    setup = hashscope.make_setup(links=",".join(info["slaves"]), mode="balance-rr")
    pm = post_mortem([str(d / f) for f in info["slave_captures"].values()],
                     hashscope.get_policy("layer2"), setup)
    e = by_id(pm)["elephants"]
    n = len(info["slaves"])
    assert e.severity == "info" and e.numbers["flows"] == 1
    assert e.numbers["fewest_members_per_flow"] == n
    assert "balance-rr puts the frames of a flow on both members" in e.text and n == 2
    assert "take one member" not in e.text


def test_no_finding_without_cause():
    """Traffic spread over many flows, predicted exactly: no elephant, no router."""
    _, pm = scenario("lan-l23-lacp3")
    f = by_id(pm)
    assert "elephants" not in f and "colliding-ports" not in f
    assert f["inferred"].severity == "ok"


def test_summary_numbers_match_the_analysis():
    info, pm = scenario("iperf3-P4-lacp")
    doc = summary(pm, inputs=[], title="t", notes=[])
    json.dumps(doc, allow_nan=False)
    tx = {x["member"]: x for x in doc["loads"] if x["direction"] == "transmit"}
    assert {m: v["observed_packets"] for m, v in tx.items()} == info["packets_per_slave"]
    assert sum(sum(v) for v in doc["timeline"]["predicted"].values()) == doc["sent_bytes"]
    m = np.array(doc["matrix"]["bytes"])
    assert np.trace(m) == m.sum() == pm.current.load.bytes.sum()  # 100% agreement
    cur = [p for p in doc["policies"] if p["current"]]
    assert [p["policy"] for p in cur] == ["layer3+4"]
    assert doc["heaviest_flows"][0]["sport"] == 50000
    assert doc["streams"]["current_streams"] == 4
    assert doc["streams"]["current_members_used"] == 2


def test_transmit_balanced_receive_not_names_a_switch_model():
    """two-links-backup.pcapng: a real capture on both members of a bond, both ways."""
    local = hashscope.parse_local(["198.51.100.10", "198.51.101.10"])
    paths = [str(ROOT / "captures" / "two-links-backup.pcapng")]
    names = hashscope.read_flows(paths).flows["interfaces"].str.split(",").explode()
    setup = hashscope.make_setup(links=",".join(sorted(set(names))))
    pm = post_mortem(paths, hashscope.get_policy("layer3+4"), setup, local)
    f = by_id(pm)["transmit-receive"]
    assert f.numbers["transmit_max_mean"] <= 1.25 < 1.5 <= f.numbers["receive_max_mean"]
    assert f.numbers["switch_model"].split(":")[0] in {"cisco", "aruba", "vmware", "hp-bl",
                                                       "hp-gbe2c"}
    assert "approximate" in f.text


def test_data_quality_of_a_hostile_capture(tmp_path):
    """The fixture's 2 frames cut at snaplen 96, its ISB drops (7 and 1), and its three
    interfaces' captures that follow one another without overlapping."""
    from hostile import NAMES, write_hostile_pcapng

    cap = tmp_path / "hostile.pcapng"
    write_hostile_pcapng(cap)
    pm = post_mortem([str(cap)], hashscope.get_policy("layer3+4"),
                     hashscope.make_setup(links=",".join(NAMES)))
    f = by_id(pm)
    assert f["data-quality-snapped"].numbers == {"frames": 2}
    assert f["data-quality-drops"].numbers == {"ifdrop": {"_eth0": 7, "eth\u202e1": 1}}
    assert "eth\\u202e1 1" in f["data-quality-drops"].text  # shown, not obeyed
    assert "data-quality-overlap" in f
    doc = summary(pm, inputs=[str(cap)], title="t", notes=[])
    [c] = doc["captures"]
    assert c["comment"] == NAMES[0] and [i["name"] for i in c["interfaces"]] == list(NAMES)
    assert [i["dropped"] for i in c["interfaces"]] == [0, 7, 1]


def test_bond_copies_under_any_are_duplicates_counted_once():
    d = SCENARIOS / "vlan100-offload-any"
    info = json.loads((d / "scenario.json").read_text())
    cap = info["any_capture"]
    names = ",".join(f"{k}={v}" for k, v in cap["ifindex"].items())
    from hashscope.capture.cooked import parse_ifindex
    from hashscope.capture.names import IfindexNames

    paths = [str(d / "any.pcap"), IfindexNames(parse_ifindex(names))]
    pm = post_mortem(paths, hashscope.get_policy("layer3+4"),
                     hashscope.make_setup(links=",".join(info["slaves"])))
    dup = by_id(pm)["data-quality-duplicates"]
    assert dup.numbers["frames"] == cap["records"] - info["packets"]


def test_four_planned_streams_on_four_members_are_no_problem():
    """The kernel lab's replay of plan's ports: one stream a slave, no colliding ports."""
    _, pm = scenario("iperf3-P4-planned")
    f = by_id(pm)
    assert "colliding-ports" not in f
    assert f["elephants"].severity == "info" and f["elephants"].numbers["members_used"] == 4


def test_smb3_channels_on_both_members_but_unevenly():
    """SMB3 multichannel, 4 equal channels over 2 members: 3 on one, 1 on the other."""
    _, pm = scenario("smb3-multichannel")
    e = by_id(pm)["elephants"]
    assert e.severity == "warning" and e.numbers["members_used"] == 2
    assert "unevenly: the busiest 75%" in e.text
