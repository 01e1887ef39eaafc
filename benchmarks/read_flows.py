"""Benchmark: read + decode + flow table, hashscope beside tshark, on one generated capture.

    python benchmarks/read_flows.py                 # 6 million packets, ~2.4 GB
    python benchmarks/read_flows.py --packets 1e6   # quicker
    python benchmarks/read_flows.py --capture existing.pcap

Generates (once, vectorized) a pcap with a realistic mix: ~60,000 flows whose
sizes follow a heavy-tailed law (a few elephants, many mice), IPv4 TCP, UDP in
802.1Q VLANs and IPv6 TCP, frames of 80 to 1514 bytes. Then runs, each in its
own process, `hashscope flows FILE --format csv` and `tshark -q -z conv,tcp`
on the same file and prints wall time, packets per second and peak memory
(max RSS) side by side: hashscope's medians of --repeat runs (peak memory: the
largest), tshark's one run. Not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np

HEADER = 78  # bytes of each frame taken from its flow's template (the rest is payload)


def _templates(n_flows: int, rng: np.random.Generator,
               vlans: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per flow: HEADER bytes of headers, and where the IP total length field sits.

    VLAN ids are drawn from ``vlans`` when given, else from 1..4094."""
    t = np.zeros((n_flows, HEADER), np.uint8)
    kind = rng.choice(3, size=n_flows, p=[0.8, 0.12, 0.08])  # v4 tcp, vlan v4 udp, v6 tcp
    t[:, 0:6] = rng.integers(0, 256, (n_flows, 6), dtype=np.uint8)
    t[:, 0] &= 0xFE
    t[:, 6:12] = rng.integers(0, 256, (n_flows, 6), dtype=np.uint8)
    t[:, 6] &= 0xFE
    lenpos = np.zeros(n_flows, np.int64)
    ports = rng.integers(1024, 65536, (n_flows, 2), dtype=np.uint16)
    # iperf3, HTTPS and ephemeral service ports: payloads are zeros, so no port should
    # send tshark into a heavy application dissector that a real capture would not
    ports[:, 1] = rng.choice(np.array([5201, 443, 8443, 9000, 5202, 5203], np.uint16), n_flows)
    pb = ports.astype(">u2").view(np.uint8).reshape(n_flows, 4)

    def ipv4(rows, l3, proto, first_octet):
        """An IPv4 header at l3 (random addresses in first_octet/8) and the ports after it."""
        t[rows, l3 - 2 : l3] = (0x08, 0x00)
        t[rows, l3] = 0x45
        t[rows, l3 + 8] = 64
        t[rows, l3 + 9] = proto
        t[rows, l3 + 12 : l3 + 20] = rng.integers(0, 256, (rows.sum(), 8), dtype=np.uint8)
        t[rows, l3 + 12] = first_octet
        t[rows, l3 + 20 : l3 + 24] = pb[rows]
        lenpos[rows] = l3 + 2

    v4 = kind == 0
    ipv4(v4, 14, 6, 10)
    t[v4, 46:50] = (0x50, 0x10, 0xFF, 0xFF)  # data offset 5, ACK, window

    vl = kind == 1
    t[vl, 12:14] = (0x81, 0x00)
    vid = rng.choice(vlans, vl.sum()) if vlans is not None else rng.integers(1, 4095, vl.sum())
    t[vl, 14:16] = vid.astype(">u2").view(np.uint8).reshape(-1, 2)
    ipv4(vl, 18, 17, 192)

    v6 = kind == 2
    t[v6, 12:14] = (0x86, 0xDD)
    t[v6, 14] = 0x60
    t[v6, 20] = 6
    t[v6, 21] = 64
    t[v6, 22:54] = rng.integers(0, 256, (v6.sum(), 32), dtype=np.uint8)
    t[v6, 22:24] = (0x20, 0x01)
    t[v6, 54:58] = pb[v6]
    t[v6, 66:70] = (0x50, 0x10, 0xFF, 0xFF)
    lenpos[v6] = -18  # IPv6 payload length at 18, counted without the 40-byte header
    seqpos = np.where(v4, 38, np.where(v6, 58, -1))  # TCP sequence number, -1 for UDP
    return t, lenpos, seqpos


def _tcp_sequence(flow, payload, seq_next):
    """Per packet the sequence number its flow has reached (flows advance by payload)."""
    order = np.argsort(flow, kind="stable")
    fs, pay = flow[order], payload[order]
    before = np.cumsum(pay) - pay  # payload sent by earlier packets of the chunk
    first = np.r_[True, fs[1:] != fs[:-1]]
    start = np.maximum.accumulate(np.where(first, np.arange(len(fs)), 0))
    seq_sorted = seq_next[fs] + (before - before[start])
    seq = np.empty_like(seq_sorted)
    seq[order] = seq_sorted
    np.add.at(seq_next, flow, payload)
    return (seq & 0xFFFFFFFF).astype(np.uint32)


