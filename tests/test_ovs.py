"""Open vSwitch bonds: the hash functions against the research note's worked examples
(other_hashes.md §1.8, cross-checked there against OVS's own lib/hash.c and jhash.c), and
the balance-slb bucket table replayed over real captures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from frames import ether_frame, ipv4_packet, packet_table
from helpers import ROOT, TCPDUMP

from hashscope import read_packets
from hashscope.columns import PACKET_DTYPE
from hashscope.hashes.ovs.bond import (
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
from hashscope.hashes.ovs.flow import bond_vid
from hashscope.hashes.ovs.hash import hash_int, hash_mac

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


# -- the compiled hashes and bucket table against plain per-packet Python ---------------

M32 = 0xFFFFFFFF


def _rotl(x, r):
    return (x << r | x >> (32 - r)) & M32


def _crc_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = c >> 1 ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


CRC = _crc_table()


def _crc(h, data: bytes):
    for byte in data:
        h = CRC[(h ^ byte) & 0xFF] ^ h >> 8
    return h


def _mhash_add(h, d):
    k = _rotl(d * 0xCC9E2D51 & M32, 15) * 0x1B873593 & M32
    return (_rotl(h ^ k, 13) * 5 + 0xE6546B64) & M32


def _fmix(h):
    h = (h ^ h >> 16) * 0x85EBCA6B & M32
    h = (h ^ h >> 13) * 0xC2B2AE35 & M32
    return h ^ h >> 16


def _add(h, word: bytes, sse):
    """hash_add / hash_add64 of a word given as its memory bytes."""
    if sse:
        return _crc(h, word)
    for k in range(0, len(word), 4):
        h = _mhash_add(h, int.from_bytes(word[k:k + 4], "little"))
    return h


def _finish(h, final, sse):
    if sse:
        x = _crc(h, final.to_bytes(8, "little")) * 0x805204F3 & M32
        return x ^ x >> 16
    return _fmix(h ^ final)


def _rows(pk):
    cols = ("depth", "ip_ver", "ethertype", "mac_ok", "caplen", "vlan_n", "vlan0_tci",
            "src_hi", "src_lo", "dst_hi", "dst_lo", "proto", "frag", "sport", "dport",
            "icmp_type", "icmp_code", "src_mac", "dst_mac")
    lists = {c: pk[c].tolist() for c in cols}
    heads = pk["head"].tolist()
    return [{**{c: lists[c][i] for c in cols}, "head": bytes(heads[i])}
            for i in range(len(pk))]


def _addr(r, side):
    """An address's network-order bytes (16 for IPv6, 4 for IPv4)."""
    if r["ip_ver"] == 6:
        return r[side + "_hi"].to_bytes(8, "big") + r[side + "_lo"].to_bytes(8, "big")
    return (r[side + "_lo"] & M32).to_bytes(4, "big")


def _ref_5tuple(r, basis, sse):
    ip = r["depth"] >= 2 and r["ip_ver"] in (4, 6)
    off = 14 + 4 * r["vlan_n"]
    arp = r["ethertype"] == 0x0806 and r["mac_ok"] == 3 and off + 28 <= min(r["caplen"], 64)
    a = r["head"][off:off + 28]
    h = basis
    if ip:
        src, dst, proto = _addr(r, "src"), _addr(r, "dst"), r["proto"]
        if r["ip_ver"] == 6:
            for word in (src[:8], src[8:], dst[:8], dst[8:]):
                h = _add(h, word, sse)
        else:
            h = _add(_add(h, src, sse), dst, sse)
    elif arp:
        eth_ip = a[:6] == bytes([0, 1, 8, 0, 6, 4])
        src, dst = (a[14:18], a[24:28]) if eth_ip else (bytes(4), bytes(4))
        proto = a[7] if eth_ip and a[6] == 0 else 0
        h = _add(_add(h, src, sse), dst, sse)
    if ip or arp:
        h = _add(h, proto.to_bytes(4, "little"), sse)
        if proto in (6, 17, 132, 1, 58):
            icmp = r["proto"] in (1, 58)
            tp = bytes(4)
            if not arp and r["proto"] in (6, 17, 132, 1, 58):
                tp = ((r["icmp_type"] if icmp else r["sport"]).to_bytes(2, "big")
                      + (r["icmp_code"] if icmp else r["dport"]).to_bytes(2, "big"))
            h = _add(h, tp, sse)
    missing = (r["proto"] in (6, 17, 132, 1, 58) and not r["frag"] & 4 and r["depth"] < 3)
    valid = (r["depth"] >= 1 or ip) and not (ip and missing)
    valid = valid and not (r["ethertype"] == 0x0806 and not arp)
    return _finish(h, 42, sse), valid


def _jhash(data: bytes, basis):
    """lookup3 jhash_bytes (lib/jhash.c) of a byte string, length not a multiple of 12."""
    a = b = c = (0xDEADBEEF + len(data) + basis) & M32
    words = [int.from_bytes(data[k:k + 4], "little") for k in range(0, len(data), 4)]
    words += [0] * (-len(words) % 3)
    for k in range(0, len(words), 3):
        a, b, c = (a + words[k]) & M32, (b + words[k + 1]) & M32, (c + words[k + 2]) & M32
        if k + 3 == len(words):
            for x, y, s in ((2, 1, 14), (0, 2, 11), (1, 0, 25), (2, 1, 16), (0, 2, 4),
                            (1, 0, 14), (2, 1, 24)):
                v = [a, b, c]
                v[x] = ((v[x] ^ v[y]) - _rotl(v[y], s)) & M32
                a, b, c = v
        else:
            for x, y, z, s in ((0, 2, 1, 4), (1, 0, 2, 6), (2, 1, 0, 8), (0, 2, 1, 16),
                               (1, 0, 2, 19), (2, 1, 0, 4)):
                v = [a, b, c]
                v[x] = ((v[x] - v[y]) & M32) ^ _rotl(v[y], s)
                v[y] = (v[y] + v[z]) & M32
                a, b, c = v
    return c


