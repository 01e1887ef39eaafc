"""Hashing one frame per header signature gives what hashing every frame gives, whether the
frames come keyed from the records or from packet tables.

Every applicable policy (random keys included), both --vlan modes and a --local host, on
real captures: member packets and bytes, unpredicted frames and the members of every
flow must be the same through both paths of the analysis.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import MADE, ROOT, SHARED_TCPDUMP, TCPDUMP

import hashscope
from hashscope.analysis.analyze import analyze

CAPTURES = sorted([*TCPDUMP.glob("*.pcap*"), *MADE.glob("*.pcap*"),
                   *(ROOT / "captures").rglob("*.pcap*")])


def loads(result) -> list[tuple]:
    n = len(result.flows)
    return [(r.policy.name, r.load.packets.tolist(), r.load.bytes.tolist(),
             r.load.unknown_packets, r.load.unknown_bytes, r.load.flow_links[:n].tolist(),
             [k.max_mean for k in r.key_imbalance]) for r in result.results]


def both_paths(path, vlan: str, local=None) -> bool:
    """True if the capture could be read; asserts the two paths agree."""
    setup = hashscope.make_setup(links="a,b,c", vlan=vlan)
    policies = hashscope.applicable_policies(setup)
    try:
        folded = analyze([str(path)], policies, setup, local, keys=2, signatures=True)
    except hashscope.HashscopeError:
        return False
    each = analyze([str(path)], policies, setup, local, keys=2, signatures=False)
    assert loads(folded) == loads(each), (path, vlan)
    return True


@pytest.mark.parametrize("vlan", ["offload", "inband"])
def test_signatures_equal_every_frame_on_real_captures(vlan):
    assert sum(both_paths(p, vlan) for p in CAPTURES) >= 40


def test_signatures_with_a_local_host():
    local = hashscope.parse_local(["52:54:00:3a:7c:01", "198.51.100.10"])
    for p in CAPTURES:
        both_paths(p, "offload", local)


def test_most_frames_of_a_bulk_transfer_share_signatures():
    from hashscope.hashes.signature import signature_keys

    packets = hashscope.read_packets([str(ROOT / "captures" / "two-links-backup.pcapng")])
    words, hashes, hashed = signature_keys(packets, True)
    assert hashed.mean() > 0.95
    distinct = len(np.unique(words[hashed], axis=0))
    assert distinct < hashed.sum() / 100  # tens of thousands of frames, a few hundred keys


@pytest.mark.skipif(not SHARED_TCPDUMP.is_dir(), reason="tcpdump corpus not beside the repo")
def test_signatures_equal_every_frame_on_the_whole_tcpdump_corpus():
    read = sum(both_paths(p, vlan) for p in sorted(SHARED_TCPDUMP.iterdir())
               for vlan in ("offload", "inband"))
    assert read > 500


def test_signatures_beside_a_policy_that_needs_every_frame():
    """balance-rr needs every frame's row: packet tables, with the others by signature."""
    setup = hashscope.make_setup(links=3, mode="balance-rr")
    policies = [hashscope.get_policy(n) for n in ("layer3+4", "ovs:balance-tcp",
                                                  "cisco:src-dst-ip", "uniform")]
    read = 0
    for p in CAPTURES:
        try:
            folded = analyze([str(p)], policies, setup, keys=2, signatures=True)
        except hashscope.HashscopeError:
            continue
        assert loads(folded) == loads(analyze([str(p)], policies, setup, keys=2,
                                              signatures=False)), p
        read += 1
    assert read >= 40
