"""``read_flows`` on a Dask cluster: a local one (``workers``) or a running scheduler's.

Each capture file is one task, :func:`hashscope.flows.read.file_summary`, opened by the
worker that runs it (shared storage, or the files on that worker's host); the summaries are
merged pairwise on the workers (:func:`hashscope.flows.read.merge_summaries`, associative),
in file order, so the result is the in-process one exactly.
"""

from __future__ import annotations

import logging
import os
import struct
import tempfile
from collections.abc import Callable, Sequence

from hashscope.capture.interfaces import files, settings
from hashscope.capture.reader import CaptureReader, ProgressHandler, WarningHandler
from hashscope.errors import HashscopeError
from hashscope.flows.read import FlowResult, FlowSummary, file_summary, merge_summaries

INSTALL = "pip install 'hashscope[dask]'"


class DaskMissing(HashscopeError):
    """--workers or --scheduler without Dask installed."""

    def __init__(self) -> None:
        super().__init__(f"--workers and --scheduler need Dask: {INSTALL}")

    def __reduce__(self):
        return type(self), ()


def _distributed():
    try:
        import distributed
    except ImportError:
        raise DaskMissing() from None
    return distributed


def _one_thread() -> None:
    """One numba thread in this worker process: the cluster's processes are the cores."""
    os.environ["NUMBA_NUM_THREADS"] = "1"
    try:
        import numba

        numba.set_num_threads(1)
    except (ImportError, ValueError):
        pass


def _tiny_pcap(path: str) -> None:
    """A pcap of one Ethernet/IPv4/UDP frame: enough to load every compiled function."""
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28, 0, 0, 64, 17, 0, bytes([10, 0, 0, 1]),
                     bytes([10, 0, 0, 2]))
    frame = bytes(6) + bytes([2, 0, 0, 0, 0, 1]) + b"\x08\x00" + ip + struct.pack(
        "!HHHH", 1000, 2000, 8, 0)
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        f.write(struct.pack("<IIII", 1, 0, len(frame), len(frame)) + frame)


def warm_up() -> int:
    """Load (or compile into numba's cache) the compiled code of a file task, on this
    worker: once per host before the others start, since parallel first compiles of
    numba's cache are known to crash."""
    _one_thread()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "warm-up.pcap")
        _tiny_pcap(path)
        s = merge_summaries(file_summary(path), file_summary(path))
    return s.packets


def summarize(path, extra) -> FlowSummary:
    """The worker's task for one capture file."""
    _one_thread()
    return file_summary(path, extra)


def merge(a: FlowSummary, b: FlowSummary) -> FlowSummary:
    """The worker's task merging two neighbouring summaries."""
    return merge_summaries(a, b)


def cluster_client(workers: int | None = None, scheduler: str | None = None):
    """A ``distributed.Client``: to a new local cluster of ``workers`` processes of one
    thread each, or to the scheduler at ``scheduler`` (tcp://HOST:PORT)."""
    distributed = _distributed()
    if scheduler is not None:
        try:
            return distributed.Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise HashscopeError(f"--scheduler {scheduler}: cannot connect: {exc}") from None
    if workers is None or workers < 1:
        raise HashscopeError("--workers must be at least 1")
    cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1,
                                       processes=True, dashboard_address=None,
                                       silence_logs=logging.CRITICAL,  # errors: ours
                                       env={"NUMBA_NUM_THREADS": "1"})
    return distributed.Client(cluster)


def _warm_up_hosts(client) -> None:
    """:func:`warm_up` on one worker of each host, before any file task."""
    by_host: dict[str, str] = {}
    for address, info in client.scheduler_info(n_workers=-1)["workers"].items():
        by_host.setdefault(info.get("host", address), address)
    if not by_host:
        client.wait_for_workers(1, timeout=60)
        return _warm_up_hosts(client)
    client.gather([client.submit(warm_up, workers=[a], pure=False)
                   for a in by_host.values()])


def read_flows_dask(
    paths: Sequence,
    workers: int | None = None,
    scheduler: str | None = None,
    on_warning: WarningHandler | None = None,
    on_progress: ProgressHandler | None = None,
    on_start: Callable[[int | None], None] | None = None,
) -> FlowResult:
    """:func:`hashscope.read_flows` with one task per capture file on a Dask cluster (see
    :func:`cluster_client`); the same result. Standard input cannot be sent to a worker."""
    capture_files = files(paths)
    if any(str(p) == "-" for p in capture_files):
        raise HashscopeError("standard input (-) cannot be read on --workers or --scheduler")
    distributed = _distributed()
    if on_start:
        on_start(CaptureReader(paths).total_size())
    extra = settings(paths)
    client = cluster_client(workers, scheduler)
    try:
        _warm_up_hosts(client)
        tasks = [client.submit(summarize, p, extra, pure=False) for p in capture_files]
        level = list(tasks)
        while len(level) > 1:  # a balanced tree, neighbours only: file order is kept
            pairs = [client.submit(merge, level[i], level[i + 1], pure=False)
                     for i in range(0, len(level) - 1, 2)]
            level = pairs + level[len(level) - len(level) % 2:]
        if on_progress:
            sizes = {t.key: _size(p) for t, p in zip(tasks, capture_files, strict=True)}
            done = 0
            for t in distributed.as_completed(tasks):
                done += sizes[t.key]
                on_progress(done)
        summary = level[0].result() if level else None
    finally:
        cluster = getattr(client, "cluster", None)
        client.close()
        if cluster is not None:
            cluster.close()
    if summary is None:
        from hashscope.flows.read import empty_summary

        summary = empty_summary()
    result = summary.result()
    for w in result.warnings:
        if on_warning:
            on_warning(w)
    return result


def _size(path) -> int:
    try:
        return os.path.getsize(str(path))
    except OSError:
        return 0
