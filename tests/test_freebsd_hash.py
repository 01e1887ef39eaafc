"""The FreeBSD lagg hash against vectors from the real FreeBSD functions, and port selection."""

from __future__ import annotations

import socket

import dpkt
import numpy as np
import pandas as pd
import pytest
from helpers import VECTORS

from hashscope import read_packets
from hashscope.columns import PACKET_DTYPE
from hashscope.hashes.freebsd.lagg import (
    RoundRobin,
    broadcast_ports,
    failover_port_index,
    lagg_flowid_hash,
    lagg_link_active,
    lagg_port_index,
)
from hashscope.hashes.freebsd.mbufhash import freebsd_variant, lagg_hash, lagg_key

FREEBSD = VECTORS / "freebsd"
#: vectors.csv "vlan" column -> lagg_hash's vlan mode
VLAN = {"inband": "inband", "hwtag": "offload"}


@pytest.fixture(scope="module")
def freebsd_set():
    packets = read_packets([str(FREEBSD / "frames.pcap")])
    vectors = pd.read_csv(FREEBSD / "vectors.csv.gz")
    vectors["key"] = vectors["seed"].map(lambda s: int(s, 16))
    vectors["want"] = vectors["hash"].map(lambda s: int(s, 16))
    kinds = np.array((FREEBSD / "kinds.txt").read_text().split())
    assert len(kinds) == len(packets) == 3000
    return packets, vectors, kinds


@pytest.mark.parametrize("variant", ["fnv", "djb"])
@pytest.mark.parametrize("vlan", ["inband", "hwtag"])
def test_freebsd_vectors(freebsd_set, variant, vlan):
    """Every row of the real-function vectors, per (variant, vlan): all flags and seeds."""
    packets, vectors, kinds = freebsd_set
    rows = vectors[(vectors["variant"] == variant) & (vectors["vlan"] == vlan)]
    assert len(rows) == (72000 if vlan == "inband" else 8160)
    checked = 0
    for (flags, key), group in rows.groupby(["flags", "key"]):
        hash_, valid = lagg_hash(packets, flags, key, variant, VLAN[vlan])
        frame = group["frame_index"].to_numpy()
        bad = ~valid[frame] | (hash_[frame] != group["want"].to_numpy())
        if bad.any():
            pytest.fail(f"{variant} {vlan} {flags} {key:#x}: {bad.sum()}/{len(group)} rows "
                        f"differ; kinds {pd.Series(kinds[frame[bad]]).value_counts().to_dict()}"
                        f"; first frames {frame[bad][:20].tolist()}")
        checked += len(group)
    assert checked == len(rows)


def test_offload_is_inband_without_outer_8021q(freebsd_set):
    packets, vectors, _ = freebsd_set
    tagged = np.zeros(len(packets), dtype=bool)
    tagged[vectors.loc[vectors["vlan"] == "hwtag", "frame_index"].unique()] = True
    for variant in ("fnv", "djb"):
        a, _ = lagg_hash(packets, "l2,l3,l4", 7, variant, "offload")
        b, _ = lagg_hash(packets, "l2,l3,l4", 7, variant, "inband")
        assert (a[~tagged] == b[~tagged]).all() and (a[tagged] != b[tagged]).any()


LAYER_SETS = ("l2", "l3", "l4", "l2,l3", "l2,l4", "l3,l4", "l2,l3,l4")


