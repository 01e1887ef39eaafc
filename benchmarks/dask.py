"""Benchmark: one Dask worker against two, on a CPU-bound run over a ring buffer of files.

    python benchmarks/dask.py                 # 2 million packets in 24 files, 1024 keys
    python benchmarks/dask.py --keys 256      # less hashing: the fixed start counts more
    python benchmarks/dask.py --gzip          # the same ring, each file gzip-compressed
    python benchmarks/dask.py --packets 1e6 --files 16 --repeat 5

Splits a generated capture (read_flows.py's) with ``editcap -c`` into a ring buffer
(cached in --workdir), then runs ``hashscope analyze RING... -p lagg:l3,l4 --links 3
--keys K -f json`` in process, with ``--workers 1`` and with ``--workers 2``: each in a
process of its own, first once unmeasured with ``--keys 1`` (numba's cache loaded, the
files in the page cache), then interleaved --repeat times. Prints the median wall time
of each, the CPU seconds (user + system, the Dask workers included) of every run, the
speed-up of two workers over one (the target: at least 1.7 on two cores), each round's
own speed-up (the two runs next to each other in time: this machine's speed drifts by a
fifth within minutes) and whether the three outputs are the same to the byte.

The workload: FreeBSD's lagg hash without --seed hashes each file's header signatures
with every one of --keys random keys (7 lagg policies: the bond's and the others its
findings compare), on the worker that reads the file. A 1-worker run uses 1.07 CPU
seconds a wall second: the reader's pipeline threads and the client take the second
core's spare time, which two workers have to share. What more workers do not shorten:
the client's imports, the cluster's start, the last file of the slower worker, the last
merges and closing the cluster, about 4 s. With 1024 keys the hashing is most of a run
(90 s with one worker); with 256 keys it is 20 s and those 4 s count more.

Refuses to start on a busy machine (a load average per core above --max-load); while it
runs, /proc/stat tells the CPU the rest of the machine used beside each run, and a result
is marked unreliable when that rose above --max-load of each core. Not a test: it
asserts nothing.
"""

from __future__ import annotations

import gzip
import math
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from read_flows import (  # noqa: E402
    Measured,
    bench_capture,
    capture_options,
    interleaved,
    measure,
    refuse_when_busy,
)


def ring(cap: Path, workdir: Path, files: int, compress: bool) -> list[Path]:
    """The capture split into ``files`` files by ``editcap -c`` (once: kept in workdir)."""
    if not (shutil.which("editcap") and shutil.which("capinfos")):
        sys.exit("editcap or capinfos not found: they split the capture into a ring buffer "
                 "(apt-get install wireshark-common)")
    workdir.mkdir(parents=True, exist_ok=True)
    folder = workdir / f"ring-{cap.stem}-{files}{'-gz' if compress else ''}"
    if not folder.exists():
        part = folder.with_name(folder.name + ".partial")
        shutil.rmtree(part, ignore_errors=True)
        part.mkdir()
        packets = int(subprocess.run(["capinfos", "-c", "-M", "-T", "-r", str(cap)],
                                     capture_output=True, text=True, check=True
                                     ).stdout.split()[-1])
        subprocess.run(["editcap", "-F", "pcap", "-c", str(math.ceil(packets / files)),
                        str(cap), str(part / "ring.pcap")], check=True)
        if compress:
            for f in sorted(part.glob("*.pcap")):
                with open(f, "rb") as src, gzip.open(f"{f}.gz", "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
                f.unlink()
        part.rename(folder)
    paths = sorted(folder.glob("ring_*"))
    for f in paths:  # into the page cache
        subprocess.run(["cat", str(f)], stdout=subprocess.DEVNULL, check=True)
    return paths


def busy_seconds() -> float:
    """CPU seconds the whole machine has used since it started (/proc/stat)."""
    with open("/proc/stat") as f:
        user, nice, system, _idle, _iowait, irq, softirq, steal = map(
            int, f.readline().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    ap = capture_options(__doc__.splitlines()[0])
    ap.set_defaults(packets=2e6)
    ap.add_argument("--files", type=int, default=24, help="files of the ring buffer")
    ap.add_argument("--gzip", action="store_true", help="the ring's files gzip-compressed")
    ap.add_argument("--keys", default="1024", help="random keys hashed (analyze --keys)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each (median reported)")
    ap.add_argument("--max-load", type=float, default=0.7,
                    help="the 1-minute load average per core above which it refuses")
    args = ap.parse_args()
    paths = ring(bench_capture(args), args.workdir, args.files, args.gzip)
    refuse_when_busy(args.max_load)
    cores = os.cpu_count() or 1

    def commands(keys: str) -> dict[str, list[str]]:
        # -P: not this folder on the path, where this script would be imported as dask
        cmd = [sys.executable, "-P", "-m", "hashscope", "analyze", *map(str, paths),
               "-p", "lagg:l3,l4", "--links", "3", "--keys", keys, "-f", "json"]
        return {"in process": cmd, "--workers 1": [*cmd, "--workers", "1"],
                "--workers 2": [*cmd, "--workers", "2"]}

    runs = commands(args.keys)
    others: list[float] = []  # per run: the CPU the rest of the machine used, per core

    def watched(c: list[str]) -> Measured:
        before = busy_seconds()
        m = measure(c)
        others.append(max(0.0, busy_seconds() - before - m.cpu) / m.wall / cores)
        return m

    done = interleaved(runs, args.repeat, watched, warm=commands("1"))
    wall = {k: statistics.median(m.wall for m in v) for k, v in done.items()}
    size = sum(p.stat().st_size for p in paths)
    print(f"ring: {len(paths)} files of {paths[0].parent} ({size / 1e6:.0f} MB), "
          f"{cores} cores; median of {args.repeat} interleaved runs")
    print(f"hashscope analyze RING... -p lagg:l3,l4 --links 3 --keys {args.keys} -f json")
    print(f"{'':14} {'median wall s':>13} {'CPU s of each run':>22} {'peak MB':>8}")
    for name, ms in done.items():
        print(f"{name:14} {wall[name]:13.2f} {' '.join(f'{m.cpu:6.1f}' for m in ms):>22} "
              f"{max(m.rss for m in ms):8d}")
    print(f"speed-up, --workers 1 / --workers 2: {wall['--workers 1'] / wall['--workers 2']:.2f}"
          f" (target at least 1.7 on this {cores}-core machine)")
    pairs = [a.wall / b.wall for a, b in zip(done["--workers 1"], done["--workers 2"],
                                                 strict=True)]
    print("each round's speed-up (its --workers 1 run / the --workers 2 run after it): "
          + " ".join(f"{r:.2f}" for r in pairs) + f"; median {statistics.median(pairs):.2f}")
    one = done["--workers 1"]
    print(f"--workers 1: {statistics.median(m.cpu / m.wall for m in one):.2f} CPU s a wall s "
          "(the worker's counted: without it, the client's alone, far below 1)")
    print("each run's wall s: " + "; ".join(
        f"{k} " + " ".join(f"{m.wall:.2f}" for m in v) for k, v in done.items()))
    outs = {m.out for v in done.values() for m in v}
    print("outputs: " + ("the same to the byte" if len(outs) == 1 else
                         f"{len(outs)} different ones among the runs"))
    worst = max(others[len(runs):])  # the unmeasured runs left out
    print(f"the rest of the machine used at most {worst:.2f} of each core beside a run: "
          + ("unreliable, it was busy" if worst > args.max_load else "quiet enough"))


if __name__ == "__main__":
    main()
