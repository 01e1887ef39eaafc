"""Captures to a flow table: the record walker, the keying and the flow table, pipelined.

>>> from hashscope import read_flows
>>> result = read_flows(["captures/demo.pcap"])      # doctest: +SKIP
>>> result.flows.head()                              # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from hashscope.capture.interfaces import files, settings
from hashscope.capture.names import IfindexNames, NamedCapture
from hashscope.capture.reader import CaptureReader, ProgressHandler, WarningHandler
from hashscope.threads import background

from .summary import (
    FlowResult,
    FlowSummary,
    empty_summary,
    merge_all,
    merge_rows,
    merge_summaries,
    table_summary,
)
from .table import FlowTable, batch_keys

__all__ = ["FlowResult", "FlowSummary", "empty_summary", "file_summary", "merge_all",
           "merge_rows", "merge_summaries", "read_flows", "table_summary"]


def _fold(reader: CaptureReader) -> tuple[FlowTable, int]:
    """The reader's files folded into a flow table; and the packets read."""
    table = FlowTable()
    packets = 0
    # three stages, each in a thread of its own, a few batches apart: walking the records,
    # keying them (decoding only into scratch records: the flow table needs no packet
    # table), and adding them to the flow table here
    keyed = (batch_keys(b, reader.registry.linktypes()) for b in background(reader.batches()))
    for columns in background(keyed):
        packets += len(columns[0])
        table.add_keyed(*columns)
    return table, packets


def file_summary(path: str | NamedCapture, extra: Sequence[IfindexNames] = (),
                 on_warning: WarningHandler | None = None,
                 on_progress: ProgressHandler | None = None,
                 cache: str | None = None) -> FlowSummary:
    """Read ONE capture file (or ``-``) into its :class:`FlowSummary`: its flows, counts,
    interfaces (by name, in its own order) and warnings. ``extra``: the run's
    :class:`IfindexNames`; ``cache``: a directory keeping each file's summary
    (:mod:`.cache`). Raises :class:`hashscope.errors.CaptureError` for an unreadable
    capture."""
    from .cache import cached, flow_cache

    def read() -> FlowSummary:
        reader = CaptureReader([path, *extra], on_warning=on_warning, on_progress=on_progress)
        table, packets = _fold(reader)
        size = reader.total_size() or 0
        return table_summary(table, reader.registry.interfaces, packets, reader.warnings,
                             size)

    return cached(flow_cache(cache, extra), path, read, lambda s: s, on_warning, on_progress)


def read_flows(
    paths: Sequence[str | NamedCapture | IfindexNames],
    on_warning: WarningHandler | None = None,
    on_progress: ProgressHandler | None = None,
    on_start: Callable[[int | None], None] | None = None,
    cache: str | None = None,
) -> FlowResult:
    """Read captures (pcap, pcapng, compressed, ``-``) into a flow table, largest first.

    Memory is bounded by the read buffer and the number of flows, whatever the
    size of the captures. Raises :class:`hashscope.errors.CaptureError` for an
    unreadable capture.

    Several files are read one by one into a :func:`file_summary` each, merged by
    :func:`merge_all`: what a cluster does too (:mod:`hashscope.distributed`).
    ``cache``: a directory keeping each file's summary (:mod:`.cache`).
    """
    if on_start:
        on_start(CaptureReader(paths).total_size())
    extra = settings(paths)
    return merge_all(_summaries(files(paths), extra, on_warning, on_progress, cache)).result()


def _summaries(paths, extra, on_warning, on_progress, cache) -> Iterable[FlowSummary]:
    """Each file's summary in turn, the progress counted over all of them."""
    done = 0
    for path in paths:
        report = None
        if on_progress:
            def report(n: int, done: int = done) -> None:
                on_progress(done + n)
        summary = file_summary(path, extra, on_warning, report, cache)
        done += summary.size if summary.size else 0
        yield summary
