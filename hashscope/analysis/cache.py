"""What ``--cache DIR`` keeps of a file for an analysis (:mod:`hashscope.flows.cache`):
besides its flows, per policy and key the members each flow used (a column each), and in
the metadata the loads per member, the bytes over time and what the file says.

Not cached: member captures (one summary of every file, joined in time order) and runs
with a policy whose members depend on the order of the frames (a file's members then
depend on every file before it).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from hashscope.capture.pcapng import SectionText
from hashscope.flows.cache import (
    SummaryCache,
    column,
    options_key,
    read_table,
    summary_columns,
    summary_from,
    write_table,
)

from .parts import LoadPart, Part, grown
from .timeline import TimeBins


def part_cache(directory: str | Path, *options) -> SummaryCache:
    return SummaryCache(directory, options_key("analyze", *options), save_part, load_part)


def save_part(part: Part, at: Path) -> None:
    if part.members is not None:
        raise ValueError("member captures are not cached")
    cols, flows = summary_columns(part.flows)
    n = len(part.flows.keys)
    for i, keys in enumerate(part.loads):
        for k, ld in enumerate(keys):
            if ld.flow_links is not None:
                cols[f"links_{i}_{k}"] = grown(ld.flow_links, n)
    b = part.bins
    write_table(at, cols, {
        "flows": flows, "sent": [part.sent_packets, part.sent_bytes],
        "observed": [x.tolist() for x in part.observed],
        "loads": [[[ld.packets.tolist(), ld.bytes.tolist(), ld.unknown_packets,
                    ld.unknown_bytes, ld.flow_links is not None] for ld in keys]
                  for keys in part.loads],
        "bins": None if b is None else [list(b.names), b.width, b.lo, b.counts.tolist()],
        "snapped": part.snapped, "interface_stats": part.interface_stats,
        "sections": [dataclasses.asdict(s) for s in part.sections],
        "descriptions": part.descriptions, "interface_comments": part.interface_comments,
        "files": [[p, list(n)] for p, n in part.files], "assumptions": list(part.assumptions),
        "span": part.span})


def load_part(at: Path) -> Part:
    table, meta = read_table(at)
    loads = [[LoadPart(np.array(p, np.int64), np.array(b, np.int64), up, ub,
                       column(table, f"links_{i}_{k}", np.uint64).copy() if tracked else None)
              for k, (p, b, up, ub, tracked) in enumerate(keys)]
             for i, keys in enumerate(meta["loads"])]
    bins = None
    if meta["bins"] is not None:
        names, width, lo, counts = meta["bins"]
        bins = TimeBins(names)
        bins.width, bins.lo = width, lo
        bins.counts = np.array(counts, np.int64).reshape(len(names), -1)
    return Part(summary_from(table, meta["flows"]), meta["sent"][0], meta["sent"][1],
                tuple(np.array(x, np.int64) for x in meta["observed"]), loads, bins,
                meta["snapped"], meta["interface_stats"],
                tuple(SectionText(**{**s, "comments": tuple(s["comments"])})
                      for s in meta["sections"]),
                meta["descriptions"],
                {k: tuple(v) for k, v in meta["interface_comments"].items()},
                tuple((p, tuple(n)) for p, n in meta["files"]), tuple(meta["assumptions"]),
                None, tuple(meta["span"]) if meta["span"] is not None else None)
