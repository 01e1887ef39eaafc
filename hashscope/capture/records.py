"""Record batches and the interface registry shared by the pcap and pcapng walkers.

A *record* is one captured packet: where its bytes start in the current
buffer, its captured and original (wire) length, its timestamp in
nanoseconds since the epoch, the capture interface it was seen on and the direction it
went (:data:`hashscope.columns.DIRECTION_UNKNOWN`, ``_RECEIVED``, ``_SENT``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Walker status codes (returned by the compiled walkers).
EXHAUSTED = 0  #: no further complete record in the buffer: read more
OUT_FULL = 1  #: the output arrays are full: call again
BAD_LENGTH = 2  #: a length field is impossible (absurd, or larger than the block)
NEED_PYTHON = 3  #: a block the Python side handles (pcapng SHB/IDB) starts at pos
BAD_INTERFACE = 4  #: a packet names an interface that was never described
BAD_TRAILER = 5  #: a pcapng block's trailing length differs from its leading one

#: Records per batch at most (bounds the per-batch column memory).
BATCH_RECORDS = 1 << 14

#: Largest record accepted, whatever a header claims (libpcap uses 256 KiB for
#: most link types and 16 MiB as the largest pcapng block).
MAX_RECORD = 16 << 20


@dataclass
class Interface:
    """A capture interface: a pcap file, or a pcapng Interface Description Block."""

    name: str
    linktype: int
    snaplen: int
    file: str
    description: str = ""
    #: raw LINKTYPE value including FCS bits, for messages
    raw_linktype: int = 0
    #: the Linux interface index of an interface made from the frames of a Linux cooked v2
    #: capture of "any" (each frame names its interface's index), else None
    ifindex: int | None = None


@dataclass
class InterfaceRegistry:
    """Every interface of one run, numbered 0.. in order of first appearance.

    Interfaces with the same name and link type in several files (a tshark
    ring buffer) are one interface; unnamed ones are told apart by file.
    """

    interfaces: list[Interface] = field(default_factory=list)
    _index: dict[tuple[str, int], int] = field(default_factory=dict)

    def add(self, iface: Interface) -> int:
        key = (iface.name, iface.linktype)
        found = self._index.get(key)
        if found is not None:
            return found
        self.interfaces.append(iface)
        self._index[key] = len(self.interfaces) - 1
        return len(self.interfaces) - 1

    def linktypes(self) -> np.ndarray:
        return np.array([i.linktype for i in self.interfaces] or [0], dtype=np.int32)

    def names(self) -> list[str]:
        return [i.name for i in self.interfaces]


@dataclass
class RecordBatch:
    """Up to BATCH_RECORDS records whose bytes are in ``data``.

    ``data`` is the buffer the records were walked in; the reader never overwrites
    it, so a batch stays valid while later ones are read (memory: keep few in flight).
    """

    data: np.ndarray  #: uint8 buffer holding the packets
    offset: np.ndarray  #: int64, where each packet's bytes start in data
    caplen: np.ndarray  #: uint32, captured length
    wirelen: np.ndarray  #: uint32, original length on the wire
    ts_ns: np.ndarray  #: int64, nanoseconds since 1970
    iface: np.ndarray  #: int32, index into the InterfaceRegistry
    #: int8, DIRECTION_UNKNOWN (0), DIRECTION_RECEIVED (1) or DIRECTION_SENT (2): from
    #: pcapng epb_flags, else from a Linux cooked capture's packet type
    direction: np.ndarray

    def __len__(self) -> int:
        return len(self.offset)


def empty_outputs(n: int) -> tuple[np.ndarray, ...]:
    """Output arrays for a walker: offset, caplen, wirelen, ts_ns, iface, direction (zeros:
    the pcap walker leaves it unknown)."""
    return (
        np.empty(n, np.int64),
        np.empty(n, np.uint32),
        np.empty(n, np.uint32),
        np.empty(n, np.int64),
        np.empty(n, np.int32),
        np.zeros(n, np.int8),
    )
