"""Captures to a flow table: the record walker, the keying and the flow table, pipelined.

>>> from hashscope import read_flows
>>> result = read_flows(["captures/demo.pcap"])      # doctest: +SKIP
>>> result.flows.head()                              # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from hashscope.capture.reader import CaptureReader, ProgressHandler, WarningHandler
from hashscope.capture.records import Interface
from hashscope.errors import CaptureWarning
from hashscope.threads import background

from .table import FlowTable, batch_keys


@dataclass
class FlowResult:
    """The flow table of a set of captures, and what was met on the way."""

    flows: pd.DataFrame
    packets: int  #: packets read
    undecoded: int  #: packets whose link-layer header could not be decoded
    interfaces: list[Interface] = field(default_factory=list)
    warnings: list[CaptureWarning] = field(default_factory=list)


def read_flows(
    paths: Sequence[str],
    on_warning: WarningHandler | None = None,
    on_progress: ProgressHandler | None = None,
    on_start: Callable[[int | None], None] | None = None,
) -> FlowResult:
    """Read captures (pcap, pcapng, compressed, ``-``) into a flow table, largest first.

    Memory is bounded by the read buffer and the number of flows, whatever the
    size of the captures. Raises :class:`hashscope.errors.CaptureError` for an
    unreadable capture.
    """
    reader = CaptureReader(paths, on_warning=on_warning, on_progress=on_progress)
    if on_start:
        on_start(reader.total_size())
    table = FlowTable()
    packets = 0
    # three stages, each in a thread of its own, a few batches apart: walking the records,
    # keying them (decoding only into scratch records: the flow table needs no packet
    # table), and adding them to the flow table here
    keyed = (batch_keys(b, reader.registry.linktypes()) for b in background(reader.batches()))
    for columns in background(keyed):
        packets += len(columns[0])
        table.add_keyed(*columns)
    names = reader.registry.names()
    return FlowResult(table.frame(names), packets, table.undecoded_packets,
                      reader.registry.interfaces, reader.warnings)
