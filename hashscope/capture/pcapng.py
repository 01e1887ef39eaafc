"""pcapng files: Section Header and Interface Description Blocks, and a compiled
walker over the packet blocks (Enhanced, Simple and obsolete Packet Blocks) that also
takes the counters of Interface Statistics Blocks.

Every section has its own byte order and its own interfaces; every interface
its own link type, snapshot length, ``if_name``, ``if_tsresol`` and
``if_tsoffset``. Layout: https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from .pcap import LINKTYPE_MASK, prefetch_ahead, u32
from .records import (
    BAD_INTERFACE,
    BAD_LENGTH,
    BAD_TRAILER,
    EXHAUSTED,
    MAX_RECORD,
    NEED_PYTHON,
    OUT_FULL,
)

SHB = 0x0A0D0D0A
IDB = 0x00000001
PB = 0x00000002  # obsolete Packet Block
SPB = 0x00000003
ISB = 0x00000005
EPB = 0x00000006
BYTE_ORDER_MAGIC = 0x1A2B3C4D
MAGIC_BYTES = {b"\x0a\x0d\x0d\x0a"}

OPT_ENDOFOPT = 0
OPT_COMMENT = 1
IF_NAME = 2
IF_DESCRIPTION = 3
IF_TSRESOL = 9
IF_TSOFFSET = 14
EPB_FLAGS = 2  # Enhanced Packet Block option: 32 bits, bits 0-1 the direction
SHB_HARDWARE = 2
SHB_OS = 3
SHB_USERAPPL = 4

#: The Interface Statistics Block counters kept, by option code (4..8), each a u64.
ISB_COUNTERS = {4: "ifrecv", 5: "ifdrop", 6: "filteraccept", 7: "osdrop", 8: "usrdeliv"}
ISB_FIRST = 4  #: the option code of the first of them (column 0 of the walker's counters)
ISB_COUNT = len(ISB_COUNTERS)
ISB_SEEN = 1 << ISB_COUNT  #: mask bit: the interface has had a well-formed ISB

#: Text a capture carries (comments, descriptions, SHB hardware/os/userappl) is kept up to
#: this many characters a string ...
MAX_TEXT = 1024
#: ... and up to this many comments (SHB and IDB comments) and sections a file.
MAX_COMMENTS = 16
MAX_SECTIONS = 16


def option_text(value: bytes) -> str:
    """An option's UTF-8 string (undecodable bytes replaced, trailing NULs dropped), cut to
    MAX_TEXT characters."""
    return value[: 4 * MAX_TEXT].decode("utf-8", "replace").rstrip("\x00")[:MAX_TEXT]


@dataclass(frozen=True)
class SectionText:
    """What a pcapng Section Header Block says about the capture: its comments (each
    ``opt_comment``, in order; at most MAX_COMMENTS a file together with the interfaces'
    comments) and ``shb_hardware``, ``shb_os``, ``shb_userappl`` (None when absent). Each
    string is decoded as UTF-8 with replacement characters and cut to MAX_TEXT
    characters: it is the capture's text, not to be trusted (escape it for any output)."""

    path: str
    comments: tuple[str, ...] = ()
    hardware: str | None = None
    os: str | None = None
    userappl: str | None = None


@dataclass
class InterfaceTiming:
    """How to turn an interface's timestamp ticks into nanoseconds."""

    mul: int = 1000  # ticks * mul // div, for decimal resolutions
    div: int = 1
    shift: int = -1  # binary resolution 2**-shift when >= 0
    offset_ns: int = 0

    @classmethod
    def from_tsresol(cls, tsresol: int, tsoffset_s: int) -> InterfaceTiming:
        exp = tsresol & 0x7F
        if tsresol & 0x80:
            return cls(1, 1, exp, tsoffset_s * 1_000_000_000)
        if exp <= 9:
            return cls(10 ** (9 - exp), 1, -1, tsoffset_s * 1_000_000_000)
        return cls(1, 10 ** min(exp - 9, 18), -1, tsoffset_s * 1_000_000_000)


