"""The Linux bonding transmit hash against vectors from the real Linux 6.1 kernel."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from frames import ether_frame, ipv4_packet, packet_table
from helpers import VECTORS

from hashscope import read_packets
from hashscope.columns import PACKET_DTYPE
from hashscope.hashes.linux.if_bonding import POLICIES
from hashscope.hashes.linux.xmit_hash import linux_slave_index, linux_xmit_hash

#: (vector set, --vlan mode): linux-6.1 has its tags in the frame, the offload set had
#: them out of band (the capture shows them re-inserted).
SETS = [("linux-6.1", "inband"), ("linux-6.1-vlan-offload", "offload")]


@pytest.fixture(scope="module", params=SETS, ids=[s for s, _ in SETS])
def vector_set(request):
    name, vlan = request.param
    packets = read_packets([str(VECTORS / name / "frames.pcap")])
    vectors = pd.read_csv(VECTORS / name / "vectors.csv.gz")
    return name, vlan, packets, vectors


@pytest.mark.parametrize("policy", list(POLICIES))
def test_kernel_vectors(vector_set, policy):
    name, vlan, packets, vectors = vector_set
    rows = vectors[vectors["xmit_hash_policy"] == policy]
    assert len(rows) == 5 * len(packets)  # slave counts 2, 3, 4, 5, 8
    hash_, valid = linux_xmit_hash(packets, policy, vlan=vlan)
    frame = rows["frame_index"].to_numpy()
    got = np.full(len(rows), -1)
    for n in np.unique(rows["slave_count"]):
        sel = rows["slave_count"].to_numpy() == n
        got[sel] = linux_slave_index(hash_, valid, int(n))[frame[sel]]
    bad = got != rows["slave_index"].to_numpy()
    if bad.any():
        wrong = rows[bad]
        pytest.fail(f"{name} {policy}: {bad.sum()}/{len(rows)} rows differ; kinds "
                    f"{wrong['kind'].value_counts().to_dict()}; first frames "
                    f"{sorted(set(wrong['frame_index']))[:20]}")


def test_note_worked_examples(tmp_path):
    """Examples 1-6 of the research note (linux_bonding.md section 6), 5.18+ rows."""
    dst, src = "3c:fd:fe:12:34:56", "00:1b:21:aa:bb:01"
    tcp = bytes.fromhex("c93a01bb") + bytes(16)
    echo = bytes([8, 0, 0, 0, 0x12, 0x34, 0, 1])
    v6udp = (b"\x86\xdd" + bytes([0x60, 0, 0, 0, 0, 8, 17, 64])
             + bytes.fromhex("20010db8000000000000000000000010")
             + bytes.fromhex("20010db8000000010000000000000053")
             + bytes.fromhex("9c400035") + bytes(4))
    tagged = (b"\x81\x00" + (0x0064).to_bytes(2, "big") + ipv4_packet(6, "1.2.3.4", "5.6.7.8", tcp))
    frames = [ether_frame(dst, src, ipv4_packet(6, "192.168.1.10", "10.0.0.20", tcp)),
              ether_frame(dst, src, ipv4_packet(1, "192.168.1.10", "10.0.0.20", echo)),
              ether_frame(dst, src, v6udp),
              ether_frame(dst, "52:54:00:12:34:56", tagged)]
    t = packet_table(frames, tmp_path)
    expect = {
        "layer2": [0x0857, None, None, None],
        "layer2+3": [0x1E1FBF22, None, 0x4242C44E, None],
        "layer3+4": [0x52D29B9A, 0x061CC8A9, 0x3BBB9BD5, None],
        "vlan+srcmac": [None, None, None, 0x406032],
    }
    for policy, values in expect.items():
        h, valid = linux_xmit_hash(t, policy)
        assert valid.all()
        for i, v in enumerate(values):
            if v is not None:
                assert int(h[i]) == v, (policy, i, hex(int(h[i])), hex(v))
    h, valid = linux_xmit_hash(t, "vlan+srcmac", vlan="inband")  # no out-of-band tag
    assert int(h[3]) == 0x406056
    assert list(linux_slave_index(np.array([0x52D29B9A] * 3, np.uint32), np.array(
        [True, True, False]), 3)) == [1, 1, -1]


def test_bad_arguments():
    empty = np.zeros(0, dtype=PACKET_DTYPE)
    with pytest.raises(ValueError):
        linux_xmit_hash(empty, "layer5")
    with pytest.raises(ValueError):
        linux_xmit_hash(empty, "layer2", vlan="sideways")
    h, valid = linux_xmit_hash(empty, "encap3+4")
    assert h.dtype == np.uint32 and valid.dtype == bool and len(h) == 0


@pytest.mark.parametrize("kernel", ["6.1", "5.16", "5.10", "4.9", "3.14"])
def test_fast_path_equals_the_general_path(kernel):
    """The column fast path gives the frame walk's value on every frame it takes. (The walk
    rebuilds Ethernet frames: a frame without MACs, which layer3+4 and encap3+4 hash from
    the columns alone, is the fast path's only; the kernel lab's -i any captures check
    those against the real kernel.)"""
    from helpers import ROOT, real_packets

    packets, n_files = real_packets(ROOT / "captures" / "two-links-backup.pcapng",
                                    VECTORS / "linux-6.1" / "frames.pcap")
    taken = 0
    for policy in POLICIES:
        if policy == "vlan+srcmac" and kernel in ("5.10", "4.9", "3.14"):
            continue
        for vlan in ("offload", "inband"):
            fast_h, fast_ok = linux_xmit_hash(packets, policy, vlan, kernel)
            slow_h, slow_ok = linux_xmit_hash(packets, policy, vlan, kernel, fast=False)
            macs = packets["mac_ok"] == 3
            assert (fast_ok[macs] == slow_ok[macs]).all(), (policy, vlan)
            assert not slow_ok[~macs].any()
            if policy not in ("layer3+4", "encap3+4"):
                assert not fast_ok[~macs].any(), (policy, vlan)
            assert (fast_h[slow_ok] == slow_h[slow_ok]).all(), (policy, vlan)
            taken += int(slow_ok.sum())
    assert len(packets) > 39000 and taken > 0


def test_snapped_frame_is_not_guessed(tmp_path):
    """A frame cut by the snap length had its ports on the wire: no layer3+4 guess."""
    tcp = bytes.fromhex("c93a01bb") + bytes(16)
    frame = ether_frame("3c:fd:fe:12:34:56", "00:1b:21:aa:bb:01",
                        ipv4_packet(6, "192.168.1.10", "10.0.0.20", tcp))
    t = packet_table([frame], tmp_path, snap=36)  # headers and half the ports word
    for policy, expected in (("layer3+4", False), ("layer2+3", True), ("layer2", True)):
        _, valid = linux_xmit_hash(t, policy)
        assert bool(valid[0]) is expected, policy
    (tmp_path / "full").mkdir()
    full = packet_table([frame], tmp_path / "full")
    assert linux_xmit_hash(full, "layer3+4")[1].all()
