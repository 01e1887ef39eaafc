"""Classic libpcap files: the 24-byte file header and a compiled record walker.

Both byte orders, microsecond (``a1b2c3d4``) and nanosecond (``a1b23c4d``)
magic. Each record keeps its original (wire) length as well as its captured
length. Layout: https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04.html
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np
from numba import njit

from hashscope.prefetch import prefetch

from .records import BAD_LENGTH, EXHAUSTED, OUT_FULL

HEADER_LEN = 24
RECORD_HEADER_LEN = 16

#: magic as read little-endian -> (byte-swapped?, nanoseconds per fraction unit)
_MAGICS = {
    0xA1B2C3D4: (False, 1000),
    0xA1B23C4D: (False, 1),
    0xD4C3B2A1: (True, 1000),
    0x4D3CB2A1: (True, 1),
}
MAGIC_BYTES = {struct.pack("<I", m) for m in _MAGICS}

#: LINKTYPE values carry FCS information in their upper bits; the link type is the rest.
LINKTYPE_MASK = 0x03FFFFFF


@dataclass
class PcapHeader:
    big_endian: bool
    frac_ns: int
    version: tuple[int, int]
    snaplen: int
    linktype: int
    raw_linktype: int


def parse_header(head: bytes) -> PcapHeader:
    """Parse the 24-byte file header (``head`` must hold at least 24 bytes)."""
    (magic,) = struct.unpack_from("<I", head)
    swapped, frac_ns = _MAGICS[magic]
    e = ">" if swapped else "<"
    major, minor, _tz, _sig, snaplen, linktype = struct.unpack_from(e + "HHiIII", head, 4)
    return PcapHeader(swapped, frac_ns, (major, minor), snaplen, linktype & LINKTYPE_MASK,
                      linktype)


@njit(cache=True, nogil=True)
def u32(buf, pos, big):
    """The 32-bit unsigned field at ``pos`` in the file's byte order (``big``: big-endian),
    as every pcap and pcapng header and block length is stored."""
    if big:
        return (np.uint32(buf[pos]) << 24) | (np.uint32(buf[pos + 1]) << 16) | (
            np.uint32(buf[pos + 2]) << 8) | np.uint32(buf[pos + 3])
    return (np.uint32(buf[pos + 3]) << 24) | (np.uint32(buf[pos + 2]) << 16) | (
        np.uint32(buf[pos + 1]) << 8) | np.uint32(buf[pos])


#: How far ahead of the current record the walkers prefetch. Each record's position
#: depends on the previous record's length, so without this every record header waits
#: for memory; asking for the bytes a page ahead keeps the memory system streaming.
PREFETCH_DISTANCE = 4096


@njit(cache=True, nogil=True, inline="always")
def prefetch_ahead(buf, pos, end):
    """Prefetch the bytes PREFETCH_DISTANCE past ``pos`` (the last byte near the end)."""
    prefetch(buf, min(pos + PREFETCH_DISTANCE, end - 1))


@njit(cache=True, nogil=True)
def walk_pcap(buf, pos, end, big, frac_ns, max_caplen, iface,
              out_off, out_cap, out_wire, out_ts, out_iface):
    """Walk complete records in ``buf[pos:end]``.

    Returns ``(count, pos, status)``; ``pos`` is where the first record not taken
    starts. A caplen above ``max_caplen`` stops with BAD_LENGTH at
    that record, before anything is allocated for it.
    """
    n = 0
    cap_out = out_off.shape[0]
    while pos + 16 <= end:
        if n == cap_out:
            return n, pos, OUT_FULL
        caplen = u32(buf, pos + 8, big)
        if caplen > max_caplen:
            return n, pos, BAD_LENGTH
        if pos + 16 + caplen > end:
            break
        prefetch_ahead(buf, pos, end)
        sec = np.int64(u32(buf, pos, big))
        frac = np.int64(u32(buf, pos + 4, big))
        out_off[n] = pos + 16
        out_cap[n] = caplen
        out_wire[n] = u32(buf, pos + 12, big)
        out_ts[n] = sec * 1000000000 + frac * frac_ns
        out_iface[n] = iface
        n += 1
        pos += 16 + caplen
    return n, pos, EXHAUSTED


def record_length(buf: np.ndarray, pos: int, end: int, big: bool) -> int:
    """Total length of the record at ``pos`` (0 if its header is not all in the buffer)."""
    if pos + RECORD_HEADER_LEN > end:
        return 0
    return RECORD_HEADER_LEN + int(u32(buf, pos + 8, big))
