"""Switch models against the research note (other_hashes.md §2-§3): Cisco's documented
bucket shares, the HP manual's and VMware's worked examples, and behaviour on captures."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import ROOT, TCPDUMP

from hashscope import read_packets
from hashscope.columns import PACKET_DTYPE
from hashscope.hashes.switches.models import (
    ASSIGNERS,
    CISCO_MODES,
    MODELS,
    aruba_trunk,
    cisco_bucket_shares,
    cisco_etherchannel,
    uniform,
    vmware_ip_hash,
)

#: doc 12023 / packetmischief.ca: buckets per link for 2..8 links
CISCO_SHARES = {2: [4, 4], 3: [3, 3, 2], 4: [2, 2, 2, 2], 5: [2, 2, 2, 1, 1],
                6: [2, 2, 1, 1, 1, 1], 7: [2, 1, 1, 1, 1, 1, 1], 8: [1] * 8}


def _ipv4(src, dst, proto=6, sport=0, dport=0) -> np.ndarray:
    """IPv4 packets with MACs, one per element of the (broadcast) arguments."""
    src, dst, proto, sport, dport = np.broadcast_arrays(*map(np.atleast_1d, (
        src, dst, proto, sport, dport)))
    pk = np.zeros(len(src), PACKET_DTYPE)
    pk["mac_ok"], pk["src_mac"], pk["dst_mac"] = 3, 0x00163E123456, 0x001B21AABBCC
    pk["ethertype"], pk["ip_ver"], pk["depth"] = 0x0800, 4, 3
    pk["src_lo"], pk["dst_lo"], pk["proto"] = src, dst, proto
    pk["sport"], pk["dport"] = sport, dport
    return pk


@pytest.mark.parametrize("n", list(CISCO_SHARES))
def test_cisco_documented_shares(n):
    assert sorted(cisco_bucket_shares(n), reverse=True) == CISCO_SHARES[n]
    # the same through the model: one flow per RBH value (last octets 0..7)
    _, valid, link = cisco_etherchannel(_ipv4(0x0A000000 + np.arange(8), 0), n, "src-ip")
    assert valid.all()
    assert sorted(np.bincount(link, minlength=n), reverse=True) == CISCO_SHARES[n]


def test_cisco_note_example():
    """src-dst-ip 10.0.0.1 -> 10.0.0.6: RBH 7, member 1, 1, 3, 2, 1, 0, 7 of 2..8 links."""
    pk = _ipv4(0x0A000001, 0x0A000006)
    got = [int(cisco_etherchannel(pk, n, "src-dst-ip")[2][0]) for n in range(2, 9)]
    assert got == [1, 1, 3, 2, 1, 0, 7]
    assert int(cisco_etherchannel(pk, 2, "src-dst-ip")[0][0]) == 7


def test_cisco_fallbacks():
    pk = _ipv4(0x0A000001, 0x0A000006, proto=[6, 1], sport=[1000, 0], dport=[2003, 0])
    port = cisco_etherchannel(pk, 8, "src-dst-port")[0]
    ip = cisco_etherchannel(pk, 8, "src-dst-ip")[0]
    assert int(port[0]) == (1000 ^ 2003) & 7 and int(port[1]) == int(ip[1]) == 7
    arp = pk[:1].copy()
    arp["ip_ver"], arp["depth"], arp["ethertype"] = 0, 1, 0x0806
    mac = cisco_etherchannel(arp, 8, "src-dst-mac")[0]
    assert int(mac[0]) == (0x56 ^ 0xCC) & 7
    assert cisco_etherchannel(arp, 8, "src-dst-port")[0][0] == mac[0]
    raw = read_packets([str(TCPDUMP / "LINKTYPE_RAW_ipv4.pcap")])
    assert not cisco_etherchannel(raw, 2, "src-mac")[1].any()
    assert cisco_etherchannel(raw, 2, "src-dst-ip")[1].all()


def test_hp_blade_manual_example():
    """HP BL e-Class manual: SA ..0B, DA ..0C: 4 links -> 4th, 1st, 4th (SA, DA, SA^DA);
    6 links -> 3, 4, 1 (0-based)."""
    pk = _ipv4(0, 0)
    pk["src_mac"], pk["dst_mac"] = 0x00000000000B, 0x00000000000C
    for n, expect in ((4, [3, 0, 3]), (6, [3, 4, 1])):
        got = [int(ASSIGNERS[f"hp-bl:{m}"](pk, n)[2][0]) for m in ("sa", "da", "sa-da")]
        assert got == expect


def test_vmware_examples():
    pk = _ipv4([0xC0A86465, 0x0A000005, 0xC0A86465], [0xC0A86478, 0xC0A80109, 0xC0A86482])
    assert int(vmware_ip_hash(pk[:1], 4, "whole")[2][0]) == 1  # 0x1D mod 4
    assert list(vmware_ip_hash(pk[1:], 3, "last-octet")[2]) == [0, 0]
    assert list(vmware_ip_hash(pk[1:], 3, "whole")[2]) == [2, 0]
    with pytest.raises(ValueError):
        vmware_ip_hash(pk, 3, "first-octet")


def test_vmware_non_ip_reads_where_the_addresses_would_be():
    pk = _ipv4(0, 0)
    pk["ip_ver"], pk["depth"], pk["ethertype"], pk["caplen"] = 0, 1, 0x0806, 60
    pk["head"][0, 26:34] = [1, 2, 3, 4, 1, 2, 3, 7]
    h, valid, _ = vmware_ip_hash(pk, 2, "whole")
    assert valid.all() and int(h[0]) == 3


def test_aruba_low_five_bits():
    """L3: addresses equal in their last five bits collide; L4 adds ports, and falls back
    to L3 for packets without them."""
    pk = _ipv4([0x0A000001, 0x0A000021, 0x0A000002, 0x0A000001], 0x0A000064,
               proto=[6, 6, 6, 1], sport=[1000, 2000, 1000, 0], dport=80)
    h3 = aruba_trunk(pk, 4, "l3")[0]
    h4 = aruba_trunk(pk, 4, "l4")[0]
    assert h3[0] == h3[1] == h3[3] != h3[2]
    assert h4[0] != h4[1] and h4[3] == h3[3]
    assert aruba_trunk(pk, 4, "l2")[0][0] == aruba_trunk(pk, 4, "l2")[0][2]


def test_uniform_spreads_evenly():
    rng = np.random.default_rng(1)
    n = 30000
    pk = _ipv4(rng.integers(0, 2**32, n), rng.integers(0, 2**32, n), 6,
               rng.integers(1024, 65536, n), 443)
    _, valid, link = uniform(pk, 3)
    assert valid.all()
    assert np.abs(np.bincount(link) / n - 1 / 3).max() < 0.01
    same = uniform(np.concatenate([pk[:5], pk[:5]]), 3)[2]
    assert (same[:5] == same[5:]).all()


@pytest.fixture(scope="module")
def captures():
    paths = [TCPDUMP / "mptcp-v0.pcap", TCPDUMP / "OSPFv3_with_AH.pcap",
             TCPDUMP / "LINKTYPE_RAW_ipv6.pcap", ROOT / "captures" / "two-links-backup.pcapng"]
    return [read_packets([str(p)]) for p in paths]


@pytest.mark.parametrize("name", list(ASSIGNERS))
def test_models_on_captures(captures, name):
    for pk in captures:
        for n in (2, 3, 5):
            h, valid, link = ASSIGNERS[name](pk, n)
            assert h.dtype == np.uint32 and valid.dtype == bool and link.dtype == np.int64
            assert ((link >= 0) == valid).all() and (link < n).all()
    big = captures[-1]
    assert ASSIGNERS[name](big, 2)[1].mean() > 0.99  # an Ethernet capture: all computable


def test_models_table():
    names = {"cisco:" + m for m in CISCO_MODES} | {"aruba:l2", "aruba:l3", "aruba:l4",
                                                   "vmware:ip-hash", "uniform"}
    assert names <= set(MODELS) and set(MODELS) == set(ASSIGNERS)
    assert all(not MODELS[n][0] for n in names)
    assert all(MODELS[n][0] for n in set(MODELS) - names)  # the HP blade formulas
    with pytest.raises(ValueError):
        cisco_etherchannel(_ipv4(0, 0), 2, "src-vlan")


# -- the compiled models against a plain per-packet reference, on real captures ---------

def _rows(pk) -> list[dict]:
    cols = ("mac_ok", "src_mac", "dst_mac", "depth", "ip_ver", "proto", "frag", "src_hi",
            "src_lo", "dst_hi", "dst_lo", "sport", "dport", "ethertype", "vlan_n", "caplen")
    lists = {c: pk[c].tolist() for c in cols}
    heads = pk["head"].tolist()
    return [{**{c: lists[c][i] for c in cols}, "head": heads[i]} for i in range(len(pk))]


def _ref_has(r, kind, dirs=("src", "dst")):
    if kind == "mac":
        need = (2 if "src" in dirs else 0) | (1 if "dst" in dirs else 0)
        return r["mac_ok"] & need == need
    ip = r["depth"] >= 2 and r["ip_ver"] in (4, 6)
    if kind == "ip":
        return ip
    return (ip and r["proto"] in (6, 17, 33, 132, 136) and r["depth"] >= 3
            and not r["frag"] & 4)


def _ref_cisco(r, mode):
    kind, dirs = CISCO_MODES[mode]
    while kind:
        if _ref_has(r, kind, dirs):
            cols = {"mac": "_mac", "ip": "_lo", "port": "port"}[kind]
            v = 0
            for d in dirs:
                v ^= r[(d if kind != "port" else d[0]) + cols] & 7
            return v, True
        kind = {"port": "ip", "ip": "mac"}.get(kind)
    return 0, False


def _ref_vmware(r, variant):
    v = (r["src_lo"] ^ r["dst_lo"]) & 0xFFFFFFFF
    ip = _ref_has(r, "ip")
    off = 14 + 4 * r["vlan_n"]
    raw = not ip and _ref_has(r, "mac") and off + 20 <= min(r["caplen"], 64)
    if raw:
        b = r["head"][off + 12:off + 20]
        v = int.from_bytes(bytes(x ^ y for x, y in zip(b[:4], b[4:], strict=True)), "big")
    return (v & 0xFF if variant == "last-octet" else v), ip or raw


def _ref_mix(r, layer, ip_mask, proto):
    import struct

    import xxhash
    if layer == 2:
        w = [2 << 56 | r["ethertype"], r["src_mac"], 0, r["dst_mac"], 0, 0]
    else:
        w = [layer << 56 | (r["proto"] if proto else 0)]
        for col in ("src_hi", "src_lo", "dst_hi", "dst_lo"):
            w.append(0 if ip_mask and col.endswith("hi") else
                     r[col] & ip_mask if ip_mask else r[col])
        w.append(r["sport"] << 16 | r["dport"] if layer == 4 else 0)
    h = xxhash.xxh64(struct.pack("<8Q", *w, 0, 0)).intdigest()
    return (h ^ h >> 32) & 0xFFFFFFFF, layer > 0


def _ref_aruba(r, layer):
    top = 2 + ("l2", "l3", "l4").index(layer)
    lv = 2 if _ref_has(r, "mac") else 0
    lv = 3 if top >= 3 and _ref_has(r, "ip") else lv
    lv = 4 if top == 4 and _ref_has(r, "port") else lv
    return _ref_mix(r, lv, 31, False)


def _ref_uniform(r):
    if _ref_has(r, "ip"):
        cut = r["proto"] in (6, 17, 33, 132, 136) and not _ref_has(r, "port") \
            and not r["frag"] & 4
        return _ref_mix(r, 0 if cut else 4, 0, True)
    return _ref_mix(r, 2 if _ref_has(r, "mac") else 0, 0, True)


@pytest.fixture(scope="module")
def corpus():
    from helpers import VECTORS, real_packets
    return real_packets(ROOT / "captures" / "two-links-backup.pcapng",
                        *sorted(VECTORS.glob("*/frames.pcap")))[0]


@pytest.mark.parametrize("name,variant,ref", [
    *[(f"cisco:{m}", None, lambda r, m=m: _ref_cisco(r, m)) for m in CISCO_MODES],
    *[(f"aruba:{x}", None, lambda r, x=x: _ref_aruba(r, x)) for x in ("l2", "l3", "l4")],
    ("vmware:ip-hash", "last-octet", lambda r: _ref_vmware(r, "last-octet")),
    ("vmware:ip-hash", "whole", lambda r: _ref_vmware(r, "whole")),
    ("uniform", None, _ref_uniform),
])
def test_compiled_models_match_a_per_packet_reference(corpus, name, variant, ref):
    """Every packet of the real captures (ARP, fragments, IPv6, tags, raw IP, ...): the
    compiled model gives the hash, validity and link of a plain Python reference."""
    rows = _rows(corpus)
    expect = [ref(r) for r in rows]
    for n in (3, 4):
        if variant:
            h, valid, link = vmware_ip_hash(corpus, n, variant)
        else:
            h, valid, link = ASSIGNERS[name](corpus, n)
        assert h.tolist() == [x for x, _ in expect]
        assert valid.tolist() == [ok for _, ok in expect]
        assert link.tolist() == [x % n if ok else -1 for x, ok in expect]
