"""Open vSwitch bonds: the hash functions against the research note's worked examples
(other_hashes.md §1.8, cross-checked there against OVS's own lib/hash.c and jhash.c), and
the balance-slb bucket table replayed over real captures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, TCPDUMP
from frames import ether_frame, ipv4_packet, packet_table

from hashscope import read_packets
from hashscope.columns import PACKET_DTYPE
from hashscope.ovs import (
    ASSIGNERS,
    MODELS,
    SlbBond,
    TcpBond,
    bond_rebalance,
    choose_entries_to_migrate,
    choose_entry_to_migrate,
    ovs_active_backup,
    ovs_balance_tcp,
    ovs_tcp_hash,
    slb_hash,
)
from hashscope.ovs_hash import bond_vid, hash_int, hash_mac

BACKUP = ROOT / "captures" / "two-links-backup.pcapng"
MAC_A, MAC_B = "00:16:3e:12:34:56", "00:1b:21:aa:bb:cc"


@pytest.mark.parametrize("flavour,expect", [
    ("generic", [0xB05B9E7D, 0x44045CDD, 0xFFE7C9A8, 0x5B8B8C4A]),
    ("sse42", [0x7F33C0A5, 0x39676962, 0xC613157C, 0x3EFFD18F]),
])
def test_hash_mac_worked_examples(flavour, expect):
    mac = np.array([0x00163E123456, 0x00163E123456, 0xAABBCCDDEEFF], np.uint64)
    got = list(hash_mac(mac, [0, 10, 0], 0, flavour)) + list(
        hash_mac(0x00163E123456, 0, 12345, flavour))
    assert [hex(x) for x in got] == [hex(x) for x in expect]


def test_hash_int_worked_examples():
    assert int(hash_int(0x51CCC178, 0)[0]) == 0xDB217F00
    assert int(hash_int(0x51CCC178, 0, "sse42")[0]) == 0x8EF50C58


def _v6_tcp(src: str, dst: str, sport: int, dport: int) -> bytes:
    import ipaddress
    tcp = sport.to_bytes(2, "big") + dport.to_bytes(2, "big") + bytes(16)
    return (b"\x86\xdd" + bytes([0x60, 0, 0, 0, 0, len(tcp), 6, 64])
            + ipaddress.IPv6Address(src).packed + ipaddress.IPv6Address(dst).packed + tcp)


@pytest.fixture
def flows(tmp_path):
    """The worked examples' flows, MACs 00:16:3e:12:34:56 -> 00:1b:21:aa:bb:cc."""
    tcp = bytes.fromhex("9c400050") + bytes(16)  # 40000 -> 80
    udp = bytes.fromhex("14e90035") + bytes(4)  # 5353 -> 53
    a, b = "10.0.0.1", "10.0.0.2"
    frames = [ipv4_packet(6, a, b, tcp), ipv4_packet(17, a, b, udp),
              ipv4_packet(47, a, b, bytes(4)),
              _v6_tcp("2001:db8::1", "2001:db8::2", 40000, 443),
              b"\x81\x00" + (10).to_bytes(2, "big") + ipv4_packet(6, a, b, tcp)]
    return packet_table([ether_frame(MAC_B, MAC_A, f) for f in frames], tmp_path)


@pytest.mark.parametrize("flavour,expect", [
    ("generic", [0xA74E83FE, 0xCEA697A3, 0x7C5F1416, 0x9937F5B1]),
    ("sse42", [0x6D1F8A15, 0xE647FBA0, 0xB573AF91, 0xF3824064]),
])
def test_flow_hash_5tuple_worked_examples(flows, flavour, expect):
    h, valid = ovs_tcp_hash(flows, 0, "2.8", flavour)
    assert valid.all()
    assert [hex(x) for x in h[:4]] == [hex(x) for x in expect]
    assert [x & 0xFF for x in expect] == ([254, 163, 22, 177] if flavour == "generic"
                                          else [21, 160, 145, 100])


def test_symmetric_l4_worked_examples(flows):
    h, valid = ovs_tcp_hash(flows, 0, "2.7")
    assert valid.all()
    assert (int(h[0]), int(h[1])) == (0x881B58A6, 0x05B83336)
    assert int(ovs_tcp_hash(flows[4:], 7, "2.7")[0][0]) == 0xFFD71AD5  # vid 10, basis 7
    assert list(bond_vid(flows)) == [0, 0, 0, 0, 10]


def test_symmetric_l4_ignores_udp_ports(flows):
    other = flows[1:2].copy()
    other["sport"], other["dport"] = 1234, 4321
    assert ovs_tcp_hash(other, 0, "2.7")[0][0] == 0x05B83336
    assert ovs_tcp_hash(other, 0, "2.8")[0][0] != ovs_tcp_hash(flows[1:2], 0, "2.8")[0][0]


def test_choose_migrations_unit():
    """from = 120 MB in buckets of 70, 40, 10 MB; to = 70 MB: 2.16 fits the 25 MB gap to
    the midpoint with the 10 MB bucket; 2.5 takes the first bucket that helps by 10%."""
    tx = np.array([70, 40, 10], np.int64) * 10**6
    assert choose_entries_to_migrate([0, 1, 2], tx, 120 * 10**6, 70 * 10**6) == [2]
    assert choose_entry_to_migrate([0, 1, 2], tx, 120 * 10**6, 70 * 10**6) == [1]
    assert choose_entries_to_migrate([0], tx, 120 * 10**6, 0) == []  # last bucket stays