def test_fast_path_equals_the_general_path():
    """The column fast path gives the frame walk's value and validity on every frame."""
    from helpers import ROOT, real_packets

    packets, n_files = real_packets(ROOT / "captures" / "two-links-backup.pcapng",
                                    FREEBSD / "frames.pcap")
    assert n_files > 30 and len(packets) > 39000
    for variant in ("fnv", "djb"):
        for vlan in ("offload", "inband"):
            for layers in LAYER_SETS:
                for seed in (0, 0x9E3779B9):
                    fast_h, fast_ok = lagg_hash(packets, layers, seed, variant, vlan)
                    slow_h, slow_ok = lagg_hash(packets, layers, seed, variant, vlan, fast=False)
                    where = (variant, vlan, layers, seed)
                    assert (fast_ok == slow_ok).all(), where
                    assert (fast_h[slow_ok] == slow_h[slow_ok]).all(), where
    # the fast path takes a good share: most of the corpus, most of the varied vector frames,
    # and in offload mode (only) the frames with one 0x8100 tag
    from hashscope.hashes.freebsd.fast import fast_hash

    tagged = (packets["vlan_n"] == 1) & (packets["eth_type"] == 0x8100)
    vectors = np.zeros(len(packets), dtype=bool)
    start = len(read_packets([str(ROOT / "captures" / "two-links-backup.pcapng")]))
    vectors[start:start + len(read_packets([str(FREEBSD / "frames.pcap")]))] = True
    assert tagged.sum() > 100
    for vlan in ("offload", "inband"):
        done = np.zeros(len(packets), dtype=bool)
        fast_hash(packets, 0x1C, 1, True, vlan == "offload", np.zeros(len(packets), np.uint32),
                  done)
        assert done.mean() > 0.95 and done[vectors].mean() > 0.75, vlan
        assert done[tagged].all() if vlan == "offload" else not done[tagged].any()


# ---- the research note's worked examples (freebsd_lagg.md section 9) -----------------------

K = 0x9e3779b9
LAGG, GW = "002590aabb01", "001b21ccdd02"


def _eth(payload, etype, tag=None) -> bytes:
    eth = dpkt.ethernet.Ethernet(dst=bytes.fromhex(GW), src=bytes.fromhex(LAGG), type=etype,
                                 data=payload)
    frame = bytes(eth)
    if tag is not None:  # 802.1Q tag after the MACs
        frame = frame[:12] + b"\x81\x00" + tag.to_bytes(2, "big") + frame[12:]
    return frame


def _v4(src, dst, l4, **kw) -> dpkt.ip.IP:
    p = 6 if isinstance(l4, dpkt.tcp.TCP) else 17
    return dpkt.ip.IP(src=socket.inet_aton(src), dst=socket.inet_aton(dst), p=p, data=l4, **kw)


def _table(frames: list[bytes], tmp_path, snap: int | None = None) -> np.ndarray:
    """The frames as a pcap read back; ``snap``: cut each record there (caplen < wirelen)."""
    path = tmp_path / "examples.pcap"
    with open(path, "wb") as out:
        writer = dpkt.pcap.Writer(out, snaplen=snap or 65535)
        for f in frames:
            kept = f[:snap] if snap else f
            out.write(writer._pack_hdr(0, 0, len(kept), len(f)) + kept)
    table = read_packets([str(path)])
    assert table.dtype == PACKET_DTYPE
    return table


def _examples(tmp_path) -> np.ndarray:
    tcp = dpkt.tcp.TCP(sport=51514, dport=443)
    ex1 = _eth(_v4("192.0.2.10", "198.51.100.20", tcp), 0x0800)
    ex3 = _eth(_v4("10.1.100.5", "10.1.100.1", dpkt.udp.UDP(sport=53000, dport=53)), 0x0800,
               tag=0x0064)
    ip6 = dpkt.ip6.IP6(src=socket.inet_pton(socket.AF_INET6, "2001:db8::10"),
                       dst=socket.inet_pton(socket.AF_INET6, "2001:db8::20"), nxt=6, hlim=64,
                       data=dpkt.tcp.TCP(sport=40000, dport=22))
    ip6.fc, ip6.flow = 0xB8, 0x12345
    ex4 = _eth(ip6, 0x86DD)
    # Ex5: Ex1 with an in-frame tag; its IPv4 checksum 0x3c4a becomes the hashed "tag"
    ex5 = _eth(_v4("192.0.2.10", "198.51.100.20", tcp, sum=0x3C4A), 0x0800, tag=100)
    return _table([ex1, ex3, ex4, ex5], tmp_path)


