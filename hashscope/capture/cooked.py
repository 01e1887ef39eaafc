"""Linux cooked captures (``tcpdump -i any``): the direction and the real interface of
each frame, from its cooked header, in one compiled pass over a record batch.

Linux cooked v1 (SLL, link type 113) has the packet type as a big-endian 16-bit field at
offset 0 of its 16-byte header; v2 (SLL2, 276) as a byte at offset 10 of its 20-byte
header, and the Linux interface index the frame was on as a big-endian 32-bit field at
offset 4. PACKET_OUTGOING (4) is a frame sent; PACKET_HOST, BROADCAST, MULTICAST and
OTHERHOST (0-3) frames received; other types (5, the kernel's loopback of a sent frame,
and so on) say no direction. A frame too short to hold the whole header says nothing.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from hashscope.columns import DIRECTION_RECEIVED, DIRECTION_SENT

#: What an interface's frames carry (:func:`read_cooked`).
NOT_COOKED = 0
SLL = 1  #: Linux cooked v1: a packet type
SLL2 = 2  #: Linux cooked v2 on a named interface: a packet type (its ifindex is that one's)
SLL2_ANY = 3  #: Linux cooked v2 of "any": a packet type, and the frame's interface's index

#: The reader's placeholder interface indices (PENDING + k) for the SLL2 interfaces of "any"
#: of the file it reads: no batch leaves the reader with one.
PENDING = 1 << 30

SLL_HEADER = 16
SLL2_HEADER = 20
PACKET_OUTGOING = 4

#: direction per packet type byte
_DIRECTION = np.zeros(256, np.int8)
_DIRECTION[0:4] = DIRECTION_RECEIVED  # PACKET_HOST, BROADCAST, MULTICAST, OTHERHOST
_DIRECTION[PACKET_OUTGOING] = DIRECTION_SENT

DONE = 0  #: :func:`read_cooked`: every record read
NEED_IFINDEX = 1  #: an interface index without a registry index yet
NEED_PENDING = 2  #: a placeholder interface not registered yet


@njit(cache=True, nogil=True)
def read_cooked(data, offset, caplen, iface, direction, start, kinds, pending, table,
                more_ifindex, more_iface):
    """One pass over a record batch from record ``start``: a direction from the packet type
    of each cooked frame whose ``direction`` is unknown, and for the frames of SLL2 "any"
    interfaces (placeholders PENDING + k), the registry index of the interface their
    ifindex names (``table[ifindex]``, or ``more_iface`` where ``more_ifindex`` has it;
    -1: none yet), the placeholder's own (``pending[k]``) for a frame too short to name one.

    ``kinds``: per registry index, NOT_COOKED, SLL or SLL2. Returns (record, DONE or what
    is needed for it: NEED_IFINDEX and the index, NEED_PENDING and k); the caller registers
    it and calls again from that record, which is read again whole.
    """
    n = offset.shape[0]
    for i in range(start, n):
        g = iface[i]
        if g >= PENDING:
            kind = SLL2_ANY
        else:
            kind = kinds[g]
            if kind == NOT_COOKED:
                continue
        p = offset[i]
        if kind == SLL:
            if caplen[i] >= SLL_HEADER and direction[i] == 0 and data[p] == 0:
                direction[i] = _DIRECTION[data[p + 1]]
            continue
        if caplen[i] < SLL2_HEADER:
            if kind == SLL2_ANY:
                r = pending[g - PENDING]
                if r < 0:
                    return i, NEED_PENDING, np.int64(g - PENDING)
                iface[i] = r
            continue
        if direction[i] == 0:
            direction[i] = _DIRECTION[data[p + 10]]
        if kind == SLL2_ANY:
            ifx = (np.int64(data[p + 4]) << 24) | (np.int64(data[p + 5]) << 16) | (
                np.int64(data[p + 6]) << 8) | np.int64(data[p + 7])
            r = -1
            if ifx < table.shape[0]:
                r = table[ifx]
            else:
                for j in range(more_ifindex.shape[0]):
                    if more_ifindex[j] == ifx:
                        r = more_iface[j]
                        break
            if r < 0:
                return i, NEED_IFINDEX, ifx
            iface[i] = r
    return n, DONE, np.int64(0)


class IfindexTable:
    """Registry index per Linux interface index, for :func:`read_cooked`: a table for the
    indices below TABLE_LIMIT (Linux numbers its interfaces from 1 up), a list beyond."""

    TABLE_LIMIT = 1 << 20

    def __init__(self) -> None:
        self.table = np.full(64, -1, np.int32)
        self.more_ifindex = np.zeros(0, np.int64)
        self.more_iface = np.zeros(0, np.int32)

    def set(self, ifindex: int, g: int) -> None:
        if ifindex < self.TABLE_LIMIT:
            if ifindex >= len(self.table):
                size = 1 << int(ifindex).bit_length()
                self.table = np.concatenate([self.table,
                                             np.full(size - len(self.table), -1, np.int32)])
            self.table[ifindex] = g
        else:
            self.more_ifindex = np.append(self.more_ifindex, np.int64(ifindex))
            self.more_iface = np.append(self.more_iface, np.int32(g))


def parse_ifindex(text: str, names: dict[int, str] | None = None) -> dict[int, str]:
    """``3=eth0`` or ``3=eth0,4=eth1`` as {3: "eth0", 4: "eth1"}, added to ``names`` if
    given; ValueError saying what is wrong."""
    names = {} if names is None else names
    for part in text.split(","):
        index, sep, name = part.partition("=")
        index, name = index.strip(), name.strip()
        if not sep or not index or not name:
            raise ValueError(f"{part.strip()!r} is not INDEX=NAME")
        try:
            number = int(index)
        except ValueError:
            raise ValueError(f"{index!r} is not an interface index (a number)") from None
        if not 0 < number < 1 << 32:
            raise ValueError(f"interface index {number} is out of range (1 to 4294967295)")
        if names.get(number, name) != name:
            raise ValueError(f"interface index {number} named twice ({names[number]!r} and "
                             f"{name!r})")
        names[number] = name
    return names
