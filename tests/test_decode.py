"""The decoder against tshark, field by field, on real and kernel-tested frames."""

from __future__ import annotations

import ipaddress

import numpy as np
import pytest
from helpers import MADE, TCPDUMP, VECTORS, needs_tshark
from tshark_ref import tshark_fields

from hashscope import read_packets
from hashscope.columns import (
    DEPTH_INNER_TRANSPORT,
    DEPTH_LINK,
    DEPTH_NET,
    DEPTH_TRANSPORT,
    EXT_FRAGMENT,
    EXT_HOPOPTS,
    EXT_ROUTING,
    FRAG_ANY,
    FRAG_LATER,
    INNER_GRE,
    INNER_ICMP_ERROR,
    INNER_IP_IN_IP,
    MAC_DST,
    MAC_SRC,
)
from hashscope.flows.addresses import mac_text

FRAMES = VECTORS / "linux-6.1" / "frames.pcap"  # 3000 frames of every kind the kernels hash
FREEBSD_FRAMES = VECTORS / "freebsd" / "frames.pcap"

DECODE_CASES = [FRAMES, FREEBSD_FRAMES, MADE / "live2.pcapng", MADE / "mixed.pcapng",
                TCPDUMP / "802.1ad_QinQ.pcap", TCPDUMP / "afs.pcap", TCPDUMP / "pppoes.pcap",
                TCPDUMP / "kday1.pcap", TCPDUMP / "dccp_partial_csum_v6_simple.pcap",
                TCPDUMP / "02-sunrise-sunset-esp.pcap", TCPDUMP / "icmpv6-rfc7112.pcap",
                TCPDUMP / "LINKTYPE_RAW_ipv6.pcap", TCPDUMP / "tcp_rst_diag_payload.pcap",
                TCPDUMP / "ipv6-routing-header.pcap"]


def _address(ver, hi, lo):
    if ver == 4:
        return str(ipaddress.IPv4Address(int(lo)))
    return str(ipaddress.IPv6Address((int(hi) << 64) | int(lo)))


@needs_tshark
@pytest.mark.parametrize("path", DECODE_CASES, ids=lambda p: p.parent.name + "/" + p.name)
def test_fields_match_tshark(path):
    pk = read_packets([str(path)])
    ref = tshark_fields(str(path), ["eth.src", "eth.dst", "vlan.id", "ip.src", "ip.dst",
                                    "ipv6.src", "ipv6.dst", "tcp.srcport", "tcp.dstport",
                                    "udp.srcport", "udp.dstport", "ip.proto", "sll.ifindex",
                                    "ipv6.flow", "ieee8021ad.id"])
    assert len(ref) == len(pk)
    checked = 0
    for r, row in zip(pk, ref, strict=True):
        esrc, edst, vid, s4, d4, s6, d6, tsp, tdp, usp, udp_, proto, ifindex, flow, svid = row
        if r["cut"]:
            continue
        if r["mac_ok"] & MAC_SRC and esrc:
            assert mac_text(int(r["src_mac"])) == esrc
            checked += 1
        if r["mac_ok"] & MAC_DST and edst:
            assert mac_text(int(r["dst_mac"])) == edst
        tags = [(r["vlan0_tpid"], r["vlan0_tci"] & 0xFFF),
                (r["vlan1_tpid"], r["vlan1_tci"] & 0xFFF)]
        if vid:  # tshark's vlan.id is the first 802.1Q tag, ieee8021ad.id the 802.1ad one
            assert (0x8100, int(vid)) in tags[: r["vlan_n"]]
        if svid:
            assert tags[0] == (0x88A8, int(svid))
        if r["ip_ver"] == 4 and s4:
            assert (_address(4, 0, r["src_lo"]), _address(4, 0, r["dst_lo"])) == (s4, d4)
            assert r["ip6_nh"] == int(proto)
            checked += 1
        if r["ip_ver"] == 6 and s6 and not s4:
            assert (_address(6, r["src_hi"], r["src_lo"]),
                    _address(6, r["dst_hi"], r["dst_lo"])) == (s6, d6)
            assert r["ip6_flow"] == int(flow, 16)
            checked += 1
        if r["depth"] >= DEPTH_TRANSPORT and r["proto"] in (6, 17) and r["inner"] == 0:
            sp, dp = (tsp, tdp) if r["proto"] == 6 else (usp, udp_)
            if sp:
                assert (r["sport"], r["dport"]) == (int(sp), int(dp))
        if ifindex:
            assert r["ll_ifindex"] == int(ifindex)
    assert checked > 0


@needs_tshark
def test_tunnel_inner_headers_match_tshark():
    """GRE, IPIP and SIT frames: the inner addresses are tshark's last IP layer."""
    pk = read_packets([str(FRAMES)])
    ref = tshark_fields(str(FRAMES), ["ip.src", "ip.dst", "ipv6.src", "ipv6.dst"],
                        occurrence="l")
    seen = {INNER_IP_IN_IP: 0, INNER_GRE: 0}
    for r, (s4, d4, s6, d6) in zip(pk, ref, strict=True):
        if r["inner"] not in seen or r["caplen"] < r["wirelen"] or r["inner_ver"] == 0:
            continue
        want = (s4, d4) if r["inner_ver"] == 4 else (s6, d6)
        got = (_address(r["inner_ver"], r["inner_src_hi"], r["inner_src_lo"]),
               _address(r["inner_ver"], r["inner_dst_hi"], r["inner_dst_lo"]))
        assert got == want
        seen[r["inner"]] += 1
    assert seen[INNER_IP_IN_IP] > 100 and seen[INNER_GRE] > 100


