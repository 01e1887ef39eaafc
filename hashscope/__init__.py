"""hashscope: which bond/LAG member every flow of a packet capture takes, and why.

Library API (the ``hashscope`` command is a thin layer over it):

- :func:`read_flows` -- captures to a flow table (pandas), largest first.
- :func:`read_packets`, :func:`packet_tables` -- decoded per-packet header columns.
- :class:`CaptureReader` -- the record walker underneath, for custom pipelines.
"""

from .api import FlowResult, packet_tables, read_flows, read_packets
from .capture import CaptureReader
from .columns import PACKET_DTYPE
from .errors import CaptureError, CaptureWarning, HashscopeError

__all__ = [
    "PACKET_DTYPE",
    "CaptureError",
    "CaptureReader",
    "CaptureWarning",
    "FlowResult",
    "HashscopeError",
    "packet_tables",
    "read_flows",
    "read_packets",
]
__version__ = "0.1.0"
