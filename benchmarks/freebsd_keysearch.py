"""Benchmark: recovering the FreeBSD lagg key from members, 3 and 5 ports, fnv and djb.

    python benchmarks/freebsd_keysearch.py                   # the repository's captures
    python benchmarks/freebsd_keysearch.py --capture a.pcap --ports 3,5,7

Takes real captures (default: captures/two-links-backup.pcapng, the scenario inputs and
the tcpdump subset under tests/data), keeps one row per distinct flow as the hash sees it
(distinct hashed bytes), splits the rows with lagg_hash under a random key and a shuffled
member order, and times search_keys over all 2**32 keys. Prints a table: ports, variant,
rows used, consistent keys (count), whether the true key and the member order came back,
wall and CPU seconds (CPU over all threads). Compiles first, outside the timing. Asserts
nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hashscope import read_packets  # noqa: E402
from hashscope.hashes.freebsd.hashbytes import lagg_hash_bytes  # noqa: E402
from hashscope.hashes.freebsd.keysearch import search_keys, threads  # noqa: E402
from hashscope.hashes.freebsd.mbufhash import lagg_hash  # noqa: E402


def flows(paths: list[Path]) -> np.ndarray:
    """Every readable capture's packets, one row per distinct hashed byte string."""
    tables = []
    for p in paths:
        try:
            tables.append(read_packets([str(p)]))
        except Exception:  # noqa: BLE001 - a corpus file hashscope does not read
            continue
    packets = np.concatenate(tables)
    b, length, valid = lagg_hash_bytes(packets, "l2,l3,l4", "fnv")
    keep = np.flatnonzero(valid)
    _, first = np.unique(np.column_stack([b[keep], length[keep].astype(np.uint8)]), axis=0,
                         return_index=True)
    return packets[np.sort(keep[first])]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--capture", action="append", type=Path,
                    help="capture to take the flows from (repeatable; default: the repo's)")
    ap.add_argument("--ports", default="3,5")
    ap.add_argument("--variants", default="fnv,djb")
    ap.add_argument("--layers", default="l2,l3,l4")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    paths = args.capture or [ROOT / "captures" / "two-links-backup.pcapng",
                             *sorted((ROOT / "captures" / "scenarios").glob("*/input.pcap")),
                             *sorted((ROOT / "tests" / "data" / "tcpdump").glob("*.pcap*"))]
    rows = flows(paths)
    rng = np.random.default_rng(args.seed)
    print(f"{len(rows)} distinct flows from {len(paths)} captures; layers {args.layers}; "
          f"{threads()} threads")
    search_keys(rows[:8], np.zeros(8, np.int64), 3)  # compile (or load) outside the timing
    search_keys(rows[:8], np.zeros(8, np.int64), 3, variant="djb")
    print(f"\n{'ports':>5} {'variant':7} {'rows':>6} {'count':>12} {'keys':>5} {'true key':>9} "
          f"{'order':>6} {'seconds':>8} {'cpu s':>7}")
    for variant in args.variants.split(","):
        for n in map(int, args.ports.split(",")):
            key, perm = int(rng.integers(0, 1 << 32)), rng.permutation(n)
            h, valid = lagg_hash(rows, args.layers, key, variant)
            member = perm[h % np.uint32(n)]
            t0, c0 = time.perf_counter(), time.process_time()
            found = search_keys(rows, member, n, args.layers, variant, limit=1 << 16)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            true = key % n if found.power_of_two else key
            hit = true in found.keys.tolist()
            order = "yes" if (found.order == perm).all() else "other"
            print(f"{n:5} {variant:7} {found.rows_used:6} {found.count:12,} "
                  f"{len(found.keys):5} {'found' if hit else 'no':>9} {order:>6} "
                  f"{wall:8.2f} {cpu:7.2f}")


if __name__ == "__main__":
    main()