def test_qinq_tag_stack():
    pk = read_packets([str(TCPDUMP / "802.1ad_QinQ.pcap")])
    assert (pk["vlan_n"] == 2).all()
    assert (pk["vlan0_tpid"] == 0x88A8).all() and (pk["vlan1_tpid"] == 0x8100).all()
    assert (pk["eth_type"] == 0x88A8).all()


def test_kinds_of_the_kernel_test_frames():
    """Each kind of frame in the vector set decodes to the layer it should."""
    pk = read_packets([str(FREEBSD_FRAMES)])
    kinds = np.array((VECTORS / "freebsd" / "kinds.txt").read_text().split())
    assert len(kinds) == len(pk)

    def of(kind):
        return pk[kinds == kind]

    assert (of("arp")["depth"] == DEPTH_LINK).all()
    assert (of("arp")["ethertype"] == 0x0806).all()
    assert (of("v4")["depth"] >= DEPTH_NET).all()
    frag = of("frag")
    assert (frag["frag"] & FRAG_ANY).all()
    assert (frag["l4_off"][frag["frag"] & FRAG_LATER > 0] == -1).all()
    v6frag = of("v6frag")
    assert (v6frag["ip6_ext"] & EXT_FRAGMENT).all()
    assert (v6frag["ip6_nh"] == 44).all()
    v6ext = of("v6ext")
    assert (v6ext["ip6_ext"] & (EXT_HOPOPTS | EXT_ROUTING | 8)).all()
    assert (of("qinq")["vlan_n"] == 2).all()
    assert (of("vlan")["vlan_n"] == 1).all()
    v4opts = of("v4opts")
    assert (v4opts["ip_hlen"] > 20).all()
    assert (v4opts["l4_off"][v4opts["depth"] >= DEPTH_TRANSPORT]
            == 14 + v4opts["ip_hlen"][v4opts["depth"] >= DEPTH_TRANSPORT]).all()
    trunc = of("trunc")
    assert trunc["cut"].sum() == 0 or (trunc["depth"] < DEPTH_INNER_TRANSPORT).all()
    assert (of("gre")["proto"] == 47).all()
    assert np.isin(of("sit")["proto"], [4, 41]).all() and (of("ipip")["proto"] == 4).any()


def test_truncated_frames_say_how_far_they_were_decoded():
    pk = read_packets([str(TCPDUMP / "ipv6_39_byte_header.pcap")])
    assert pk["cut"].all()
    assert (pk["depth"] == DEPTH_LINK).all()


def test_icmp_error_carries_the_embedded_header():
    pk = read_packets([str(TCPDUMP / "icmpv6-rfc7112.pcap")])
    err = pk[pk["inner"] == INNER_ICMP_ERROR]
    assert len(err) > 0
    assert (err["inner_ver"] == 6).all()


def test_sll2_interface_index_and_direction():
    pk = read_packets([str(MADE / "live2.pcapng")])
    cooked = pk[pk["iface"] == 1]  # the "any" interface's frames: on ifindex1 (lo is 0)
    assert len(cooked) == 50
    assert (cooked["ll_ifindex"] > 0).all()
    assert (cooked["mac_ok"] & MAC_DST == 0).all()  # a cooked capture has no destination MAC
    assert set(cooked["pkttype"].tolist()) <= {0, 4}  # to us / outgoing on loopback
    assert (cooked["direction"] == np.where(cooked["pkttype"] == 4, 2, 1)).all()


def test_raw_ip_and_null_link_types():
    raw = read_packets([str(TCPDUMP / "LINKTYPE_RAW_ipv4.pcap")])
    assert (raw["ip_ver"] == 4).all() and (raw["mac_ok"] == 0).all()
    null = read_packets([str(TCPDUMP / "tcp_rst_diag_payload.pcap")])
    assert (null["l3_off"] == 4).all() and (null["ip_ver"] > 0).all()


def test_pppoe_and_mpls_reach_ip():
    ppp = read_packets([str(TCPDUMP / "pppoes.pcap")])
    assert (ppp["eth_type"] == 0x8864).all() and not ppp["cut"].any()
    mpls = read_packets([str(TCPDUMP / "tok2str-oobr-2.pcap")])
    assert (mpls["ethertype"] == 0x8847).any() and (mpls["ip_ver"] > 0).any()


def test_head_column_holds_the_raw_frame_start():
    import dpkt

    pk = read_packets([str(FRAMES)])
    with open(FRAMES, "rb") as f:
        frames = [buf for _, buf in dpkt.pcap.Reader(f)]
    for r, buf in zip(pk, frames, strict=True):
        n = min(len(buf), 64)
        assert bytes(r["head"][:n]) == buf[:n]
        assert not r["head"][n:].any()
