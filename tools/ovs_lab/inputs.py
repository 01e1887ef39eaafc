"""The OVS lab's input captures: what the VMs behind an XCP-ng host's bond send.

Deterministic (a seeded generator): the same scenario gives the same bytes. Every
frame is one a VM sends out through the bond: locally administered source MACs (VMs,
02:00:5e:..), a gateway or peer MAC as destination (never a source, so the switch's
MAC learning never sends a frame back to the injector), documentation addresses
(192.0.2.0/24 from the VMs, 198.51.100.0/24 and 203.0.113.0/24 beyond), VLAN 10
tags on some VMs. Frames are stored with their first SNAP bytes only; the injector
pads them back to their wire length. Standard library only.
"""
from __future__ import annotations

import random
import struct
from pathlib import Path

SNAP = 128
GATEWAY = bytes.fromhex("020000c0ffee")
PEER = bytes.fromhex("020000beef01")


def vm_mac(i: int) -> bytes:
    return bytes([0x02, 0x00, 0x5E, 0x10, i >> 8, i & 0xFF])


def _checksum(b: bytes) -> int:
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(src_mac: bytes, dst_mac: bytes, src_ip: str, dst_ip: str, proto: int,
          sport: int, dport: int, size: int, vlan: int = 0, seq: int = 0) -> tuple[bytes, int]:
    """(the first SNAP bytes, the wire length) of an Ethernet frame of ``size`` bytes
    (without FCS) carrying TCP (``proto`` 6, an ACK with ``seq``) or UDP (17)."""
    l2 = dst_mac + src_mac + (struct.pack("!HH", 0x8100, vlan) if vlan else b"") + b"\x08\x00"
    l4len = 20 if proto == 6 else 8
    total = max(size - len(l2), 20 + l4len)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 0, 0x4000, 64, proto, 0,
                     bytes(map(int, src_ip.split("."))), bytes(map(int, dst_ip.split("."))))
    ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
    if proto == 6:
        l4 = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, 1, 0x50, 0x10, 65535,
                         0, 0)
    else:
        l4 = struct.pack("!HHHH", sport, dport, total - 20, 0)
    wire = max(len(l2) + total, 60)
    return (l2 + ip + l4).ljust(min(wire, SNAP), b"\0"), wire


def write_pcap(path: Path, frames: list[tuple[float, bytes, int]]) -> None:
    """frames: (seconds since the start, captured bytes, wire length), in time order."""
    t0 = 1_764_547_200  # 2025-12-01T00:00:00Z
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, SNAP, 1))
        for t, data, wire in frames:
            us = round(t * 1e6)
            f.write(struct.pack("<IIII", t0 + us // 1_000_000, us % 1_000_000, len(data),
                                wire) + data)


def vms(n: int, vlan_every: int = 3) -> list[tuple[bytes, str, int]]:
    """n VMs: (MAC, address, VLAN): every ``vlan_every``-th one on VLAN 10."""
    return [(vm_mac(i), f"192.0.2.{10 + i}", 10 if vlan_every and i % vlan_every == 2 else 0)
            for i in range(n)]


def chatter(rng: random.Random, hosts, seconds: float, per_host: int) -> list:
    """Each VM sends ``per_host`` small UDP frames at random times to a service beyond
    the gateway."""
    out = []
    for mac, ip, vlan in hosts:
        sport = rng.randrange(32768, 61000)
        dst = f"203.0.113.{rng.randrange(1, 255)}"
        for _ in range(per_host):
            data, wire = frame(mac, GATEWAY, ip, dst, 17, sport, 53, rng.randrange(80, 300),
                               vlan)
            out.append((rng.uniform(0, seconds), data, wire))
    return out


def elephant(host, seconds: float, rate: int, start: float = 0.0) -> list:
    """One TCP upload of full-size frames, ``rate`` frames a second, from ``host``."""
    mac, ip, vlan = host
    out, seq = [], 0
    for k in range(int((seconds - start) * rate)):
        data, wire = frame(mac, PEER, ip, "198.51.100.20", 6, 40524, 873, 1514, vlan, seq)
        seq += wire - 54
        out.append((start + k / rate, data, wire))
    return out


def tcp_streams(rng: random.Random, hosts, seconds: float, streams: int, frames: int) -> list:
    """``streams`` TCP connections (client ports from 50000 up, to port 5201 on the peer),
    spread over the hosts, each ``frames`` frames of 200 to 1514 bytes."""
    out = []
    for s in range(streams):
        mac, ip, vlan = hosts[s % len(hosts)]
        seq = rng.randrange(1 << 32)
        for _ in range(frames):
            data, wire = frame(mac, PEER, ip, "198.51.100.20", 6, 50000 + s, 5201,
                               rng.randrange(200, 1515), vlan, seq)
            seq += wire - 54
            out.append((rng.uniform(0, seconds), data, wire))
    return out


def build(name: str, path: Path) -> None:
    rng = random.Random(f"hashscope-ovs-lab-{name}")
    if name == "slb-short":
        frames = chatter(rng, vms(60), 3.0, 10)
    elif name == "slb-long":
        hosts = vms(30)
        frames = chatter(rng, hosts, 12.0, 60) + elephant(hosts[0], 12.0, 300)
        frames += tcp_streams(rng, hosts[1:6], 12.0, 5, 600)
    elif name == "active-backup":
        frames = chatter(rng, vms(20), 4.0, 20)
    elif name == "lacp-balance-tcp":
        frames = tcp_streams(rng, vms(8, vlan_every=0), 3.0, 512, 4)
    else:
        raise SystemExit(f"ovs_lab: no input for scenario {name!r}")
    frames.sort(key=lambda f: f[0])
    write_pcap(path, frames)