@dataclass
class Section:
    """The state of the current section: byte order and its interfaces."""

    big_endian: bool
    ifaces: list[int] = field(default_factory=list)  # registry index per IDB
    snaplens: list[int] = field(default_factory=list)
    timing: list[InterfaceTiming] = field(default_factory=list)
    names: list[str] = field(default_factory=list)  # the reader's name of each interface
    #: the counters of each interface's last well-formed ISB (columns: ISB_COUNTERS), and
    #: which of them it had (bits 0.., ISB_SEEN), filled in by the walker
    isb_values: np.ndarray = field(default_factory=lambda: np.zeros((1, ISB_COUNT),
                                                                    np.uint64))
    isb_mask: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int64))

    def statistics(self) -> dict[str, dict[str, int]]:
        """The counters of the last ISB of each interface that had one, by name."""
        found: dict[str, dict[str, int]] = {}
        for i, name in enumerate(self.names):
            m = int(self.isb_mask[i])
            if m & ISB_SEEN:
                found[name] = {what: int(self.isb_values[i, k])
                               for k, what in enumerate(ISB_COUNTERS.values()) if m >> k & 1}
        return found

    def arrays(self) -> tuple[np.ndarray, ...]:
        """Per-interface arrays for the compiled walker (the ISB counters are kept)."""
        n = max(len(self.ifaces), 1)
        if len(self.isb_mask) < n:
            grown = np.zeros((n, ISB_COUNT), np.uint64)
            grown[: len(self.isb_mask)] = self.isb_values
            mask = np.zeros(n, np.int64)
            mask[: len(self.isb_mask)] = self.isb_mask
            self.isb_values, self.isb_mask = grown, mask
        glob = np.zeros(n, np.int32)
        snap = np.zeros(n, np.int64)
        mul = np.ones(n, np.int64)
        div = np.ones(n, np.int64)
        shift = np.full(n, -1, np.int64)
        off = np.zeros(n, np.int64)
        for i, g in enumerate(self.ifaces):
            glob[i] = g
            snap[i] = self.snaplens[i]
            t = self.timing[i]
            mul[i], div[i], shift[i], off[i] = t.mul, t.div, t.shift, t.offset_ns
        return glob, snap, mul, div, shift, off, self.isb_values, self.isb_mask


def block_header(buf: np.ndarray, pos: int, end: int, big: bool) -> tuple[int, int] | None:
    """(type, total length) of the block at pos, or None if not all 8 bytes are there."""
    if pos + 8 > end:
        return None
    return int(u32(buf, pos, big)), int(u32(buf, pos + 4, big))


def parse_shb(block: bytes) -> tuple[bool, int]:
    """Byte order and total length of a Section Header Block (at least 12 bytes)."""
    (bom,) = struct.unpack_from("<I", block, 8)
    if bom == BYTE_ORDER_MAGIC:
        big = False
    elif bom == struct.unpack("<I", struct.pack(">I", BYTE_ORDER_MAGIC))[0]:
        big = True
    else:
        raise ValueError(f"bad byte-order magic 0x{bom:08x} in section header")
    (length,) = struct.unpack_from(">I" if big else "<I", block, 4)
    return big, length


def iter_options(body: bytes, big: bool) -> Iterator[tuple[int, bytes]]:
    """The options of a block body as (code, value), in order, repeated ones too."""
    e = ">" if big else "<"
    pos = 0
    while pos + 4 <= len(body):
        code, length = struct.unpack_from(e + "HH", body, pos)
        if code == OPT_ENDOFOPT:
            break
        value = body[pos + 4 : pos + 4 + length]
        if len(value) < length:
            break  # option runs past the block: ignore the rest
        yield code, value
        pos += 4 + ((length + 3) & ~3)


def parse_options(body: bytes, big: bool) -> dict[int, bytes]:
    """The options of a block body as {code: value}; the first value of each code wins."""
    opts: dict[int, bytes] = {}
    for code, value in iter_options(body, big):
        opts.setdefault(code, value)
    return opts


def comments(body: bytes, big: bool, most: int) -> tuple[str, ...]:
    """The first ``most`` ``opt_comment`` s among a block body's options (:func:`option_text`)."""
    found: list[str] = []
    if most > 0:
        for code, value in iter_options(body, big):
            if code == OPT_COMMENT:
                found.append(option_text(value))
                if len(found) >= most:
                    break
    return tuple(found)


def parse_shb_text(block: bytes, big: bool, path: str, most_comments: int) -> SectionText:
    """The text of a whole Section Header Block (at most ``most_comments`` comments)."""
    body = block[24:-4]
    opts = parse_options(body, big)

    def get(code: int) -> str | None:
        return option_text(opts[code]) if code in opts else None
    return SectionText(path, comments(body, big, most_comments), get(SHB_HARDWARE),
                       get(SHB_OS), get(SHB_USERAPPL))


