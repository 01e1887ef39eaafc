"""Captures to decoded packet tables (:data:`hashscope.columns.PACKET_DTYPE`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import numpy as np

from hashscope.capture.reader import CaptureReader, WarningHandler
from hashscope.columns import PACKET_DTYPE

from .packets import decode


def packet_tables(reader: CaptureReader) -> Iterator[np.ndarray]:
    """Decoded packet tables (:data:`hashscope.columns.PACKET_DTYPE`), batch by batch."""
    for batch in reader.batches():
        yield decode(batch, reader.registry.linktypes())


def read_packets(paths: Sequence[str], on_warning: WarningHandler | None = None,
                 ifindex: Mapping[int, str] | None = None) -> np.ndarray:
    """All packets of the captures as one table (for small captures; see packet_tables).

    ``ifindex``: the names of Linux interface indices, as :class:`CaptureReader` takes."""
    reader = CaptureReader(paths, on_warning=on_warning, ifindex=ifindex)
    tables = list(packet_tables(reader))
    return np.concatenate(tables) if tables else np.zeros(0, dtype=PACKET_DTYPE)
