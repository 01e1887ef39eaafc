"""Benchmark: hashscope infer on member captures beside capinfos, on one generated capture.

    python benchmarks/infer.py                        # 6 million packets, 4 members
    python benchmarks/infer.py --packets 1e6 --members 3 --policy layer2+3

The capture (read_flows.py's) is split into one pcap per member by the policy's real
hash (hashscope's own assign, members in a shuffled bond order), then ``hashscope infer``
reads the member files (one process, after a warm-up run that loads numba's cache) and
``capinfos -c`` counts them. Prints seconds, packets per second and peak memory, and
infer's answer. Not a test: it asserts nothing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from numba import njit

sys.path.insert(0, str(Path(__file__).parent))
from read_flows import bench_capture, capture_options, run_measured  # noqa: E402

import hashscope  # noqa: E402

ROOT = Path(__file__).parents[1]


@njit(cache=True)
def _records(data, start):
    """(offset, length) of every record of a little-endian pcap after its header."""
    n = 0
    at = start
    out = np.empty((len(data) // 16 + 1, 2), np.int64)
    while at + 16 <= len(data):
        caplen = (np.int64(data[at + 8]) | np.int64(data[at + 9]) << 8
                  | np.int64(data[at + 10]) << 16 | np.int64(data[at + 11]) << 24)
        if at + 16 + caplen > len(data):
            break
        out[n, 0] = at
        out[n, 1] = 16 + caplen
        n += 1
        at += 16 + caplen
    return out[:n]


@njit(cache=True)
def _gather(data, recs, out):
    at = 0
    for i in range(recs.shape[0]):
        o, ln = recs[i, 0], recs[i, 1]
        out[at:at + ln] = data[o:o + ln]
        at += ln


def split(cap: Path, workdir: Path, policy: str, names: list[str]) -> list[Path]:
    """One pcap per member: each frame where the policy's hash puts it."""
    setup = hashscope.make_setup(links=",".join(names))
    links = np.concatenate([a.link for _, a in hashscope.assign([str(cap)],
                                                                hashscope.get_policy(policy),
                                                                setup)])
    data = np.fromfile(cap, np.uint8)
    recs = _records(data, 24)
    assert len(recs) == len(links), (len(recs), len(links))
    paths = []
    for k, name in enumerate(names):
        mine = recs[links == k]
        out = np.empty(24 + int(mine[:, 1].sum()), np.uint8)
        out[:24] = data[:24]
        _gather(data, mine, out[24:])
        path = workdir / f"{name}.pcap"
        out.tofile(path)
        paths.append(path)
    return paths


def main() -> None:
    ap = capture_options(__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=4)
    ap.add_argument("--policy", default="layer3+4")
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    cap = bench_capture(args)
    names = [f"eth{i}" for i in np.random.default_rng(3).permutation(args.members)]
    parts = args.workdir / f"members-{cap.stem}-{args.policy}-{args.members}"
    parts.mkdir(exist_ok=True)
    files = split(cap, parts, args.policy, names)
    hs = [sys.executable, "-m", "hashscope", "infer", *map(str, files), "--format", "json"]
    subprocess.run(hs[:4] + [str(ROOT / "captures" / "scenarios" / "behind-router" /
                                 "eth0.pcap")], capture_output=True, check=False)
    rows = []
    if shutil.which("capinfos"):
        secs, rss, _ = run_measured(["capinfos", "-c", *map(str, files)])
        rows.append(("capinfos -c", secs, rss))
    secs, rss, out = run_measured(hs)
    rows.append(("hashscope infer", secs, rss))
    answer = json.loads(out) if out.strip().startswith("{") else {}
    total = int(args.packets)
    print(f"{total:,} packets split by {args.policy} over {', '.join(names)} (bond order)")
    print(f"{'command':<20} {'seconds':>8} {'packets/s':>12} {'peak MB':>8}")
    for name, secs, rss in rows:
        print(f"{name:<20} {secs:8.2f} {total / secs:12,.0f} {rss:8d}")
    best = answer.get("best") or {}
    print(f"infer: explained {answer.get('explained')}, best {best.get('policy')} "
          f"{best.get('links')}, args {' '.join(best.get('args', []))}")


if __name__ == "__main__":
    main()