@dataclass
class InterfaceDescription:
    linktype: int
    raw_linktype: int
    snaplen: int
    name: str
    description: str
    timing: InterfaceTiming
    comments: tuple[str, ...] = ()  #: its opt_comment s (as many as parse_idb was asked)


def parse_idb(block: bytes, big: bool, most_comments: int = 0) -> InterfaceDescription:
    """Parse a whole Interface Description Block (header and trailer included); its
    description is cut to MAX_TEXT characters, its first ``most_comments`` comments kept."""
    e = ">" if big else "<"
    linktype, _reserved, snaplen = struct.unpack_from(e + "HHI", block, 8)
    opts = parse_options(block[16:-4], big)
    tsresol = opts.get(IF_TSRESOL, b"\x06")[:1] or b"\x06"
    tsoffset = 0
    if len(opts.get(IF_TSOFFSET, b"")) >= 8:
        (tsoffset,) = struct.unpack_from(e + "q", opts[IF_TSOFFSET])
    name = opts.get(IF_NAME, b"").decode("utf-8", "replace").rstrip("\x00")
    desc = option_text(opts.get(IF_DESCRIPTION, b""))
    return InterfaceDescription(linktype & LINKTYPE_MASK, linktype, snaplen, name, desc,
                                InterfaceTiming.from_tsresol(tsresol[0], tsoffset),
                                comments(block[16:-4], big, most_comments))


@njit(cache=True, nogil=True, inline="always")
def _ticks_to_ns(ticks, mul, div, shift, offset_ns):
    if shift >= 0:
        s = shift
        if s > 30:  # keep (frac * 1e9) within 64 bits: drop sub-nanosecond bits first
            ticks = ticks >> np.uint64(s - 30)
            s = 30
        sec = ticks >> np.uint64(s)
        frac = ticks & np.uint64((1 << s) - 1)
        sub_ns = np.int64((frac * np.uint64(1000000000)) >> np.uint64(s))
        return np.int64(sec) * 1000000000 + sub_ns + offset_ns
    return np.int64(ticks) * mul // div + offset_ns


@njit(cache=True, nogil=True, inline="always")
def _u16(buf, pos, big):
    if big:
        return (np.int64(buf[pos]) << 8) | np.int64(buf[pos + 1])
    return (np.int64(buf[pos + 1]) << 8) | np.int64(buf[pos])


@njit(cache=True, nogil=True, inline="always")
def packet_direction(buf, pos, end, big):
    """The direction in the ``epb_flags`` option among the options at ``buf[pos:end]``
    (a packet block's, after its padded data): 1 inbound, 2 outbound, 0 when the option is
    absent, says "not available" (or the undefined 11), or the options are malformed (an
    option running past the block stops the search, as the end-of-options option does)."""
    while pos + 4 <= end:
        code = _u16(buf, pos, big)
        length = _u16(buf, pos + 2, big)
        if code == 0 or pos + 4 + length > end:
            return 0
        if code == EPB_FLAGS and length >= 4:
            d = np.int8(u32(buf, pos + 4, big) & np.uint32(3))
            return d if d != 3 else np.int8(0)
        pos += 4 + ((length + 3) & ~3)
    return 0


@njit(cache=True, nogil=True)
def _isb_options(buf, pos, end, big, values, row, write):
    """Check (``write`` False) or take into ``values[row]`` the counters among an ISB's
    options at ``buf[pos:end]``: the mask of the counters present, or -1 when an option
    runs past the block or a counter is not 8 bytes long."""
    mask = 0
    while pos + 4 <= end:
        code = _u16(buf, pos, big)
        length = _u16(buf, pos + 2, big)
        if code == 0:
            break
        if pos + 4 + length > end:
            return -1
        k = code - ISB_FIRST
        if 0 <= k < ISB_COUNT:
            if length != 8:
                return -1
            if write:
                a = np.uint64(u32(buf, pos + 4, big))
                b = np.uint64(u32(buf, pos + 8, big))
                values[row, k] = (a << np.uint64(32)) | b if big else (b << np.uint64(32)) | a
            mask |= 1 << k
        pos += 4 + ((length + 3) & ~3)
    return mask