@pytest.mark.parametrize("variant, layers, vlan, want", [
    ("fnv", "l2,l3,l4", "offload", [0x7D3151E3, 0x5283AA07, 0xD32054DE, None]),
    ("djb", "l2,l3,l4", "offload", [0x9E115117, 0xC49C130F, 0x77B54EA0, None]),
    ("fnv", "l3,l4", "offload", [0x19C4A639, None, None, None]),
    ("djb", "l3,l4", "offload", [0x373C2575, None, None, None]),
    ("fnv", "l2,l3", "offload", [None, None, 0x9E03B187, None]),
    ("djb", "l2,l3", "offload", [None, None, 0x77B54EA0, None]),
    ("fnv", "l2,l3,l4", "inband", [0x7D3151E3, None, 0xD32054DE, 0xB2B73475]),
    ("djb", "l2,l3,l4", "inband", [0x9E115117, None, 0x77B54EA0, 0xE79EAD21]),
])
def test_note_worked_examples(tmp_path, variant, layers, vlan, want):
    table = _examples(tmp_path)
    hash_, valid = lagg_hash(table, layers, K, variant, vlan)
    assert valid.all()
    for i, w in enumerate(want):
        if w is not None:
            assert int(hash_[i]) == w, (i, hex(int(hash_[i])), hex(w))


def test_fnv_steps_of_example_1(tmp_path):
    """Section 9 Ex1: the fnv state after each field, by chaining one layer on the last."""
    table = _examples(tmp_path)[:1]
    l2 = int(lagg_hash(table, "l2", K)[0][0])
    l3 = int(lagg_hash(table, "l3", l2)[0][0])
    assert (l2, l3) == (0xFF1E9D23, 0xE35B5B9E)  # after shost+dhost, after src+dst
    assert int(lagg_hash(table, "l4", l3)[0][0]) == 0x7D3151E3
    assert int(lagg_hash(table, "l2,l3", K)[0][0]) == l3


def test_layers_order_and_spacing_do_not_matter(tmp_path):
    table = _examples(tmp_path)
    a, _ = lagg_hash(table, "l4,l2", 5)
    b, _ = lagg_hash(table, " l2 , l4", 5)
    assert (a == b).all()
    # l2,l4 (not in the vectors): the MACs, then the ports of IPv4 TCP/UDP
    l2, _ = lagg_hash(table, "l2", 5)
    assert int(a[0]) == int(lagg_hash(table[:1], "l4", int(l2[0]))[0][0])


# ---- what the table cannot tell ------------------------------------------------------------

def test_valid_false_where_bytes_are_unknown(tmp_path):
    opts = b"\x01" * 40  # 40 bytes of NOPs: IHL 15, the ports at frame byte 74
    tcp = dpkt.tcp.TCP(sport=1, dport=2)
    later = _v4("10.0.0.1", "10.0.0.2", tcp, hl=15, opts=opts, offset=800)  # 100 * 8 bytes
    first = _v4("10.0.0.1", "10.0.0.2", tcp, hl=15, opts=opts)
    table = _table([_eth(later, 0x0800), _eth(first, 0x0800)], tmp_path)
    _, valid = lagg_hash(table, "l2,l3,l4")
    assert list(valid) == [False, True]  # a later fragment's "ports" past byte 64: unknown
    _, valid = lagg_hash(table, "l2,l3")
    assert valid.all()
    # cut by the snap length before the ports: the kernel saw them, the capture did not
    cut = _table([_eth(later, 0x0800), _eth(first, 0x0800)], tmp_path, snap=70)
    assert list(cut["wirelen"] - cut["caplen"]) == [24, 24]
    assert list(lagg_hash(cut, "l3,l4")[1]) == [False, False]
    assert lagg_hash(cut, "l2,l3")[1].all()
    cooked = table.copy()
    cooked["mac_ok"] = 2  # no destination MAC (e.g. Linux cooked capture)
    assert not lagg_hash(cooked, "l3")[1].any()


def test_bad_arguments():
    empty = np.zeros(0, dtype=PACKET_DTYPE)
    for kw in ({"layers": ""}, {"layers": "l2,l5"}, {"variant": "crc"}, {"vlan": "side"},
               {"seed": -1}, {"seed": 1 << 32}):
        with pytest.raises(ValueError):
            lagg_hash(empty, **kw)
    h, valid = lagg_hash(empty)
    assert h.dtype == np.uint32 and valid.dtype == bool and len(h) == 0


def test_freebsd_variant():
    for v in ("9.3", "10.4", "10.4-RELEASE-p3", "9", "8.4", "7.0", "6.3"):
        assert freebsd_variant(v) == "djb", v
    for v in ("11.0", "11", "12.4-STABLE", "13.2", "14.1-RELEASE", "15", "15.0", "main"):
        assert freebsd_variant(v) == "fnv", v
    for v in ("", "x", "6.2", "5.4", "16", "99.1", "11.0.0.0", "banana 11"):
        with pytest.raises(ValueError):
            freebsd_variant(v)


