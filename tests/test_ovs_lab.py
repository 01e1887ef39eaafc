"""The OVS models against a real Open vSwitch 3.1 bond: the OVS lab's captures.

Each scenario in captures/ovs was run by tools/ovs_lab: frames injected into a real
ovs-vswitchd (userspace datapath) and captured on every bond member, with
``ovs-appctl bond/hash`` of every source MAC and VLAN, the bond's rebalancing moves
from its log and the link events as they ran. merged.pcapng holds every member's frames
in time order, one interface per member (in scenario.json's member order).

The models are told what the configuration does not say: the round robin's order (the
order the bond enabled its members, which bond/show does not print; learned from the
first uses of buckets, as ``infer`` will, and checked against the bond's log) and the
times its log gives for members going down.
"""

from __future__ import annotations

import csv
import io
import json
import re

import numpy as np
import pandas as pd
import pytest
from helpers import ROOT, run_main

from hashscope import read_packets
from hashscope.hashes.ovs.bond import SlbBond, TcpBond, ovs_active_backup
from hashscope.hashes.ovs.hash import hash_mac
from hashscope.hashes.ovs.learn import learn_buckets

LAB = ROOT / "captures" / "ovs"
SCENARIOS = sorted(p.parent.name for p in LAB.glob("*/scenario.json"))


def scenario(name: str) -> tuple[dict, np.ndarray]:
    """(scenario.json, the packet table of merged.pcapng, whose iface is the member's
    index in scenario.json's order)."""
    meta = json.loads((LAB / name / "scenario.json").read_text())
    pk = read_packets([str(LAB / name / "merged.pcapng")])
    counts = np.bincount(pk["iface"], minlength=len(meta["members"]))
    assert counts.tolist() == [meta["packets_per_member"][m] for m in meta["members"]]
    return meta, pk


def learned_order(meta: dict, pk: np.ndarray) -> list[int]:
    """The round robin's order (member indices), from the first uses of buckets: the
    order in which the bond's log says it enabled its members."""
    n = len(meta["members"])
    order = learn_buckets(SlbBond(n).buckets(pk), pk["iface"]).round_robin_order(n)
    assert [meta["members"][k] for k in order] == meta["enabled_order"]
    return order


def events(meta: dict, order: list[int]) -> list[tuple[int, int, bool]]:
    """scenario.json's link events with members as the model numbers them."""
    place = {m: k for k, m in enumerate(order)}
    return [(e["ts_ns"], place[meta["members"].index(e["member"])], e["set"] == "up")
            for e in meta["events"]]


def test_the_lab_scenarios_are_there():
    assert {"slb-short", "slb-long", "active-backup", "lacp-balance-tcp"} <= set(SCENARIOS)


@pytest.mark.parametrize("name", SCENARIOS)
def test_hash_mac_equals_bond_hash_for_every_frame(name):
    """hash_mac & 0xFF equals the real ``ovs-appctl bond/hash MAC VLAN 0`` for the source
    MAC and VLAN of every frame the members carried (learning packets included)."""
    rows = list(csv.DictReader(open(LAB / name / "bond_hash.csv")))
    real = {(int(r["mac"].replace(":", ""), 16), int(r["vlan"])): int(r["hash"]) for r in rows}
    macs = np.array([k[0] for k in real], np.uint64)
    vids = np.array([k[1] for k in real], np.uint64)
    assert ((hash_mac(macs, vids, 0) & 0xFF) == np.array(list(real.values()))).all()
    _, pk = scenario(name)
    vid = np.where(pk["vlan_n"] > 0, pk["vlan0_tci"] & 0xFFF, 0)
    keys = set(zip(pk["src_mac"].tolist(), vid.tolist(), strict=True))
    assert keys <= set(real), "a frame's MAC and VLAN without its bond/hash"


def test_balance_slb_first_use_is_exact(monkeypatch, capsys):
    """slb-short (60 MACs, no rebalancing within it): `hashscope assign` with the members
    in the round robin's order names the member of every frame."""
    meta, pk = scenario("slb-short")
    order = [meta["members"][k] for k in learned_order(meta, pk)]
    code, out, err = run_main(monkeypatch, capsys, "assign", LAB / "slb-short" / "merged.pcapng",
                              "-p", "ovs:balance-slb", "--links", ",".join(order),
                              "--format", "csv")
    assert code == 0, err
    got = pd.read_csv(io.StringIO(out), dtype=str, keep_default_na=False)
    real = np.array(meta["members"])[pk["iface"]]
    assert len(got) == len(pk) == 600
    assert (got["member"].to_numpy() == real).all()