# frame mixes: (share of large frames, small frame sizes, VLAN ids or None for any)
MIXES = {
    "default": (0.45, (80, 200), None),   # ~660 bytes a frame on average
    # the speed issue's capture: ~124 bytes a record (10 M packets in ~1.3 GB), 3 VLANs
    "small": (0.025, (80, 100), np.array([10, 20, 30])),
}


def generate(path: Path, packets: int, seed: int = 7, chunk: int = 250_000,
             mix: str = "default") -> None:
    big_share, (lo, hi), vlans = MIXES[mix]
    rng = np.random.default_rng(seed)
    n_flows = max(1000, packets // 100)
    tmpl, lenpos, seqpos = _templates(n_flows, rng, vlans)
    seq_next = rng.integers(0, 2**32, n_flows, dtype=np.int64)
    with open(path, "wb") as f:
        # magic, version 2.4, thiszone, sigfigs, snaplen, linktype Ethernet
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        ts = 1_700_000_000_000_000  # microseconds
        done = 0
        while done < packets:
            n = min(chunk, packets - done)
            flow = (n_flows * rng.random(n) ** 3).astype(np.int64)  # heavy tail
            big = rng.random(n) < big_share
            size = np.where(big, rng.integers(1000, 1515, n), rng.integers(lo, hi, n))
            rec = 16 + size
            off = np.zeros(n, np.int64)
            np.cumsum(rec[:-1], out=off[1:])
            buf = np.zeros(int(rec.sum()), np.uint8)
            stamp = ts + done + np.arange(n)
            hdr = np.empty((n, 4), "<u4")
            hdr[:, 0] = stamp // 1_000_000
            hdr[:, 1] = stamp % 1_000_000
            hdr[:, 2] = size
            hdr[:, 3] = size
            buf[off[:, None] + np.arange(16)] = hdr.view(np.uint8).reshape(n, 16)
            frames = tmpl[flow].copy()
            lp = lenpos[flow]
            iplen = np.where(lp > 0, size - np.where(lp == 20, 18, 14),
                             size - 14 - 40).astype(">u2").view(np.uint8).reshape(n, 2)
            at = np.abs(lp)
            rows = np.arange(n)
            frames[rows, at] = iplen[:, 0]
            frames[rows, at + 1] = iplen[:, 1]
            udp = lp == 20  # VLAN-tagged UDP: its length field at 42
            ulen = (size[udp] - 38).astype(">u2").view(np.uint8).reshape(-1, 2)
            frames[rows[udp], 42] = ulen[:, 0]
            frames[rows[udp], 43] = ulen[:, 1]
            sp = seqpos[flow]
            tcp = sp >= 0
            seq = _tcp_sequence(flow[tcp], (size[tcp] - sp[tcp] - 16).astype(np.int64), seq_next)
            seqb = seq.astype(">u4").view(np.uint8).reshape(-1, 4)
            for k in range(4):
                frames[rows[tcp], sp[tcp] + k] = seqb[:, k]
            buf[off[:, None] + 16 + np.arange(HEADER)] = frames
            f.write(buf.tobytes())
            done += n


# RUSAGE_CHILDREN of a parent that runs nothing else: the command and every descendant
# it waited for (the processes it started and ended itself)
_MEASURE = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
            "p = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
            "w = time.perf_counter() - t; sys.stderr.write(p.stderr); "
            "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
            "print(p.returncode, w, u.ru_maxrss, u.ru_utime + u.ru_stime); "
            "print(p.stdout, end='')")


class Measured(NamedTuple):
    wall: float  #: seconds
    cpu: float  #: user + system seconds of the command and its descendants
    rss: int  #: peak RSS in MB (of the largest process)
    out: str  #: standard output