@njit(cache=True, nogil=True)
def read_isb(buf, pos, blen, big, n_ifaces, values, masks, bad):
    """Take the counters of the whole Interface Statistics Block at ``pos`` as its
    interface's last (``values``, ``masks``: see :class:`Section`). A block too short for
    its fixed fields, naming an interface the section does not describe, or with a
    malformed option (see :func:`_isb_options`) is skipped and counted in ``bad[0]``
    (``bad[1]``: the first one's position, if it is -1)."""
    ok = blen >= 24
    ifc = np.int64(0)
    if ok:
        ifc = np.int64(u32(buf, pos + 8, big))
        ok = ifc < n_ifaces
    if ok:
        ok = _isb_options(buf, pos + 20, pos + blen - 4, big, values, ifc, False) >= 0
    if not ok:
        bad[0] += 1
        if bad[1] < 0:
            bad[1] = pos
        return
    masks[ifc] = ISB_SEEN | _isb_options(buf, pos + 20, pos + blen - 4, big, values, ifc,
                                         True)


@njit(cache=True, nogil=True)
def walk_pcapng(buf, pos, end, big, glob, snap, mul, div, shift, tsoff, isb_values,
                isb_mask, n_ifaces, isb_bad, out_off, out_cap, out_wire, out_ts, out_iface,
                out_dir):
    """Walk complete blocks in ``buf[pos:end]``, emitting one record per packet block.

    Stops with NEED_PYTHON at a Section Header or Interface Description Block,
    which the caller parses; takes an Interface Statistics Block's counters
    (:func:`read_isb`); skips every other non-packet block. Returns
    ``(count, pos, status)`` as :func:`hashscope.capture.pcap.walk_pcap` does.
    A packet block's direction is its ``epb_flags`` option's (the obsolete Packet Block's
    ``pack_flags`` is the same option); a Simple Packet Block has none.
    """
    n = 0
    cap_out = out_off.shape[0]
    while pos + 8 <= end:
        btype = u32(buf, pos, big)
        if btype == 0x0A0D0D0A or btype == 1:
            return n, pos, NEED_PYTHON
        blen = np.int64(u32(buf, pos + 4, big))
        if blen < 12 or blen % 4 != 0 or blen > MAX_RECORD + 64:
            return n, pos, BAD_LENGTH
        if pos + blen > end:
            break
        if np.int64(u32(buf, pos + blen - 4, big)) != blen:
            return n, pos, BAD_TRAILER
        prefetch_ahead(buf, pos, end)
        if btype == 5:
            read_isb(buf, pos, blen, big, n_ifaces, isb_values, isb_mask, isb_bad)
        elif btype == 6 or btype == 2 or btype == 3:
            if n == cap_out:
                return n, pos, OUT_FULL
            if btype == 3:  # Simple Packet Block: interface 0, no timestamp
                if n_ifaces < 1:
                    return n, pos, BAD_INTERFACE
                if blen < 16:
                    return n, pos, BAD_LENGTH
                ifc = 0
                wire = np.int64(u32(buf, pos + 8, big))
                caplen = min(wire, blen - 16)
                if snap[0] > 0:
                    caplen = min(caplen, snap[0])
                data = pos + 12
                ticks = np.uint64(0)
                ts = np.int64(0)
                direction = np.int8(0)
            else:
                if blen < 32:
                    return n, pos, BAD_LENGTH
                if btype == 6:
                    ifc = np.int64(u32(buf, pos + 8, big))
                else:  # obsolete Packet Block: 16-bit interface id, 16-bit drops
                    if big:
                        ifc = (np.int64(buf[pos + 8]) << 8) | np.int64(buf[pos + 9])
                    else:
                        ifc = (np.int64(buf[pos + 9]) << 8) | np.int64(buf[pos + 8])
                if ifc >= n_ifaces:
                    return n, pos, BAD_INTERFACE
                ticks = (np.uint64(u32(buf, pos + 12, big)) << np.uint64(32)) | np.uint64(
                    u32(buf, pos + 16, big))
                caplen = np.int64(u32(buf, pos + 20, big))
                wire = np.int64(u32(buf, pos + 24, big))
                if caplen > blen - 32:
                    return n, pos, BAD_LENGTH
                data = pos + 28
                ts = _ticks_to_ns(ticks, mul[ifc], div[ifc], shift[ifc], tsoff[ifc])
                # options follow the data padded to 32 bits (caplen <= blen - 32 and blen is
                # a multiple of 4, so they start within the block); most blocks have none
                opts = data + ((caplen + 3) & ~3)
                direction = np.int8(0)
                if opts + 4 <= pos + blen - 4:
                    direction = packet_direction(buf, opts, pos + blen - 4, big)
            out_off[n] = data
            out_cap[n] = caplen
            out_wire[n] = wire
            out_ts[n] = ts
            out_iface[n] = glob[ifc]
            out_dir[n] = direction
            n += 1
        pos += blen
    return n, pos, EXHAUSTED