def _ref_symmetric_l4(r, basis):
    """flow_hash_symmetric_l4's 32-byte struct, built as bytes, then jhash_bytes."""
    ip = r["depth"] >= 2 and r["ip_ver"] in (4, 6)
    src, dst = _addr(r, "src"), _addr(r, "dst")
    ip_xor = bytes(x ^ y for x, y in zip(src, dst, strict=True)) if ip else b""
    vid = r["vlan0_tci"] & 0xFFF if r["vlan_n"] else 0
    ports = r["sport"] ^ r["dport"] if ip and r["proto"] in (6, 132) else 0
    mac = (r["src_mac"] ^ r["dst_mac"]).to_bytes(6, "big")
    data = (ip_xor.ljust(16, b"\0") + (r["ethertype"] or 0x05FF).to_bytes(2, "big")
            + vid.to_bytes(2, "big") + ports.to_bytes(2, "big") + mac
            + bytes([r["proto"] if ip else 0]) + bytes(3))
    missing = r["proto"] in (6, 132) and not r["frag"] & 4 and r["depth"] < 3
    return _jhash(data, basis), r["mac_ok"] == 3 and not (ip and missing)


def _ref_slb_hash(r, basis, sse):
    vid = r["vlan0_tci"] & 0xFFF if r["vlan_n"] else 0
    x = (vid << 48 | r["src_mac"]).to_bytes(8, "little")
    return _finish(_add(basis, x, sse), 23 if sse else 8, sse), bool(r["mac_ok"] & 2)


@pytest.fixture(scope="module")
def corpus():
    from helpers import VECTORS, real_packets
    return real_packets(BACKUP, *sorted(VECTORS.glob("*/frames.pcap")))[0]


@pytest.mark.parametrize("basis", [0, 0xDEADBEEF])
def test_compiled_hashes_match_a_per_packet_reference(corpus, basis):
    """Every packet of the real captures (ARP, ICMP, fragments, IPv6, tags, raw IP, ...):
    the compiled hashes equal plain Python written from the OVS sources, struct bytes and
    all."""
    rows = _rows(corpus)
    for flavour, sse in (("generic", False), ("sse42", True)):
        for name, got, ref in (
                ("5tuple", ovs_tcp_hash(corpus, basis, "2.8", flavour), _ref_5tuple),
                ("slb", slb_hash(corpus, basis, flavour), _ref_slb_hash)):
            expect = [ref(r, basis, sse) for r in rows]
            assert got[0].tolist() == [x for x, _ in expect], (name, flavour)
            assert got[1].tolist() == [ok for _, ok in expect], (name, flavour)
    h, valid = ovs_tcp_hash(corpus, basis, "2.7")
    expect = [_ref_symmetric_l4(r, basis) for r in rows]
    assert h.tolist() == [x for x, _ in expect]
    assert valid.tolist() == [ok for _, ok in expect]


def _ref_bond(packets, h, valid, n, interval, rebalancer, member, rr):
    """Packet by packet: rebalance when due (skipping idle runs), fill a new bucket round
    robin (rr >= 0), route, count the bytes."""
    tx = np.zeros(256, np.int64)
    now, due, runs, link = -2**63, None, 0, []
    for ts, size, x, ok in zip(packets["ts_ns"].tolist(), packets["wirelen"].tolist(),
                               h.tolist(), valid.tolist(), strict=True):
        now = max(now, ts)
        due = now + interval if due is None else due
        while interval and now >= due:
            if tx.any():
                bond_rebalance(member, tx, n, rebalancer)
                runs, due = runs + 1, due + interval
            else:
                skip = (now - due) // interval + 1
                runs, due = runs + skip, due + skip * interval
        if not ok:
            link.append(-1)
            continue
        if member[x & 255] < 0 and rr >= 0:
            member[x & 255], rr = rr % n, rr + 1
        link.append(int(member[x & 255]))
        tx[x & 255] += size
    return link, runs, tx


@pytest.mark.parametrize("rebalancer", ["2.16", "2.5"])
@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("snap", [1, 10**8])
def test_bond_table_matches_a_per_packet_reference(backup, rebalancer, n, snap):
    """The backup capture, and the same with times snapped to 0.1 s (packets exactly at
    the rebalancing times): the same members, runs and byte counts."""
    packets = backup.copy()
    packets["ts_ns"] -= packets["ts_ns"] % snap
    for bond in (SlbBond(n, 10**9, rebalancer=rebalancer),
                 TcpBond(n, 10**9, basis=3, rebalancer=rebalancer)):
        h, valid = bond.hash(packets)
        member = bond.member.copy()
        link, runs, tx = _ref_bond(packets, h, valid, n, 10**9, rebalancer, member,
                                   0 if isinstance(bond, SlbBond) else -1)
        assert bond.assign(packets)[2].tolist() == link
        assert bond.rebalances == runs > 0
        assert (bond.member == member).all() and (bond.tx_bytes == tx).all()
