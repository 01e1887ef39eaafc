"""Opening capture inputs: files, ``-`` for standard input, gzip/bzip2/xz by content.

The reader downstream sees a plain byte stream through a buffer of bounded size
(:class:`ChunkBuffer`, or :class:`MappedBuffer` over a regular file), so memory is
bounded by the buffer size, the largest record and the batches still in flight,
never by the size of the capture. A buffer never overwrites bytes it handed out:
record batches stay valid while later ones are read.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import mmap
import os
import stat
import sys
import zlib
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from hashscope.errors import CaptureError

#: Magic numbers of compressed formats: the ones we decompress, and the ones we name.
_DECOMPRESSORS = {
    b"\x1f\x8b": ("gzip", lambda raw: gzip.GzipFile(fileobj=raw)),
    b"BZh": ("bzip2", bz2.BZ2File),
    b"\xfd7zXZ\x00": ("xz", lzma.LZMAFile),
}
#: Largest single read from a decompressor: a damaged stream loses at most what one
#: read would have returned, because a failing read returns nothing.
_DECOMPRESSED_READ = 1 << 20
_UNSUPPORTED = {
    b"\x28\xb5\x2f\xfd": "zstd",
    b"\x04\x22\x4d\x18": "lz4",
    b"PK\x03\x04": "zip",
    b"7z\xbc\xaf\x27\x1c": "7z",
}
#: Errors a decompressor raises on a damaged or cut-off stream.
DECOMPRESSION_ERRORS = (EOFError, OSError, zlib.error, lzma.LZMAError, ValueError)


@dataclass
class Source:
    """An opened capture input."""

    name: str  #: the path as given ("-" for standard input)
    stream: BinaryIO  #: decompressed bytes
    size: int | None  #: size on disk when known (for progress), else None
    compression: str | None  #: "gzip", "bzip2", "xz" or None
    raw: BinaryIO  #: the underlying file, to close and to track progress

    def close(self) -> None:
        try:
            self.stream.close()
        finally:
            if self.raw is not self.stream and self.raw is not sys.stdin.buffer:
                self.raw.close()

    def position(self) -> int:
        """Bytes of the input (compressed, on disk) consumed so far."""
        try:
            return self.raw.tell()
        except (OSError, ValueError):
            return 0


def open_source(path: str) -> Source:
    """Open ``path`` (or ``-``) and wrap it in a decompressor chosen by its first bytes."""
    if path == "-":
        raw: BinaryIO = sys.stdin.buffer
        size = None
    else:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise CaptureError(path, None, "no such file") from None
        except OSError as exc:
            raise CaptureError(path, None, exc.strerror or str(exc)) from None
        if stat.S_ISDIR(st.st_mode):
            raise CaptureError(path, None, "is a directory, not a capture file")
        try:
            raw = open(path, "rb")  # noqa: SIM115 - closed by Source.close
        except OSError as exc:
            raise CaptureError(path, None, exc.strerror or str(exc)) from None
        size = st.st_size if stat.S_ISREG(st.st_mode) else None
    try:
        head = raw.peek(8)[:8] if hasattr(raw, "peek") else b""
    except OSError as exc:
        raise CaptureError(path, 0, f"cannot read: {exc.strerror or exc}") from None
    for magic, name in _UNSUPPORTED.items():
        if head.startswith(magic):
            raw.close()
            raise CaptureError(
                path, 0, f"{name}-compressed input is not supported (use gzip, bzip2 or xz)"
            )
    for magic, (name, opener) in _DECOMPRESSORS.items():
        if head.startswith(magic):
            return Source(path, opener(raw), size, name, raw)
    return Source(path, raw, size, None, raw)


class ChunkBuffer:
    """A buffer over a stream: ``fill`` keeps the unconsumed tail and reads more.

    ``data[:end]`` holds stream bytes ``base .. base+end``. Each fill moves the tail
    into a new array, so batches walked in the old one stay valid. The buffer is
    larger than ``size`` only when one record is, and then only that record's size,
    which the caller has already checked against a sane limit.
    """

    def __init__(self, source: Source, size: int = 16 << 20):
        self.source = source
        self._file_size = source.size if source.compression is None else None
        if self._file_size is not None:
            size = max(min(size, self._file_size), 64)  # a small file needs no big buffer
        self._size = size
        self.data = np.empty(0, dtype=np.uint8)
        self.base = 0  # stream offset of data[0]
        self.end = 0  # valid bytes in data
        self.eof = False
        self.damaged: str | None = None  # decompression error message, if any

    def fill(self, consumed: int, need: int = 0) -> None:
        """Drop ``data[:consumed]``, then read until the buffer is full (or EOF).

        ``need``: make room for at least this many bytes (one large record).
        """
        tail = self.end - consumed
        if consumed == 0 and need <= self.end:
            need = self.end + 4096  # nothing taken from what we had: deliver more, never spin
        if self._file_size is not None:
            # no length field makes us allocate more than the file still holds
            need = min(need, max(self._file_size - self.base - consumed, 0))
        data = np.empty(max(self._size, need, tail), dtype=np.uint8)
        data[:tail] = self.data[consumed : self.end]
        self.data = data
        self.base += consumed
        self.end = tail
        view = memoryview(data)
        compressed = self.source.compression is not None
        while self.end < len(data) and not self.eof:
            try:
                if compressed:
                    chunk = self.source.stream.read1(min(_DECOMPRESSED_READ,
                                                         len(data) - self.end))
                    got = len(chunk)
                    view[self.end : self.end + got] = chunk
                else:
                    got = self.source.stream.readinto(view[self.end :])
            except DECOMPRESSION_ERRORS as exc:
                self.damaged = f"{self.source.compression or 'input'} stream is damaged ({exc})"
                got = 0
            if not got:
                self.eof = True
            else:
                self.end += got

    def progress(self) -> int:
        """Bytes of the input on disk consumed so far (compressed bytes if compressed)."""
        return self.source.position()


class MappedBuffer:
    """The same interface as :class:`ChunkBuffer` over a regular, uncompressed file,
    mapped window by window instead of copied: no read copy, and resident memory
    bounded by the window (a window is unmapped once no batch refers to it)."""

    def __init__(self, source: Source, size: int = 16 << 20):
        self.source = source
        self._fd = source.raw.fileno()
        self._file_size = source.size or 0
        self._window = max(size, mmap.ALLOCATIONGRANULARITY)
        self.data = np.zeros(0, dtype=np.uint8)
        self.base = 0
        self.end = 0
        self.eof = False
        self.damaged: str | None = None

    def fill(self, consumed: int, need: int = 0) -> None:
        if consumed == 0 and need <= self.end:
            need = self.end + 4096  # nothing taken from what we had: deliver more, never spin
        base = self.base + consumed
        aligned = base - base % mmap.ALLOCATIONGRANULARITY
        skew = base - aligned
        length = min(skew + max(self._window, need), self._file_size - aligned)
        self.base = base
        self.data = np.zeros(0, dtype=np.uint8)  # drop our reference to the old window
        if length <= skew:
            self.end = 0
            self.eof = True
            return
        # MAP_POPULATE: fault the whole window in with one call, not page by page
        window = mmap.mmap(self._fd, length, offset=aligned, prot=mmap.PROT_READ,
                           flags=mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0))
        self.data = np.frombuffer(window, dtype=np.uint8)[skew:]
        self.end = length - skew
        self.eof = aligned + length >= self._file_size

    def progress(self) -> int:
        return self.base + self.end


def open_buffer(source: Source, size: int | None = None) -> ChunkBuffer | MappedBuffer:
    """A mapped buffer for regular uncompressed files, a copying one for the rest."""
    if source.compression is None and source.size is not None and source.name != "-":
        return MappedBuffer(source, size or (16 << 20))
    return ChunkBuffer(source, size or (16 << 20))
