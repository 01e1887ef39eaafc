"""Pasted status text made plain: bytes decoded, CRLF, HTML (entities, <br>, <pre>), quote
prefixes (``>``, ``> >``), a common indentation, and bounds on what is read.

Every line keeps its number in the file (after ``<br>`` is made a line break), so that
the lines not understood can be listed with the number a reader finds them at.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from hashscope.errors import HashscopeError

#: At most this much of a file is read.
MAX_BYTES = 1 << 20
#: A longer line is cut to this many characters.
MAX_LINE = 4096

_TAG = re.compile(r"</?(pre|code|div|p|span|tt|samp|kbd|blockquote|b|i|strong|em|font)"
                  r"(\s[^<>]*)?>", re.I)
_BR = re.compile(r"<br\s*/?>", re.I)
_QUOTE = re.compile(r"^[ \t]*(?:>[ \t]?)+")


class Text:
    """Lines of a status text: ``lines`` [(line number, text)], ``warnings``."""

    def __init__(self, lines: list[tuple[int, str]], warnings: list[str]):
        self.lines = lines
        self.warnings = warnings

    def __iter__(self):
        return iter(self.lines)


def read_bytes(path: str | Path) -> tuple[bytes, list[str]]:
    """The first :data:`MAX_BYTES` of the file; HashscopeError naming it if it cannot be
    read."""
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise HashscopeError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise HashscopeError(f"{path}: a directory, not a bond status file") from None
    except OSError as exc:
        raise HashscopeError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    warnings = []
    if len(data) > MAX_BYTES:
        data = data[:MAX_BYTES]
        warnings.append(f"longer than {MAX_BYTES >> 20} MiB: only the first "
                        f"{MAX_BYTES >> 20} MiB read")
    return data, warnings


def decode(data: bytes, path: str) -> tuple[str, list[str]]:
    """The bytes as text; HashscopeError for an empty file or binary data."""
    if not data.strip():
        raise HashscopeError(f"{path}: empty, not a bond status text")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            data = data.decode("utf-16").encode()
        except UnicodeDecodeError:
            pass
    text = data.decode("utf-8", errors="replace")
    bad = sum(1 for c in text if c == "\ufffd" or (ord(c) < 32 and c not in "\t\r\n\f"))
    if b"\x00" in data[:4096] or bad > max(8, len(text) // 20):
        raise HashscopeError(f"{path}: binary data, not a bond status text "
                             "(/proc/net/bonding, ifconfig lagg, ovs-appctl, teamdctl)")
    warnings = [f"{bad} bytes that are not UTF-8 text read as \ufffd"] if bad else []
    return text.lstrip("\ufeff"), warnings


def normalise(text: str) -> Text:
    """The text's lines, plain (see the module's docstring)."""
    warnings: list[str] = []
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _BR.search(text) or _TAG.search(text):
        text = _TAG.sub("", _BR.sub("\n", text))
        warnings.append("HTML markup (<br>, <pre>, ...) removed")
    if re.search(r"&(gt|lt|amp|nbsp|quot|#\d+|#x[0-9a-f]+);", text, re.I):
        text = html.unescape(text).replace("\xa0", " ")
        warnings.append("HTML entities (&gt; &amp; ...) decoded")
    lines = []
    quoted = 0
    long = 0
    for n, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip()
        if len(line) > MAX_LINE:
            line, long = line[:MAX_LINE], long + 1
        m = _QUOTE.match(line)
        if m:
            line, quoted = line[m.end():], quoted + 1
        lines.append((n, line))
    if long:
        warnings.append(f"{long} lines longer than {MAX_LINE} characters, cut")
    if quoted:
        warnings.append(f"{quoted} lines quoted with '>': the quote marks removed")
    lines = _uncomment(lines, warnings)
    return Text(_dedent(lines), warnings)


def _uncomment(lines: list[tuple[int, str]], warnings: list[str]) -> list[tuple[int, str]]:
    """``# `` before every line (a status pasted as a shell comment): removed."""
    full = [t for _, t in lines if t.strip()]
    marked = sum(1 for t in full if t.lstrip().startswith("#"))
    if len(full) >= 3 and marked >= 0.8 * len(full):
        warnings.append(f"{marked} lines start with '#': the marks removed")
        return [(n, re.sub(r"^\s*# ?", "", t)) for n, t in lines]
    return lines


def _dedent(lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """The indentation all the non-blank lines share, removed."""
    full = [t for _, t in lines if t.strip()]
    if not full:
        return lines
    prefix = full[0][: len(full[0]) - len(full[0].lstrip())]
    for t in full[1:]:
        while prefix and not t.startswith(prefix):
            prefix = prefix[:-1]
    if not prefix:
        return lines
    return [(n, t[len(prefix):] if t.startswith(prefix) else t.lstrip()) for n, t in lines]