def test_lagg_key():
    """m_ether_tcpip_hash_init of the note's examples (section 4.2)."""
    assert lagg_key(0) == 0x180C9F53
    assert lagg_key(0xDEADBEEF) == 0x68016385
    assert 0 <= lagg_key(None) < 1 << 32
    with pytest.raises(ValueError):
        lagg_key(1 << 32)


# ---- port selection --------------------------------------------------------------------------

def test_link_active():
    up = [True, False, True, False]
    assert list(lagg_link_active(np.arange(4), 4, up)) == [0, 2, 2, 0]
    assert list(lagg_link_active(np.array([-1, 3]), 4, [False, False, True, True])) == [2, 3]
    assert list(lagg_link_active(np.arange(2), 2, [False, False])) == [-1, -1]


def test_whole_lagg_example():
    """Section 9 whole-lagg model: Ex1 hash, igb0..igb2, igb1 down."""
    h = np.array([0x7D3151E3], dtype=np.uint32)
    ok = np.array([True])
    up = [True, False, True]
    assert list(lagg_port_index(h, ok, 3, up, "loadbalance")) == [2]
    assert list(lagg_port_index(h, ok, 3, None, "fec")) == [2]
    # lacp: pm_map = [igb1, igb0, igb2] given in pm_map order, all distributing
    assert list(lagg_port_index(h, ok, 3, None, "lacp")) == [2]
    assert list(failover_port_index(2, 3, 0, up)) == [0, 0]
    assert list(broadcast_ports(3, up)) == [0, 2]


def test_port_index_masks_and_counts():
    h = np.array([0, 1, 2, 3, 4, 5, 0xFFFFFFFF], dtype=np.uint32)
    ok = np.ones(len(h), dtype=bool)
    ok[5] = False
    # loadbalance: sc_count counts the down port 1; its share goes to port 2
    assert list(lagg_port_index(h, ok, 3, [True, False, True], "loadbalance")) == \
        [0, 2, 2, 0, 2, -1, 0]
    # lacp: only distributing ports are in pm_map; pm_count 2
    assert list(lagg_port_index(h, ok, 3, [True, False, True], "lacp")) == [0, 2, 0, 2, 0, -1, 2]
    assert list(lagg_port_index(h, ok, 2, [False, False], "lacp")) == [-1] * 7
    assert list(lagg_port_index(h, ok, 2, [False, False], "loadbalance")) == [-1] * 7
    assert list(failover_port_index(1, 3, 1, [True, False, False])) == [0]
    assert len(broadcast_ports(2, [False, False])) == 0
    with pytest.raises(ValueError):
        lagg_port_index(h, ok, 3, proto="roundrobin")
    with pytest.raises(ValueError):
        lagg_port_index(h, ok, 3, up_mask=[True])


def test_flowid_hash():
    flowid = np.array([0xFD5777DC, 3], dtype=np.uint32)  # section 9 Ex6
    assert list(lagg_flowid_hash(flowid)) == [0xFD57, 0]
    idx = lagg_port_index(lagg_flowid_hash(flowid), np.array([True, True]), 3, proto="lacp")
    assert list(idx) == [1, 0]
    assert list(lagg_flowid_hash(flowid, 0) % 3) == [0xFD5777DC % 3, 0]


def test_round_robin():
    rr = RoundRobin(3, rr_limit=2)
    assert list(rr.assign(4)) == [0, 0, 1, 1]
    assert list(rr.assign(4)) == [2, 2, 0, 0]  # the counter carries over batches
    assert list(RoundRobin(3, 3).assign(9, [True, False, True])) == [0, 0, 0, 2, 2, 2, 2, 2, 2]
    wrap = RoundRobin(3, seq=(1 << 32) - 1)  # uint32 sc_seq wraps to 0
    assert list(wrap.assign(2)) == [((1 << 32) - 1) % 3, 0]
    assert wrap.seq == 1
    with pytest.raises(ValueError):
        RoundRobin(0)
