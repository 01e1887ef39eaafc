"""``read_flows`` on a Dask cluster (:class:`~.cluster.Cluster`).

Each capture file is one task, :func:`hashscope.flows.read.file_summary`, opened by a
worker of a host that has it; the summaries are merged pairwise on the workers
(:func:`hashscope.flows.read.merge_summaries`, associative), in file order, so the result
is the in-process one exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from hashscope.capture.interfaces import files, settings
from hashscope.capture.reader import ProgressHandler, WarningHandler
from hashscope.flows.read import (
    FlowResult,
    FlowSummary,
    empty_summary,
    file_summary,
    merge_summaries,
)

from .cluster import Cluster, TaskProgress, no_stdin, one_thread


def summarize(path, extra, token: int = -1, cache: str | None = None) -> FlowSummary:
    """The worker's task for one capture file."""
    one_thread()
    return file_summary(path, extra, on_progress=TaskProgress(token), cache=cache)


def _warm(path: str) -> object:
    return merge_summaries(summarize(path, ()), summarize(path, ()))


def read_flows_dask(
    cluster: Cluster,
    paths: Sequence,
    on_warning: WarningHandler | None = None,
    on_progress: ProgressHandler | None = None,
    on_start: Callable[[int | None], None] | None = None,
    cache: str | None = None,
) -> FlowResult:
    """:func:`hashscope.read_flows` with one task per capture file on ``cluster``; the
    same result."""
    capture_files = files(paths)
    no_stdin(capture_files)
    extra = settings(paths)
    where, sizes = cluster.placement(capture_files)
    if on_start:
        on_start(sum(sizes))
    cluster.warm("flows", _warm)
    client = cluster.client
    tasks = [client.submit(summarize, p, extra, k, cache, workers=w, pure=False)
             for k, (p, w) in enumerate(zip(capture_files, where, strict=True))]
    stop = cluster.progress(tasks, sizes, on_progress)
    try:
        last = cluster.tree(tasks, merge_summaries)
        summary = last.result() if last is not None else empty_summary()
    finally:
        stop()
    result = summary.result()
    for w in result.warnings:
        if on_warning:
            on_warning(w)
    return result