def test_balance_slb_rebalancing_and_failover():
    """slb-long: three members, 1 s rebalancing, an elephant, eth1 down at 6 s. With the
    link event the model follows the bond through the failover (the learning packets it
    sent are in the captures); bond_rebalance makes the moves the real bond logged. The
    runs' times are approximate (OVS rebalances at its revalidator passes, about every
    500 ms, from counts as of then), so frames between a real and a modelled run differ."""
    meta, pk = scenario("slb-long")
    order = learned_order(meta, pk)
    bond = SlbBond(3, meta["rebalance_interval_ms"] * 10**6, link_events=events(meta, order))
    _, _, link = bond.assign(pk)
    right = (link >= 0) & (np.array(order)[np.clip(link, 0, None)] == pk["iface"])
    first_run = (bond.moves[0][0] - pk["ts_ns"][0]) / 1e9
    before = pk["ts_ns"] < bond.moves[0][0]
    print(f"\nslb-long: {right.mean():.2%} of {len(pk)} frames on the real member; "
          f"{right[before].mean():.2%} before the first rebalance at {first_run:.2f} s")
    assert right[before].all()
    assert right.mean() > 0.97  # 97.4 to 99.4% over four regenerations of the lab
    names = meta["members"]
    model = {(e, names[order[f]], names[order[t]]) for _, e, f, t in bond.moves}
    log = (LAB / "slb-long" / "rebalance_moves.txt").read_text()
    real = {(int(h), f, t) for h, f, t in re.findall(r"with hash (\d+)\) from (\S+) to (\S+) ",
                                                     log)}
    assert model == real and len(real) > 10
    # the table learned from the captures: a bucket changes member only where the bond
    # moved it (rebalancing) or its member went down
    table = learn_buckets(bond.buckets(pk), pk["iface"])
    down = meta["members"].index(meta["events"][0]["member"])
    moved = set(np.flatnonzero(table.moves).tolist())
    explained = {e for e, _, _ in real} | set(np.flatnonzero(table.first == down).tolist())
    assert moved and moved <= explained


def test_learning_packets_move_the_round_robin():
    """The learning packets (RARP, ethertype 0x8035) the bond sent at the failover take
    the down member's buckets first; without them (a host-side capture lacks them) the
    round robin may hand those buckets out in another order: the agreement is never
    higher (one run of the lab: 99.24% with them, 98.52% without; the committed run:
    equal)."""
    meta, pk = scenario("slb-long")
    order = learned_order(meta, pk)
    rarp = pk["ethertype"] == 0x8035
    assert rarp.sum() == 30
    agreement = []
    for frames in (pk, pk[~rarp]):
        bond = SlbBond(3, 10**9, link_events=events(meta, order))
        _, _, link = bond.assign(frames)
        agreement.append(((link >= 0) & (np.array(order)[np.clip(link, 0, None)]
                                         == frames["iface"])).mean())
    print(f"\nwith the learning packets {agreement[0]:.2%}, without {agreement[1]:.2%}")
    assert agreement[1] <= agreement[0]


def test_active_backup_failover_is_exact():
    meta, pk = scenario("active-backup")
    active = meta["members"].index(meta["active_member_before"])
    order = [active, 1 - active]
    _, _, link = ovs_active_backup(pk, 2, 0, events(meta, order))
    assert (np.array(order)[link] == pk["iface"]).all()
    assert len(set(pk["iface"].tolist())) == 2  # the failover happened


def test_balance_tcp_userspace_dp_hash_is_exact():
    """lacp-balance-tcp (LACP negotiated with a partner OVS, userspace datapath): with
    dp_hash = hash_int(flow_hash_5tuple(flow, 0), basis) every bucket stays on one
    member; the bucket -> member table itself is random (hmap_random_node), so it can
    only be learned, not predicted. The table-lookup hash (flow_hash_5tuple with the
    basis) is not what the datapath used."""
    meta, pk = scenario("lacp-balance-tcp")
    ip = pk["ethertype"] == 0x0800  # the LACPDUs are not hashed
    bucket = TcpBond(4, datapath="userspace").buckets(pk)
    userspace = learn_buckets(np.where(ip, bucket, -1), pk["iface"])
    table_lookup = learn_buckets(np.where(ip, TcpBond(4).buckets(pk), -1), pk["iface"])
    streams = {(int(b), int(p)) for b, p in zip(bucket[ip], pk["sport"][ip], strict=True)}
    shared = np.bincount([b for b, _ in streams], minlength=256) > 1
    assert userspace.consistent and shared.sum() > 100  # buckets of several streams
    assert not table_lookup.consistent


def test_assign_follows_a_failover_given_on_the_command_line(monkeypatch, capsys):
    """active-backup through the CLI: --links with the active member first and the
    failover as --link-event in ISO 8601: every frame on its real member."""
    meta, pk = scenario("active-backup")
    active = meta["active_member_before"]
    other = next(m for m in meta["members"] if m != active)
    ev = meta["events"][0]
    when = np.datetime_as_string(np.datetime64(ev["ts_ns"], "ns"), unit="us") + "Z"
    code, out, err = run_main(monkeypatch, capsys, "assign", LAB / "active-backup" /
                              "merged.pcapng", "-p", "ovs:active-backup", "--links",
                              f"{active},{other}", "--link-event", f"{ev['member']}:down@{when}",
                              "--format", "csv")
    assert code == 0, err
    got = pd.read_csv(io.StringIO(out), dtype=str, keep_default_na=False)
    assert (got["member"].to_numpy() == np.array(meta["members"])[pk["iface"]]).all()


@pytest.mark.parametrize("args, message", [
    (["--link-event", "eth9:down@1"], "--link-event 'eth9:down@1': MEMBER:down@TIME"),
    (["--link-event", "eth0:sideways@1"], "MEMBER:down@TIME or MEMBER:up@TIME"),
    (["--link-event", "eth0:down@noon"], "neither Unix seconds nor ISO 8601"),
    (["--rebalance-interval", "-1"], "--rebalance-interval -1: milliseconds"),
])
def test_bad_link_events_are_one_line(monkeypatch, capsys, args, message):
    code, out, err = run_main(monkeypatch, capsys, "assign", LAB / "slb-short" / "input.pcap",
                              "-p", "ovs:balance-slb", "--links", "eth0,eth1", *args)
    assert code != 0 and message in err and len(err.strip().splitlines()) == 1, err
