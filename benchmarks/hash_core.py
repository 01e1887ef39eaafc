"""Benchmark: the hash core, packets per second per policy, beside a per-packet peer.

    python benchmarks/hash_core.py                  # 4 million packets
    python benchmarks/hash_core.py --packets 1e6 --policies layer3+4,lagg:l2,l3,l4

Decodes a generated capture (the same generator as read_flows.py: IPv4 TCP, UDP in
802.1Q VLANs, IPv6 TCP, a heavy-tailed flow mix) into a packet table once, then times
each policy's assigner (hash + member choice, 4 members) over the whole table. The peer
is what a user would otherwise write: a per-packet Python loop with dpkt computing the
layer3+4 formula, timed on the first --peer-packets frames of the same capture. Prints
figures only; asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from read_flows import generate  # noqa: E402 - the benchmarks share one generator

from hashscope import (  # noqa: E402
    Setup,
    all_policies,
    get_policy,
    make_assigner,
    parse_links,
    read_packets,
)


def peer_layer34(path: Path, limit: int) -> tuple[int, float]:
    """Per-packet dpkt + Python layer3+4 (5.18+ formula), as a hand-written script does."""
    import dpkt

    t0 = time.perf_counter()
    n = 0
    with open(path, "rb") as fh:
        for _ts, buf in dpkt.pcap.Reader(fh):
            eth = dpkt.ethernet.Ethernet(buf)
            ip = eth.data
            if isinstance(ip, dpkt.ip.IP):
                s = int.from_bytes(ip.src, "little") ^ int.from_bytes(ip.dst, "little")
            elif isinstance(ip, dpkt.ip6.IP6):
                s = 0
                for a in (ip.src, ip.dst):
                    for k in range(0, 16, 4):
                        s ^= int.from_bytes(a[k:k + 4], "little")
            else:
                s = None
            if s is not None:
                l4 = ip.data
                p = int.from_bytes(bytes(l4)[:4], "little") if hasattr(l4, "sport") else 0
                h = p ^ s
                h ^= h >> 16
                h ^= h >> 8
                _ = (h >> 1) % 4
            n += 1
            if n >= limit:
                break
    return n, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packets", type=float, default=4e6)
    ap.add_argument("--policies", help="comma-separated policy names (default: all); "
                                       "lagg:... names keep their commas if given last")
    ap.add_argument("--links", default="4")
    ap.add_argument("--peer-packets", type=int, default=200_000)
    ap.add_argument("--workdir", type=Path, default=Path(__file__).parent / "out")
    args = ap.parse_args()

    args.workdir.mkdir(parents=True, exist_ok=True)
    cap = args.workdir / f"bench-{int(args.packets)}.pcap"
    if not cap.exists():
        generate(cap, int(args.packets))
    t0 = time.perf_counter()
    packets = read_packets([str(cap)])
    print(f"capture {cap}: {len(packets):,} packets decoded in "
          f"{time.perf_counter() - t0:.1f} s")
    if args.policies:
        names = args.policies.split(",")
        policies, i = [], 0
        while i < len(names):  # re-join lagg:l2,l3,l4
            name = names[i]
            while name.startswith("lagg:") and i + 1 < len(names) and names[i + 1] in (
                    "l2", "l3", "l4"):
                i += 1
                name += "," + names[i]
            policies.append(get_policy(name))
            i += 1
    else:
        policies = all_policies()
    setup = Setup(parse_links(args.links), seed=0x1234ABCD)
    warm = packets[:2000]
    print(f"\n{'policy':24} {'accuracy':12} {'seconds':>8} {'packets/s':>14}")
    for p in policies:
        make_assigner(p, setup).assign(warm)  # compile / load the cache outside the timing
        assigner = make_assigner(p, setup)
        t0 = time.perf_counter()
        assigner.assign(packets)
        dt = time.perf_counter() - t0
        print(f"{p.name:24} {p.accuracy:12} {dt:8.3f} {len(packets) / dt:14,.0f}")
    n, dt = peer_layer34(cap, args.peer_packets)
    print(f"\npeer: dpkt + Python loop, layer3+4 on the first {n:,} packets: "
          f"{dt:.2f} s, {n / dt:,.0f} packets/s")


if __name__ == "__main__":
    main()
