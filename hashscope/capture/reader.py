"""Reading capture files into record batches: pcap and pcapng, any number of files.

Each file is read through a bounded buffer; a record or block
length that the file cannot hold, or that no capture would have, stops the
file with a :class:`CaptureError` naming the byte offset. A file cut off in
the middle of a record is read up to the cut, with a warning.

Every record gets its direction (pcapng ``epb_flags``, else a Linux cooked header's packet
type), and the frames of a Linux cooked v2 capture of "any" the interface their header
names by its Linux index (:mod:`hashscope.capture.cooked`), batch by batch.

Besides the records, what a report on the capture itself needs (see the attributes of
:class:`CaptureReader`): how many frames of each interface the snapshot length cut
(:attr:`~CaptureReader.snapped`), the pcapng Interface Statistics Blocks' counters
(``interface_stats``), and the text the capture carries: interface descriptions and
comments, and each section's comments, hardware, OS and application (``descriptions``,
``interface_comments``, ``sections``). That text is the capture's, not to be trusted:
decoded with replacement characters and bounded (:data:`pcapng.MAX_TEXT` characters a
string, :data:`pcapng.MAX_COMMENTS` comments and :data:`pcapng.MAX_SECTIONS` sections a
file), to be escaped by whatever writes it out.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence

import numpy as np

from hashscope.errors import CaptureError, CaptureWarning

from . import cooked, linktypes, pcap, pcapng
from .inputs import ChunkBuffer, MappedBuffer, open_buffer, open_source
from .names import IfindexNames, NamedCapture, ifindex_name, interface_name
from .records import (
    BAD_INTERFACE,
    BAD_LENGTH,
    BAD_TRAILER,
    BATCH_RECORDS,
    MAX_RECORD,
    NEED_PYTHON,
    OUT_FULL,
    Interface,
    InterfaceRegistry,
    RecordBatch,
    empty_outputs,
)

#: libpcap's largest snapshot length for ordinary link types.
MAX_SNAPLEN = 262144

WarningHandler = Callable[[CaptureWarning], None]
ProgressHandler = Callable[[int], None]


class CaptureReader:
    """Reads capture files (or ``-``) into :class:`RecordBatch` es, one interface registry.

    ``ifindex`` names Linux interface indices ({3: "eth0"}) for the frames of Linux cooked
    v2 captures of "any", as an :class:`IfindexNames` among the paths does too; an index
    without a name is the interface ``ifindex3``.

    Filled in as the files are read (by :meth:`batches`, whoever consumes them):

    - :attr:`snapped` / :attr:`snapped_by_index`: frames shorter than on the wire;
    - ``interface_stats``: {interface name: {"ifrecv", "ifdrop", "filteraccept", "osdrop",
      "usrdeliv": int}}, the counters of each interface's last Interface Statistics Block
      (only those it has; an interface without a well-formed ISB is absent). Malformed ISBs
      are skipped, with one warning a file;
    - ``descriptions``: {interface name: its pcapng ``if_description``} (absent: none);
    - ``interface_comments``: {interface name: its IDB's ``opt_comment`` s};
    - ``sections``: a :class:`pcapng.SectionText` for each pcapng section header read.
    """

    def __init__(
        self,
        paths: Sequence[str | NamedCapture | IfindexNames],
        on_warning: WarningHandler | None = None,
        on_progress: ProgressHandler | None = None,
        buffer_size: int | None = None,
        ifindex: Mapping[int, str] | None = None,
    ):
        self.paths = [str(p) for p in paths if not isinstance(p, IfindexNames)]
        #: the interface names given with the files (NamedCapture), by path
        self.names = {p.path: p.name for p in paths if isinstance(p, NamedCapture)}
        #: the names of Linux interface indices (SLL2 captures of "any")
        self.ifindex: dict[int, str] = {}
        for p in paths:
            if isinstance(p, IfindexNames):
                self.ifindex.update(p.names)
        self.ifindex.update(ifindex or {})
        self._cooked: dict[int, int] = {}  # the current file's cooked interfaces: kind
        self._kinds: np.ndarray | None = None  # the same per registry index, when current
        self._pending: list[list] = []  # the current file's SLL2 "any": [iface, registry]
        self._by_ifindex = cooked.IfindexTable()  # registry index of each ifindex met
        self.registry = InterfaceRegistry()
        self._undecodable: dict[tuple[str, str], list[tuple[int, str]]] = {}
        self.warnings: list[CaptureWarning] = []
        self._on_warning = on_warning
        self._on_progress = on_progress
        self._buffer_size = buffer_size
        self._snapped = np.zeros(0, np.int64)
        self.interface_stats: dict[str, dict[str, int]] = {}
        self.descriptions: dict[str, str] = {}
        self.interface_comments: dict[str, tuple[str, ...]] = {}
        self.sections: list[pcapng.SectionText] = []
        self._comments_left = 0  # the current file's: how many more comments are kept

    @property
    def snapped_by_index(self) -> np.ndarray:
        """int64, per registry index: how many of the interface's frames read so far the
        snapshot length cut (captured length below the original length)."""
        counts = np.zeros(len(self.registry.interfaces), np.int64)
        counts[: len(self._snapped)] += self._snapped[: len(counts)]
        return counts

    @property
    def snapped(self) -> dict[str, int]:
        """{interface name: how many of its frames read so far were cut by the snapshot
        length}, for every interface of the registry (0: none cut); interfaces of one name
        and different link types are added up."""
        return snapped_by_name(self.registry, self.snapped_by_index)

    def total_size(self) -> int | None:
        """Bytes on disk of all inputs, or None if any size is unknown (stdin)."""
        total = 0
        for p in self.paths:
            if p == "-" or not os.path.isfile(p):
                return None
            total += os.path.getsize(p)
        return total

    def warn(self, path: str, offset: int | None, message: str) -> None:
        w = CaptureWarning(path, offset, message)
        self.warnings.append(w)
        if self._on_warning:
            self._on_warning(w)

    def batches(self) -> Iterator[RecordBatch]:
        done = 0
        for path in self.paths:
            self._cooked, self._kinds, self._pending = {}, None, []
            source = open_source(path)
            try:
                buf = open_buffer(source, self._buffer_size)
                buf.fill(0)
                reader = self._format(path, buf)
                for batch in reader:
                    if self._on_progress:
                        self._on_progress(done + buf.progress())
                    yield batch
                self._warn_undecodable(path)
                if buf.damaged:
                    self.warn(path, buf.base + buf.end, buf.damaged + "; read up to there")
                done += buf.progress()
            finally:
                source.close()

    def _format(self, path: str, buf: ChunkBuffer | MappedBuffer) -> Iterator[RecordBatch]:
        if buf.end == 0:
            if buf.damaged:
                raise CaptureError(path, 0, buf.damaged)
            raise CaptureError(path, 0, "empty file")
        head = bytes(buf.data[:4])
        if head in pcap.MAGIC_BYTES:
            return self._read_pcap(path, buf)
        if head in pcapng.MAGIC_BYTES:
            return self._read_pcapng(path, buf)
        what = f"{buf.source.compression}-compressed data" if buf.source.compression else "file"
        raise CaptureError(path, 0, f"not a pcap or pcapng capture ({what} starts with "
                                    f"{bytes(buf.data[:min(buf.end, 4)]).hex(' ')})")

    def _add_interface(self, path: str, offset: int, iface: Interface) -> int:
        if iface.linktype not in linktypes.SUPPORTED:  # said once per file and kind
            kind = linktypes.describe(iface.linktype)
            self._undecodable.setdefault((path, kind), []).append((offset, iface.name))
        return self.registry.add(iface)

    def _file_interface(self, path: str, offset: int, iface: Interface, named: bool) -> int:
        """Register an interface of the current file: its registry index; for a Linux cooked
        v2 interface of "any" (not ``named`` by the capture or by --member), a placeholder
        index (cooked.PENDING + k): its frames take the interfaces their headers name, and
        it is registered only once a frame too short to name one is left on it."""
        if iface.linktype == linktypes.LINUX_SLL2 and not named:
            self._pending.append([iface, -1])
            return cooked.PENDING + len(self._pending) - 1
        g = self._add_interface(path, offset, iface)
        if iface.linktype in (linktypes.LINUX_SLL, linktypes.LINUX_SLL2):
            self._cooked[g] = cooked.SLL if iface.linktype == linktypes.LINUX_SLL else \
                cooked.SLL2
            self._kinds = None
        return g

    def _batch(self, data: np.ndarray, outs: tuple[np.ndarray, ...], n: int) -> RecordBatch:
        """The first n records of a walk's outputs, their cooked headers read."""
        batch = RecordBatch(data, *(a[:n] for a in outs))
        if self._cooked or self._pending:
            self._read_cooked(batch)
        cut = batch.caplen < batch.wirelen
        if cut.any():
            counts = np.bincount(batch.iface[cut], minlength=len(self.registry.interfaces))
            if len(counts) > len(self._snapped):
                self._snapped = np.concatenate(
                    [self._snapped, np.zeros(len(counts) - len(self._snapped), np.int64)])
            self._snapped[: len(counts)] += counts
        return batch

    def _read_cooked(self, batch: RecordBatch) -> None:
        """Directions from cooked headers where epb_flags gave none; the interface each
        SLL2 "any" frame names by its index (the "any" interface for the frames too short
        to name one). Registers what the compiled pass meets first."""
        if self._kinds is None or len(self._kinds) != max(len(self.registry.interfaces), 1):
            self._kinds = np.zeros(max(len(self.registry.interfaces), 1), np.int8)
            for index, kind in self._cooked.items():
                self._kinds[index] = kind
        pending = np.array([g for _, g in self._pending] or [-1], np.int32)
        at = 0
        while True:
            t = self._by_ifindex
            at, need, value = cooked.read_cooked(
                batch.data, batch.offset, batch.caplen, batch.iface, batch.direction, at,
                self._kinds, pending, t.table, t.more_ifindex, t.more_iface)
            if need == cooked.NEED_PENDING:
                pending[value] = self._register_pending(int(value))
            elif need == cooked.NEED_IFINDEX:
                source = self._pending[int(batch.iface[at]) - cooked.PENDING][0]
                t.set(int(value), self._ifindex_interface(int(value), source))
            else:
                return

    def _register_pending(self, k: int) -> int:
        """The registry index of the current file's placeholder interface k."""
        pending = self._pending[k]
        if pending[1] < 0:
            pending[1] = self.registry.add(pending[0])
        return pending[1]

    def _ifindex_interface(self, index: int, source: Interface) -> int:
        """The registry index of the interface with Linux index ``index``, met in the
        frames of the SLL2 "any" interface ``source``."""
        return self.registry.add(Interface(ifindex_name(index, self.ifindex), source.linktype,
                                           source.snaplen, source.file,
                                           f"Linux interface index {index} of {source.name!r}",
                                           source.raw_linktype, ifindex=index))

    def _warn_undecodable(self, path: str) -> None:
        """One warning per link type that a file's interfaces have and hashscope cannot
        decode, with how many interfaces have it."""
        for (p, kind), found in list(self._undecodable.items()):
            if p != path:
                continue
            del self._undecodable[(p, kind)]
            names = ", ".join(repr(name) for _, name in found[:3])
            if len(found) == 1:
                what = f"interface {names} has {kind}, which hashscope cannot decode: its"
            else:
                more = f" and {len(found) - 3} more" if len(found) > 3 else ""
                what = (f"{len(found)} interfaces ({names}{more}) have {kind}, which "
                        "hashscope cannot decode: their")
            self.warn(path, found[0][0], what + " packets are not analyzed")

    def _cut_off(self, path: str, buf: ChunkBuffer, pos: int, total: int | None) -> None:
        have = buf.end - pos
        if total:
            what = f"the last record is cut off ({have} of {total} bytes)"
        else:
            what = f"the last record is cut off ({have} bytes of its header)"
        self.warn(path, buf.base + pos, what + "; analyzed up to there")

    def _read_pcap(self, path: str, buf: ChunkBuffer) -> Iterator[RecordBatch]:
        if buf.end < pcap.HEADER_LEN:
            raise CaptureError(path, 0, f"truncated pcap file header ({buf.end} of "
                                        f"{pcap.HEADER_LEN} bytes)")
        h = pcap.parse_header(bytes(buf.data[: pcap.HEADER_LEN]))
        if h.linktype not in linktypes.SUPPORTED:
            raise CaptureError(path, 20, f"unknown link type {h.raw_linktype}: hashscope decodes "
                                         + ", ".join(sorted(set(linktypes.NAMES.values()))))
        name = self.names.get(path) or interface_name(path)
        # a pcap does not name its interface: a Linux cooked v2 one is taken for "any"
        iface = self._file_interface(path, 0, Interface(name, h.linktype, h.snaplen, path,
                                                        raw_linktype=h.raw_linktype),
                                     path in self.names)
        limit = min(max(h.snaplen, MAX_SNAPLEN), MAX_RECORD)
        pos = pcap.HEADER_LEN
        while True:
            outs = empty_outputs(BATCH_RECORDS)
            n, pos, status = pcap.walk_pcap(buf.data, pos, buf.end, h.big_endian, h.frac_ns,
                                            limit, iface, *outs[:5])
            if n:
                yield self._batch(buf.data, outs, n)
            if status == OUT_FULL:
                continue
            if status == BAD_LENGTH:
                caplen = pcap.record_length(buf.data, pos, buf.end, h.big_endian) - 16
                raise CaptureError(path, buf.base + pos,
                                   f"record claims {caplen} captured bytes, more than the "
                                   f"snapshot length ({h.snaplen}) allows")
            if buf.eof:
                if pos < buf.end:
                    total = pcap.record_length(buf.data, pos, buf.end, h.big_endian)
                    self._cut_off(path, buf, pos, total)
                return
            buf.fill(pos, pcap.record_length(buf.data, pos, buf.end, h.big_endian))
            pos = 0

    def _read_pcapng(self, path: str, buf: ChunkBuffer) -> Iterator[RecordBatch]:
        section: pcapng.Section | None = None
        decodable = False
        unsupported_at: int | None = None
        arrays = pcapng.Section(False).arrays()
        isb_bad = np.array([0, -1], np.int64)  # malformed ISBs: how many, the first's pos
        first_bad: int | None = None
        self._comments_left = pcapng.MAX_COMMENTS
        sections = 0
        pos = 0
        closed = False
        try:
            while True:
                if section is not None:
                    outs = empty_outputs(BATCH_RECORDS)
                    n, pos, status = pcapng.walk_pcapng(
                        buf.data, pos, buf.end, section.big_endian, *arrays,
                        len(section.ifaces), isb_bad, *outs)
                    if isb_bad[1] >= 0:
                        first_bad = buf.base + int(isb_bad[1]) if first_bad is None \
                            else first_bad
                        isb_bad[1] = -1
                    if n:
                        yield self._batch(buf.data, outs, n)
                    if status == OUT_FULL:
                        continue
                    self._check_block_status(path, buf, pos, status, section)
                else:
                    status = NEED_PYTHON
                if status == NEED_PYTHON:
                    block = self._whole_block(path, buf, pos, section)
                    if block is None:
                        if not decodable:
                            self._check_decodable(path, unsupported_at)
                        return
                    kind, pos, length = block
                    data = bytes(buf.data[pos : pos + length])
                    if kind == pcapng.SHB:
                        big, _ = pcapng.parse_shb(data)
                        self._end_section(section)
                        section = pcapng.Section(big)
                        if sections < pcapng.MAX_SECTIONS:
                            text = pcapng.parse_shb_text(data, big, path, self._comments_left)
                            self._comments_left -= len(text.comments)
                            self.sections.append(text)
                        sections += 1
                    elif section is None:
                        raise CaptureError(path, buf.base + pos, "pcapng file does not start "
                                                                 "with a section header block")
                    elif not self._add_idb(path, buf.base + pos, data, section):
                        unsupported_at = buf.base + pos if unsupported_at is None \
                            else unsupported_at
                    else:
                        decodable = True
                    arrays = section.arrays()
                    pos += length
                    continue
                # EXHAUSTED
                if buf.eof:
                    if pos < buf.end:
                        hdr = pcapng.block_header(buf.data, pos, buf.end, section.big_endian)
                        self._cut_off(path, buf, pos, hdr[1] if hdr else None)
                    if not decodable:
                        self._check_decodable(path, unsupported_at)
                    return
                hdr = pcapng.block_header(buf.data, pos, buf.end, section.big_endian)
                buf.fill(pos, hdr[1] if hdr else 0)
                pos = 0
        except GeneratorExit:  # the consumer stopped early: nothing to say about the rest
            closed = True
            raise
        finally:
            self._end_section(section)
            if isb_bad[0] and not closed:
                many = int(isb_bad[0])
                self.warn(path, first_bad,
                          f"{many} malformed interface statistics block{'s' if many > 1 else ''}"
                          " (too short, naming an interface the section does not describe, or"
                          " with an option running past the block or a counter not 8 bytes"
                          " long) skipped")

    def _end_section(self, section: pcapng.Section | None) -> None:
        """Keep the ISB counters of a section read (later sections' are later ISBs)."""
        if section is not None:
            self.interface_stats.update(section.statistics())

    def _check_block_status(self, path, buf, pos, status, section) -> None:
        at = buf.base + pos
        if status == BAD_LENGTH:
            hdr = pcapng.block_header(buf.data, pos, buf.end, section.big_endian)
            raise CaptureError(path, at, f"bad pcapng block length {hdr[1] if hdr else '?'} "
                                         "(too small, not a multiple of 4, too large, or "
                                         "smaller than the packet it holds)")
        if status == BAD_TRAILER:
            raise CaptureError(path, at, "pcapng block's trailing length differs from its "
                                         "leading length")
        if status == BAD_INTERFACE:
            raise CaptureError(path, at, f"packet block names an interface that the section "
                                         f"does not describe (it has {len(section.ifaces)})")

    def _whole_block(self, path, buf, pos, section):
        """Make the SHB/IDB at pos whole in the buffer: (type, new pos, length) or None at EOF."""
        while True:
            if buf.end - pos >= 12:
                btype = int(pcap.u32(buf.data, pos, section.big_endian if section else False))
                if btype == pcapng.SHB:
                    try:
                        _, length = pcapng.parse_shb(bytes(buf.data[pos : pos + 12]))
                    except ValueError as exc:
                        raise CaptureError(path, buf.base + pos, str(exc)) from None
                elif section is None:
                    raise CaptureError(path, buf.base + pos,
                                       "pcapng file does not start with a section header block")
                else:
                    length = pcapng.block_header(buf.data, pos, buf.end, section.big_endian)[1]
                if length < 12 or length % 4 or length > MAX_RECORD:
                    raise CaptureError(path, buf.base + pos, f"bad pcapng block length {length}")
                if btype == pcapng.IDB and length < 20:
                    raise CaptureError(path, buf.base + pos,
                                       f"interface description block too short ({length} bytes)")
                if buf.end - pos >= length:
                    return btype, pos, length
            else:
                length = 12
            if buf.eof:
                if pos < buf.end:
                    self._cut_off(path, buf, pos, length if buf.end - pos >= 12 else None)
                return None
            buf.fill(pos, length)
            pos = 0

    def _check_decodable(self, path: str, unsupported_at: int | None) -> None:
        """A pcapng file all of whose interfaces have unknown link types is an error."""
        if unsupported_at is not None:
            raise CaptureError(path, unsupported_at, "no interface has a link type hashscope "
                               "decodes (" + ", ".join(sorted(set(linktypes.NAMES.values())))
                               + ")")

    def _add_idb(self, path: str, at: int, data: bytes, section: pcapng.Section) -> bool:
        """Register an IDB's interface; False if its link type cannot be decoded."""
        d = pcapng.parse_idb(data, section.big_endian, self._comments_left)
        local = len(section.ifaces)
        name = self.names.get(path) or d.name or f"{interface_name(path)}#{local}"
        if d.description:
            self.descriptions.setdefault(name, d.description)
        if d.comments:
            self._comments_left -= len(d.comments)
            self.interface_comments[name] = self.interface_comments.get(name, ()) + d.comments
        section.names.append(name)
        g = self._file_interface(path, at, Interface(name, d.linktype, d.snaplen, path,
                                                     d.description, d.raw_linktype),
                                 path in self.names or d.name not in ("", "any"))
        section.ifaces.append(g)
        section.snaplens.append(d.snaplen)
        section.timing.append(d.timing)
        return d.linktype in linktypes.SUPPORTED


def snapped_by_name(registry: InterfaceRegistry, counts: np.ndarray) -> dict[str, int]:
    """Per-registry-index counts as {interface name: count} (a name's link types added)."""
    found: dict[str, int] = {}
    for name, count in zip(registry.names(), counts.tolist(), strict=True):
        found[name] = found.get(name, 0) + count
    return found