def measure(cmd: list[str]) -> Measured:
    """A command run and measured by a parent of its own."""
    out = subprocess.run([sys.executable, "-c", _MEASURE, *cmd], capture_output=True,
                         text=True, check=True)
    first, _, rest = out.stdout.partition("\n")
    code, wall, rss_kb, cpu = first.split()
    if code != "0":
        sys.exit(f"{cmd[0]} failed: {out.stderr[-500:]}")
    return Measured(float(wall), float(cpu), int(rss_kb) // 1024, rest)


def run_measured(cmd: list[str]) -> tuple[float, int, str]:
    """(wall seconds, peak RSS in MB, stdout) of a command, measured by a parent of its own."""
    m = measure(cmd)
    return m.wall, m.rss, m.out


def interleaved(runs: dict[str, list[str]], repeat: int,
                run: Callable[[list[str]], Measured] = measure,
                warm: dict[str, list[str]] | None = None) -> dict[str, list[Measured]]:
    """Each command once unmeasured (numba's cache loaded, the files in the page cache;
    ``warm``'s lighter command in its place where given), then ``repeat`` rounds of one
    ``run`` of each in turn (a, b, a, b, ...): a machine whose speed drifts slows them
    alike."""
    for name, cmd in runs.items():
        run((warm or {}).get(name, cmd))
    done: dict[str, list[Measured]] = {k: [] for k in runs}
    for _ in range(repeat):
        for name, cmd in runs.items():
            done[name].append(run(cmd))
    return done


def load_per_core() -> float:
    """The 1-minute load average per core."""
    return os.getloadavg()[0] / (os.cpu_count() or 1)


def refuse_when_busy(max_load: float) -> None:
    """Exit, saying why, when the load average per core is above ``max_load``."""
    if load_per_core() > max_load:
        sys.exit(f"the machine is busy (load average {os.getloadavg()[0]:.2f} on "
                 f"{os.cpu_count()} cores): not judging; try again when it is idle")


def capture_options(description: str) -> argparse.ArgumentParser:
    """The options every benchmark over a generated capture takes."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--packets", type=float, default=6e6)
    ap.add_argument("--capture", type=Path, help="use this capture instead of generating one")
    ap.add_argument("--workdir", type=Path, default=Path(__file__).parent / "out")
    ap.add_argument("--frames", choices=sorted(MIXES), default="default",
                    help="frame mix: default (~660 bytes a frame) or small (~110, 3 VLANs)")
    ap.add_argument("--skip-tshark", action="store_true")
    return ap


def bench_capture(args: argparse.Namespace) -> Path:
    """The capture to measure (generated once per size), read once into the page cache."""
    if args.capture:
        cap = args.capture
    else:
        args.workdir.mkdir(parents=True, exist_ok=True)
        mix = "" if args.frames == "default" else f"-{args.frames}"
        cap = args.workdir / f"bench-{int(args.packets)}{mix}.pcap"
        if not cap.exists():
            t0 = time.perf_counter()
            generate(cap, int(args.packets), mix=args.frames)
            print(f"generated {cap} in {time.perf_counter() - t0:.1f} s")
    subprocess.run(["cat", str(cap)], stdout=subprocess.DEVNULL, check=True)  # warm the cache
    return cap


def main() -> None:
    ap = capture_options(__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="hashscope runs (median reported)")
    args = ap.parse_args()
    cap = bench_capture(args)
    size = cap.stat().st_size

    # in process: the throughput once the compiled code is loaded (a first read of a small
    # capture loads it from numba's cache); the whole process includes that and the imports
    small = str(Path(__file__).parents[1] / "tests/data/tcpdump/ssh.pcap")
    hs = [sys.executable, "-c", (
        "import sys, time; from hashscope import read_flows; read_flows([sys.argv[2]]); "
        "t = time.perf_counter(); r = read_flows([sys.argv[1]]); "
        "d = time.perf_counter() - t; print(r.packets, len(r.flows), d)"), str(cap), small]
    # compile (or load the compiled cache) once, outside the measured runs
    subprocess.run(hs[:3] + [small, small], check=True, capture_output=True)
    runs = []  # the machine may be shared: several runs, the median one is reported
    for _ in range(args.repeat):
        wall, rss, out = run_measured(hs)
        packets, flows, inner = out.split()
        runs.append((wall, rss, int(packets), int(flows), float(inner)))
        print(f"hashscope run: {wall:.2f} s whole process, {float(inner):.2f} s in process, "
              f"peak RSS {rss} MB")
    wall = sorted(r[0] for r in runs)[len(runs) // 2]
    inner = sorted(r[4] for r in runs)[len(runs) // 2]
    rss = max(r[1] for r in runs)
    packets, flows = runs[0][2], runs[0][3]
    rows = [("hashscope read_flows (in process)", inner, None),
            ("hashscope, whole process", wall, rss)]
    if not args.skip_tshark and shutil.which("tshark"):
        tw, trss, _ = run_measured(["tshark", "-n", "-q", "-z", "conv,tcp", "-r", str(cap)])
        rows.append(("tshark -q -z conv,tcp", tw, trss))
    print(f"\ncapture: {cap} ({size / 1e9:.2f} GB, {packets:,} packets, {int(flows):,} flows)"
          f", {os.cpu_count()} cores")
    print(f"{'':36} {'seconds':>9} {'packets/s':>14} {'peak RSS MB':>12}")
    for name, secs, mem in rows:
        print(f"{name:36} {secs:9.2f} {packets / secs:14,.0f} {mem if mem else '':>12}")
    if len(rows) == 3:
        print(f"\nhashscope (whole process) is {rows[2][1] / rows[1][1]:.0f}x tshark's speed")


if __name__ == "__main__":
    main()
