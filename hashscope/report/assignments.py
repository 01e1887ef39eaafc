"""Per-packet members written out: CSV by a compiled writer, or Parquet by pyarrow.

CSV rows are ``packet,hash,link,member``: the 0-based packet, the 32-bit hash in hex
(empty where the policy defines none), the member's index and name (empty where the
frame is not sent by the bond or its member cannot be predicted; every member that is up,
``;``-separated, for a frame sent on all of them). Text is quoted as Python's csv module
quotes it (only where a name needs it).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from numba import njit

from hashscope.errors import HashscopeError
from hashscope.hashes.policy import Assignment
from hashscope.members import Members

from .files import open_output

HEADER = b"packet,hash,link,member\n"
_HEX = np.frombuffer(b"0123456789abcdef", np.uint8)


def link_labels(members: Members, names: bool) -> list[str]:
    """Text per link code + 3 (LINK_NOT_SENT, LINK_ALL, LINK_UNKNOWN, then members)."""
    label = members.names if names else [str(i) for i in range(members.count)]
    everywhere = ";".join(label[i] for i in members.usable)
    return ["", everywhere, "", *label]


def _row_tails(members: Members) -> tuple[np.ndarray, np.ndarray]:
    """Per link code + 3, the bytes ``link,member\\n`` as csv writes them: (bytes, lengths)."""
    tails = []
    for link, member in zip(link_labels(members, False), link_labels(members, True),
                            strict=True):
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerow([link, member])
        tails.append(text.getvalue().encode())
    width = max(len(t) for t in tails)
    table = np.zeros((len(tails), width), np.uint8)
    for i, t in enumerate(tails):
        table[i, : len(t)] = np.frombuffer(t, np.uint8)
    return table, np.array([len(t) for t in tails], np.int64)


@njit(cache=True, nogil=True)
def _csv_rows(first, hashes, has_hash, code, tails, tail_len, hexdigits, out):
    """Write one row per packet into ``out``; returns the bytes written."""
    p = 0
    digits = np.empty(20, np.uint8)
    for i in range(code.shape[0]):
        v = first + i
        k = 0
        while True:
            digits[k] = 48 + v % 10
            v //= 10
            k += 1
            if v == 0:
                break
        for j in range(k):
            out[p + j] = digits[k - 1 - j]
        p += k
        out[p] = 44  # ,
        p += 1
        if has_hash[i]:
            h = np.uint32(hashes[i])
            for j in range(8):
                out[p + j] = hexdigits[(h >> np.uint32(28 - 4 * j)) & np.uint32(15)]
            p += 8
        out[p] = 44
        p += 1
        c = code[i]
        for j in range(tail_len[c]):
            out[p + j] = tails[c, j]
        p += tail_len[c]
    return p


def write_assignments(batches: Iterable[tuple[np.ndarray, Assignment]], members: Members,
                      output: Path | None, fmt: str = "csv") -> int:
    """Every packet's member as CSV (stdout or ``output``) or Parquet (``output``); the
    number of rows written."""
    if fmt == "parquet":
        if output is None:
            raise HashscopeError("Parquet needs an output file")
        return _write_parquet(batches, members, output)
    tails, tail_len = _row_tails(members)
    done = 0
    with open_output(output, binary=True) as out:
        out.write(HEADER)
        for _pk, a in batches:
            n = len(a.link)
            buf = np.empty(n * (30 + tails.shape[1]), np.uint8)
            used = _csv_rows(done, a.hash, a.has_hash, a.link + 3, tails, tail_len, _HEX, buf)
            out.write(buf[:used].data)
            done += n
    return done


def _write_parquet(batches, members: Members, output: Path) -> int:
    """Columns packet (int64), hash (uint32, null where none), link and member (the CSV's
    text, dictionary-encoded)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    links = pa.array(link_labels(members, False), pa.string())
    names = pa.array(link_labels(members, True), pa.string())
    schema = pa.schema([("packet", pa.int64()), ("hash", pa.uint32()),
                        ("link", pa.dictionary(pa.int8(), pa.string())),
                        ("member", pa.dictionary(pa.int8(), pa.string()))])
    done = 0
    try:
        with pq.ParquetWriter(output, schema) as writer:
            for _pk, a in batches:
                n = len(a.link)
                code = pa.array((a.link + 3).astype(np.int8))
                writer.write_table(pa.table({
                    "packet": pa.array(np.arange(done, done + n, dtype=np.int64)),
                    "hash": pa.array(a.hash.astype(np.uint32), mask=~a.has_hash),
                    "link": pa.DictionaryArray.from_arrays(code, links),
                    "member": pa.DictionaryArray.from_arrays(code, names),
                }, schema=schema))
                done += n
    except OSError as exc:
        raise HashscopeError(f"{output}: cannot write: {exc.strerror or exc}") from None
    return done
