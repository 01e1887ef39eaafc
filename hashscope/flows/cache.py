"""``--cache DIR``: each capture file's summary kept as one Parquet file, so that a growing
ring buffer re-reads only its new files.

An entry is named by the SHA-256 of the file's absolute path, size and modification
time, hashscope's version and the run's options (for an analysis: the policies, keys and
bond set-up); anything else gives another name. The flows are the table's rows (flow key
words, packets, bytes, first and last time, interface bits); the rest, small, is JSON in
the Parquet metadata. Entries are written to a temporary file and renamed: a reader never
sees half an entry. An entry that cannot be read is read again from the capture (and
written anew). :mod:`hashscope.analysis.cache` adds what an analysis keeps per file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from hashscope.capture.records import Interface
from hashscope.errors import CaptureWarning, HashscopeError

from .summary import FlowSummary

META = b"hashscope"
STATS = ("packets", "bytes", "first_ns", "last_ns")


def _canonical(x):
    """``x`` (dataclasses, sets, tuples) as JSON-able data, the same in every process."""
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return {f.name: _canonical(getattr(x, f.name)) for f in dataclasses.fields(x)
                if f.name != "make"}
    if isinstance(x, (set, frozenset)):
        return sorted(_canonical(v) for v in x)
    if isinstance(x, (list, tuple)):
        return [_canonical(v) for v in x]
    if isinstance(x, dict):
        return {str(k): _canonical(v) for k, v in sorted(x.items(), key=lambda kv: str(kv[0]))}
    if isinstance(x, (str, int, float, bool)) or x is None:
        return x
    return repr(x)


def options_key(*options) -> str:
    """The run's options and hashscope's version, as part of an entry's name."""
    try:
        installed = version("hashscope")
    except PackageNotFoundError:
        installed = "unknown"
    return json.dumps([installed, _canonical(options)], sort_keys=True, default=str)


class SummaryCache:
    """The entries of one directory for one run's options; ``save(obj, at)`` and
    ``load(at)`` write and read one."""

    def __init__(self, directory: str | Path, options: str, save: Callable, load: Callable):
        self.dir, self.options, self.save, self.load = Path(directory), options, save, load
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HashscopeError(f"--cache {directory}: {exc.strerror or exc}") from None

    def entry(self, path) -> Path | None:
        """The entry of capture ``path`` as it is now (None: not a file to cache)."""
        name = str(path)
        if name == "-":
            return None
        try:
            st = os.stat(name)
        except OSError:
            return None
        key = json.dumps([os.path.abspath(name), st.st_size, st.st_mtime_ns, self.options])
        return self.dir / (hashlib.sha256(key.encode()).hexdigest() + ".parquet")

    def get(self, path):
        """The cached summary of ``path``, if any (and readable)."""
        at = self.entry(path)
        if at is None or not at.exists():
            return None
        try:
            return self.load(at)
        except Exception:  # noqa: BLE001 -- a damaged entry is read again from the capture
            return None

    def put(self, path, obj) -> None:
        """Keep ``obj`` as the entry of ``path`` (atomically; silently not on failure:
        the cache only saves time)."""
        at = self.entry(path)
        if at is None:
            return
        fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=".entry-", suffix=".parquet")
        os.close(fd)
        try:
            self.save(obj, Path(tmp))
            os.replace(tmp, at)
        except OSError:
            Path(tmp).unlink(missing_ok=True)


def cached(cache: SummaryCache | None, path, read: Callable, summary_of: Callable,
           on_warning=None, on_progress=None):
    """``read()`` for capture ``path`` (a summary, or a tuple whose first item is one;
    ``summary_of`` gives its FlowSummary), or its cache entry: then its warnings are told
    again and its size is counted as read."""
    if cache is not None and (got := cache.get(path)) is not None:
        s = summary_of(got)
        for w in s.warnings:
            if on_warning:
                on_warning(w)
        if on_progress:
            on_progress(s.size)
        return got
    got = read()
    if cache is not None:
        cache.put(path, got)
    return got


def write_table(at: Path, columns: dict, meta: dict) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(columns).replace_schema_metadata({META: json.dumps(meta).encode()})
    pq.write_table(table, at)


def read_table(at: Path):
    """(the table, its metadata)."""
    import pyarrow.parquet as pq

    table = pq.read_table(at)
    return table, json.loads(table.schema.metadata[META])


def column(table, name: str, dtype) -> np.ndarray:
    return table.column(name).to_numpy().astype(dtype, copy=False)


def summary_columns(f: FlowSummary) -> tuple[dict, dict]:
    """A summary as table columns and metadata."""
    cols = {f"key{j}": f.keys[:, j] for j in range(f.keys.shape[1])}
    cols.update({name: f.stats[:, j] for j, name in enumerate(STATS)})
    cols.update({f"ifmask{j}": f.ifmask[:, j] for j in range(f.ifmask.shape[1])})
    meta = {"key_words": f.keys.shape[1], "mask_words": f.ifmask.shape[1],
            "interfaces": [dataclasses.asdict(i) for i in f.interfaces],
            "packets": f.packets, "undecoded": f.undecoded, "size": f.size,
            "warnings": [[w.path, w.offset, w.message] for w in f.warnings]}
    return cols, meta


def summary_from(table, m: dict) -> FlowSummary:
    n = table.num_rows
    keys = np.empty((n, m["key_words"]), np.uint64)
    for j in range(m["key_words"]):
        keys[:, j] = column(table, f"key{j}", np.uint64)
    stats = np.empty((n, 4), np.int64)
    for j, name in enumerate(STATS):
        stats[:, j] = column(table, name, np.int64)
    ifmask = np.empty((n, m["mask_words"]), np.uint64)
    for j in range(m["mask_words"]):
        ifmask[:, j] = column(table, f"ifmask{j}", np.uint64)
    return FlowSummary(keys, stats, ifmask, [Interface(**i) for i in m["interfaces"]],
                       m["packets"], m["undecoded"],
                       [CaptureWarning(*w) for w in m["warnings"]], m["size"])


def save_summary(f: FlowSummary, at: Path) -> None:
    cols, meta = summary_columns(f)
    write_table(at, cols, {"flows": meta})


def load_summary(at: Path) -> FlowSummary:
    table, meta = read_table(at)
    return summary_from(table, meta["flows"])


def flow_cache(directory: str | Path | None, extra) -> SummaryCache | None:
    """The cache of ``hashscope flows`` (None: no --cache)."""
    if directory is None:
        return None
    return SummaryCache(directory, options_key("flows", list(extra)), save_summary,
                        load_summary)
