"""Older kernel eras of the Linux transmit hash, on the research note's worked examples.

Only 5.18+ has real-kernel vectors (test_linux_hash.py); these rows come from the note's
section 6 tables (linux_bonding.md), computed there from each era's source.
"""

from __future__ import annotations

import pytest
from frames import ether_frame, ipv4_packet, packet_table

from hashscope.errors import HashscopeError
from hashscope.hashes.linux.eras import CURRENT, kernel_profile
from hashscope.hashes.linux.xmit_hash import linux_xmit_hash

DST, SRC = "3c:fd:fe:12:34:56", "00:1b:21:aa:bb:01"
TCP = bytes.fromhex("c93a01bb") + bytes(16)
ECHO = bytes([8, 0, 0, 0, 0x12, 0x34, 0, 1])
ARP = b"\x08\x06" + bytes(28)

# (kernel, policy, frame, expected hash): frame 0 TCP, 1 ICMP echo id 0x1234, 2 ARP
# broadcast
EXAMPLES = [
    ("6.1", "layer2", 0, 0x0857), ("5.10", "layer2", 0, 0x005F), ("3.14", "layer2", 0, 0x57),
    ("6.1", "layer2+3", 0, 0x1E1FBF22), ("5.16", "layer2+3", 0, 0x0F0FDF91),
    ("4.19", "layer2+3", 0, 0x0F0FDB91), ("4.9", "layer2+3", 0, 0x1E1FB722),
    ("3.13", "layer2+3", 0, 0x1E1FB72A),
    ("4.14", "layer3+4", 0, 0x52D29B9A), ("4.13", "layer3+4", 0, 0xA5A53734),
    ("5.12", "layer3+4", 1, 0x061CC8A9), ("5.10", "layer3+4", 1, 0x151CC8A9),
    ("5.4", "layer3+4", 1, 0x0F0FDBBE),
    ("6.1", "layer3+4", 2, 0x08F8), ("4.19", "layer2", 2, 0x06F6), ("3.14", "layer2", 2, 0xFE),
    ("6.1", "encap3+4", 2, 0), ("6.1", "encap2+3", 2, 0x08F0),
]


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    return packet_table([ether_frame(DST, SRC, ipv4_packet(6, "192.168.1.10", "10.0.0.20", TCP)),
                         ether_frame(DST, SRC, ipv4_packet(1, "192.168.1.10", "10.0.0.20", ECHO)),
                         ether_frame("ff:ff:ff:ff:ff:ff", SRC, ARP)],
                        tmp_path_factory.mktemp("eras"))


@pytest.mark.parametrize(("kernel", "policy", "frame", "expected"), EXAMPLES)
def test_note_examples_by_era(frames, kernel, policy, frame, expected):
    h, valid = linux_xmit_hash(frames, policy, kernel=kernel)
    assert valid[frame]
    assert int(h[frame]) == expected, hex(int(h[frame]))


def test_profiles_by_version():
    assert kernel_profile(None) is CURRENT and kernel_profile("6.1.0-28-amd64") is CURRENT
    assert kernel_profile("5.15").name == "5.15-5.17"
    assert kernel_profile("3.18").pick == "walk" and kernel_profile("3.19").pick == "array"
    assert CURRENT.verified and not kernel_profile("4.19").verified
    for bad in ("3.12", "banana"):
        with pytest.raises(HashscopeError):
            kernel_profile(bad)


def test_vlan_srcmac_needs_5_12(frames):
    with pytest.raises(HashscopeError, match="does not exist"):
        linux_xmit_hash(frames, "vlan+srcmac", kernel="5.10")
