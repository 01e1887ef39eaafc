"""Linux cooked captures (``tcpdump -i any``): the direction and the real interface of
each frame, from its cooked header, vectorized over a record batch.

Linux cooked v1 (SLL, link type 113) has the packet type as a big-endian 16-bit field at
offset 0 of its 16-byte header; v2 (SLL2, 276) as a byte at offset 10 of its 20-byte
header, and the Linux interface index the frame was on as a big-endian 32-bit field at
offset 4. PACKET_OUTGOING (4) is a frame sent; PACKET_HOST, BROADCAST, MULTICAST and
OTHERHOST (0-3) frames received; other types (5, the kernel's loopback of a sent frame,
and so on) say no direction. A frame too short to hold the whole header says nothing.
"""

from __future__ import annotations

import numpy as np

from hashscope.columns import DIRECTION_RECEIVED, DIRECTION_SENT

#: What an interface's frames carry (:func:`cooked_headers`).
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

#: Largest interface index mapped through a lookup table (larger ones: np.unique).
_TABLE_LIMIT = 1 << 16


def cooked_headers(data: np.ndarray, offset: np.ndarray, caplen: np.ndarray,
                   iface: np.ndarray, kinds: np.ndarray, pending: bool
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The records of a batch whose interfaces are cooked (``kinds``: per registry index,
    NOT_COOKED, SLL or SLL2; ``pending``: interfaces PENDING + k are SLL2_ANY) and hold the
    whole header: (their positions in the batch, their directions, and of those on SLL2_ANY
    interfaces: positions and ifindex)."""
    if pending:
        placeholder = iface >= PENDING
        kind = kinds[np.where(placeholder, 0, iface)]
        kind[placeholder] = SLL2_ANY
    else:
        kind = kinds[iface]
    at = np.flatnonzero(kind)
    if not at.size:
        empty = np.zeros(0, np.int64)
        return empty, np.zeros(0, np.int8), empty, np.zeros(0, np.uint32)
    kind = kind[at]
    v1 = kind == SLL
    whole = caplen[at] >= np.where(v1, SLL_HEADER, SLL2_HEADER)
    if not whole.all():
        at, kind, v1 = at[whole], kind[whole], v1[whole]
    off = offset[at]
    if v1.all():  # a 16-bit type: a high byte other than 0 is a type without direction
        direction = np.where(data[off] == 0, _DIRECTION[data[off + 1]], 0).astype(np.int8)
    elif not v1.any():
        direction = _DIRECTION[data[off + 10]]
    else:
        ptype = np.where(v1, data[off + 1], data[off + 10])
        direction = np.where(v1 & (data[off] != 0), 0, _DIRECTION[ptype]).astype(np.int8)
    anyi = kind == SLL2_ANY
    if anyi.all():
        any_at, o = at, off
    else:
        any_at, o = at[anyi], off[anyi]
    ifindex = ((data[o + 4].astype(np.uint32) << 24) | (data[o + 5].astype(np.uint32) << 16)
               | (data[o + 6].astype(np.uint32) << 8) | data[o + 7].astype(np.uint32))
    return at, direction, any_at, ifindex


def distinct(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct values, each value's position among them): np.unique's answer, by a
    lookup table when the values are small (interface indices are)."""
    if values.size and int(values.max()) < _TABLE_LIMIT:
        present = np.flatnonzero(np.bincount(values))
        table = np.zeros(int(present[-1]) + 1, np.int32)
        table[present] = np.arange(present.size, dtype=np.int32)
        return present.astype(values.dtype), table[values]
    found, where = np.unique(values, return_inverse=True)
    return found, where.astype(np.int32)


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
