"""Numbers of the report as a reader sees them in a table cell: bytes as kB and MB with
the exact value in a tooltip, shares as %, times in UTC; and what a table sorts them by."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

_MISSING = "\u2013"


@dataclass(frozen=True)
class Cell:
    text: str
    sort: str | None = None      # data-sort: the exact value ("" when missing)
    title: str | None = None     # tooltip: the exact value
    num: bool = False
    cls: str = ""
    swatch: int | None = None    # index of the member whose colour is shown


def _si(x: float, unit: str) -> str:
    prefix = ""
    for prefix in ("", "k", "M", "G", "T", "P"):
        if abs(x) < 999.5 or prefix == "P":
            break
        x /= 1000
    if not prefix and float(x).is_integer():
        return f"{int(x)} {unit}"
    return f"{x:.3g} {prefix}{unit}"


def missing() -> Cell:
    return Cell(_MISSING, sort="", cls="absent")


def bytes_cell(n: int | float | None) -> Cell:
    if n is None:
        return missing()
    return Cell(_si(n, "B"), sort=repr(n), title=f"{n:,} bytes", num=True)


def count_cell(n: int | float | None) -> Cell:
    if n is None:
        return missing()
    return Cell(f"{n:,}", sort=repr(n), num=True)


def share_cell(x: float | None) -> Cell:
    if x is None:
        return missing()
    if x == 0:
        text = "0%"
    elif 0 < x < 0.0005:
        text = "<0.1%"
    elif 0.9995 <= x < 1:
        text = ">99.9%"
    else:
        text = f"{100 * x:.1f}%"
    return Cell(text, sort=repr(x), title=f"{x:.6g}", num=True)


def float_cell(x: float | None, fmt: str = ".3g") -> Cell:
    if x is None:
        return missing()
    return Cell(format(x, fmt), sort=repr(x), title=repr(x), num=True)


def bool_cell(x: bool | None, bad_when: bool | None = None) -> Cell:
    if x is None:
        return missing()
    return Cell("yes" if x else "no", sort=str(int(x)), cls="no" if x is bad_when else "")


def time_cell(ns: int | None) -> Cell:
    if ns is None:
        return missing()
    sec, rem = divmod(int(ns), 10**9)
    when = datetime.fromtimestamp(sec, UTC)
    return Cell(f"{when:%H:%M:%S}.{rem // 10**6:03d}", sort=str(ns), num=True,
                title=f"{when:%Y-%m-%d %H:%M:%S}.{rem:09d} UTC")


def duration_cell(ns: int | float | None) -> Cell:
    if ns is None:
        return missing()
    text = (f"{ns / 1e3:.3g} \u00b5s" if ns < 1e6 else f"{ns / 1e6:.3g} ms" if ns < 1e9
            else f"{ns / 1e9:.3g} s")
    return Cell(text, sort=repr(ns), title=f"{ns:,} ns", num=True)


def _is_scalar(v: object) -> bool:
    return v is None or isinstance(v, str | int | float | bool)


def auto_cell(key: str, v: object) -> Cell:
    """A value of the summary formatted by what its key says it is."""
    if v is None:
        return missing()
    if isinstance(v, bool):
        return bool_cell(v)
    last = key.rsplit(".", 1)[-1]
    if isinstance(v, int | float):
        if isinstance(v, float) and not math.isfinite(v):
            return Cell(str(v), num=True)
        if last.endswith("_ns"):
            return time_cell(int(v))
        if any(w in key for w in ("share", "agreement")) and 0 <= v <= 1:
            return share_cell(float(v))
        if "bytes" in last:
            return bytes_cell(v)
        if last.endswith("bps"):
            return Cell(_si(v, "bit/s"), sort=repr(v), title=f"{v:,} bit/s", num=True)
        return count_cell(v) if isinstance(v, int) else float_cell(v)
    if isinstance(v, dict):
        return Cell(", ".join(f"{k} {auto_cell(f'{key}.{k}', x).text}" for k, x in v.items()))
    if isinstance(v, list | tuple):
        sep = " " if last == "args" else ", " if all(map(_is_scalar, v)) else "; "
        return Cell(sep.join(auto_cell(key, x).text for x in v))
    return Cell(str(v))


def heading(key: str) -> str:
    """A summary key as a column heading."""
    return key.replace("_", " ")
