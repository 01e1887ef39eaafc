"""Benchmark: ``hashscope report`` beside ``hashscope analyze`` (and capinfos), on one
generated capture.

    python benchmarks/report.py                      # 6 million packets (read_flows.py's)
    python benchmarks/report.py --packets 1e6 --repeat 5

The two commands run interleaved (analyze, report, analyze, ...), each in a process of its
own with the capture in the page cache, after one run of each has loaded numba's cache;
prints each one's median wall time, peak memory and the ratio report / analyze (the
target: at most 1.5). Refuses to judge on a busy machine (a load average above
``--max-load``). Not a test: it asserts nothing.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from read_flows import bench_capture, capture_options, interleaved, refuse_when_busy, run_measured  # noqa: E402


def main() -> None:
    ap = capture_options(__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="runs of each (median reported)")
    ap.add_argument("--links", default="4")
    ap.add_argument("--max-load", type=float, default=0.7,
                    help="the 1-minute load average per core above which it refuses")
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    cap = bench_capture(args)
    refuse_when_busy(args.max_load)
    hs = [sys.executable, "-m", "hashscope"]
    out = Path(tempfile.mkdtemp(prefix="hashscope-report-bench-"))
    runs = {"analyze": [*hs, "analyze", str(cap), "--links", args.links],
            "report": [*hs, "report", str(cap), "--links", args.links, "-o", str(out)]}
    done = interleaved(runs, args.repeat)
    times = {k: [m.wall for m in v] for k, v in done.items()}
    peaks = {k: max(m.rss for m in v) for k, v in done.items()}
    rows = []
    if shutil.which("capinfos"):
        wall, rss, _ = run_measured(["capinfos", "-c", "-M", str(cap)])
        rows.append(("capinfos -c", wall, rss))
    rows += [(f"hashscope {k} --links {args.links}", statistics.median(v), peaks[k])
             for k, v in times.items()]
    print(f"capture: {cap} ({cap.stat().st_size / 1e6:.0f} MB); median of {args.repeat} "
          "interleaved runs")
    print(f"{'command':42} {'seconds':>8} {'peak MB':>8}")
    for name, wall, rss in rows:
        print(f"{name:42} {wall:8.2f} {rss:8d}")
    ratio = statistics.median(times["report"]) / statistics.median(times["analyze"])
    print(f"report / analyze: {ratio:.2f} (target at most 1.5); each run: "
          + ", ".join(f"{k} " + " ".join(f"{t:.2f}" for t in v) for k, v in times.items()))
    shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