def _distinct_bucket_macs(k: int) -> np.ndarray:
    macs = np.arange(0x00163E000001, 0x00163E000001 + 64, dtype=np.uint64)
    _, first = np.unique(hash_mac(macs, 0, 0) & 0xFF, return_index=True)
    return macs[np.sort(first)[:k]]


def _mac_packets(macs, ts_ns, wirelen) -> np.ndarray:
    pk = np.zeros(len(macs), PACKET_DTYPE)
    pk["src_mac"], pk["mac_ok"], pk["depth"] = macs, 3, 1
    pk["ts_ns"], pk["wirelen"] = ts_ns, wirelen
    return pk


def test_slb_note_example_rebalance():
    """§1.7: seven MACs sending 70..10 MB over 3 members: round-robin gives 120/90/70 MB,
    one rebalance moves the 10 MB bucket to the third member (110/90/80), no more."""
    macs = _distinct_bucket_macs(7)
    mb = np.arange(70, 0, -10) * 10**6
    bond = SlbBond(3)
    _, valid, link = bond.assign(_mac_packets(macs, np.arange(7), mb))
    assert valid.all() and list(link) == [0, 1, 2, 0, 1, 2, 0]
    assert list(np.bincount(link, weights=mb)) == [120e6, 90e6, 70e6]
    _, _, after = bond.assign(_mac_packets(macs, 10**10 + np.arange(7), 1))
    assert bond.rebalances == 1
    assert list(after) == [0, 1, 2, 0, 1, 2, 2]
    assert list(bond.tx_bytes[bond.member >= 0] > 0).count(True) == 7  # halved, then +1


def test_bond_rebalance_halves_and_stops():
    member = np.full(256, -1, np.int64)
    tx = np.zeros(256, np.int64)
    member[:3], tx[:3] = [0, 0, 1], [60_000, 30_000, 20_000]  # gap below 100000 bytes
    bond_rebalance(member, tx, 2)
    assert list(member[:3]) == [0, 0, 1] and list(tx[:3]) == [30_000, 15_000, 10_000]


@pytest.fixture(scope="module")
def backup():
    return read_packets([str(BACKUP)])


def test_slb_one_member_per_mac_between_rebalances(backup):
    bond = SlbBond(2, rebalance_interval_ns=10**9)
    h, valid, link = bond.assign(backup)
    assert valid.all() and bond.rebalances == 5
    seg = (np.maximum.accumulate(backup["ts_ns"]) - backup["ts_ns"][0]) // 10**9
    df = pd.DataFrame({"seg": seg, "mac": backup["src_mac"], "vid": bond_vid(backup),
                       "link": link})
    per = df.groupby(["seg", "mac", "vid"])["link"].nunique()
    assert (per == 1).all()
    moved = df.groupby(["mac", "vid"])["link"].nunique()
    assert (moved > 1).any()  # the rebalancer did move a bucket in this capture
    assert (h == slb_hash(backup)[0]).all()


@pytest.mark.parametrize("batch", [1, 777, 5000])
def test_slb_batches_equal_one_pass(backup, batch):
    whole = SlbBond(2, rebalance_interval_ns=10**9).assign(backup)[2]
    bond = SlbBond(2, rebalance_interval_ns=10**9)
    parts = [bond.assign(backup[i:i + batch])[2] for i in range(0, len(backup), batch)]
    assert (np.concatenate(parts) == whole).all()


def test_slb_without_macs_is_not_valid():
    pk = read_packets([str(TCPDUMP / "LINKTYPE_RAW_ipv4.pcap")])
    bond = SlbBond(2)
    _, valid, link = bond.assign(pk)
    assert not valid.any() and (link == -1).all() and (bond.member == -1).all()


def test_balance_tcp_is_per_flow_and_basis_dependent(backup):
    h0, valid, link = ovs_balance_tcp(backup, 4, basis=0)
    assert valid.all() and set(np.unique(link)) <= {0, 1, 2, 3}
    ip = backup["ip_ver"] > 0  # (ARP is hashed by its addresses, not in the columns)
    key = pd.MultiIndex.from_arrays([backup[c][ip] for c in (
        "ethertype", "src_hi", "src_lo", "dst_hi", "dst_lo", "proto", "sport", "dport",
        "icmp_type", "icmp_code")])
    per_flow = pd.Series(h0[ip]).groupby(key).nunique()
    assert len(per_flow) > 10 and (per_flow == 1).all()
    h1 = ovs_balance_tcp(backup, 4, basis=1)[0]
    assert (h0 != h1).mean() > 0.99
    assert not MODELS["ovs:balance-tcp"][0]
    bond = TcpBond(4, basis=3)
    assert (bond.member >= 0).all()  # recirculation: every bucket filled at once


def test_active_backup(backup):
    h, valid, link = ovs_active_backup(backup, 2, active=1)
    assert valid.all() and (link == 1).all() and (h == 0).all()
    with pytest.raises(ValueError):
        ovs_active_backup(backup, 2, active=2)


def test_models_and_arguments():
    assert set(MODELS) == set(ASSIGNERS) == {"ovs:balance-slb", "ovs:balance-tcp",
                                             "ovs:active-backup"}
    with pytest.raises(ValueError):
        SlbBond(2, flavour="avx")
    with pytest.raises(ValueError):
        SlbBond(2, rebalancer="3.0")
    with pytest.raises(ValueError):
        ovs_tcp_hash(np.zeros(0, PACKET_DTYPE), version="1.0")
