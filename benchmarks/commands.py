"""Benchmark: every hashscope command beside capinfos and tshark, on one generated capture.

    python benchmarks/commands.py                     # 6 million packets (read_flows.py's)
    python benchmarks/commands.py --packets 1e6 --skip-tshark
    python benchmarks/commands.py --capture existing.pcap

Each command runs in a process of its own, measured by a parent of its own (wall time,
peak RSS), after one run on a small capture has loaded (or compiled) numba's cache, with
the capture in the page cache. Prints seconds, packets per second, peak memory and the
rate against ``capinfos -c`` (a C program that only counts records). Not a test: it
asserts nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from read_flows import bench_capture, capture_options, run_measured  # noqa: E402

ROOT = Path(__file__).parents[1]
SMALL = ROOT / "captures" / "two-links-backup.pcapng"


def commands(cap: Path, out: Path) -> list[tuple[str, list[str]]]:
    hs = [sys.executable, "-m", "hashscope"]
    return [
        ("flows --format csv", [*hs, "flows", str(cap), "--format", "csv", "-o",
                                str(out / "flows.csv")]),
        ("analyze -p layer3+4 --links 4", [*hs, "analyze", str(cap), "-p", "layer3+4",
                                           "--links", "4", "--format", "json"]),
        ("analyze -p lagg:l2,l3,l4 --links 3", [*hs, "analyze", str(cap), "-p",
                                                "lagg:l2,l3,l4", "--links", "3", "--format",
                                                "json"]),
        ("compare --links 4", [*hs, "compare", str(cap), "--links", "4", "--format", "json"]),
        ("assign --format csv -o FILE", [*hs, "assign", str(cap), "-p", "layer3+4", "--links",
                                         "4", "--format", "csv", "-o", str(out / "a.csv")]),
        ("assign --format parquet -o FILE", [*hs, "assign", str(cap), "-p", "layer3+4",
                                             "--links", "4", "--format", "parquet", "-o",
                                             str(out / "a.parquet")]),
    ]


def main() -> None:
    args = capture_options(__doc__.splitlines()[0]).parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    cap = bench_capture(args)
    packets = None
    rows = []
    if shutil.which("capinfos"):
        wall, rss, out = run_measured(["capinfos", "-c", "-M", str(cap)])
        packets = int(out.split("Number of packets:")[1].split()[0])
        rows.append(("capinfos -c", wall, rss))
    if not args.skip_tshark and shutil.which("tshark"):
        wall, rss, _ = run_measured(["tshark", "-n", "-q", "-z", "conv,tcp", "-r", str(cap)])
        rows.append(("tshark -q -z conv,tcp", wall, rss))
    for name, cmd in commands(cap, args.workdir):
        small = [str(SMALL) if c == str(cap) else c for c in cmd]
        warm = subprocess.run(small, capture_output=True, text=True)  # load numba's cache
        if warm.returncode != 0:
            print(f"{name}: skipped ({warm.stderr.strip().splitlines()[-1]})")
            continue
        wall, rss, _ = run_measured(cmd)
        rows.append((f"hashscope {name}", wall, rss))
    if packets is None:
        sys.exit("capinfos is needed to count the packets (Debian: wireshark-common)")
    base = packets / rows[0][1]
    print(f"\ncapture: {cap} ({cap.stat().st_size / 1e9:.2f} GB, {packets:,} packets), "
          f"{os.cpu_count()} cores, whole processes")
    print(f"{'':44} {'seconds':>8} {'packets/s':>12} {'peak RSS MB':>12} {'vs capinfos':>12}")
    for name, secs, mem in rows:
        rate = packets / secs
        print(f"{name:44} {secs:8.2f} {rate:12,.0f} {mem:12} {rate / base:11.2f}x")


if __name__ == "__main__":
    main()
