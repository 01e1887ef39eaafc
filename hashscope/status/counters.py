"""Interface counters: two snapshots of the members' counters, taken before and after the
traffic, and what each member carried in between.

The snapshots may be any of ``ip -s -j link`` (also ``ip -s -s -j link`` and
``ip -j -s link show dev eth0``), ``/proc/net/dev``, BSD/macOS ``netstat -ib`` or
``netstat -I IFACE -b``, and ``ip -s link`` as text; :func:`read_counters` tells them
apart by their content. Reading is bounded (:data:`MAX_BYTES`) and anything else is a
:class:`CounterError`: one line naming the file.

Counters count what the interface carried, whatever it was: a capture's frames and
anything else between the two snapshots. Linux counts a frame's bytes from its Ethernet
header on, without the FCS, as a capture's frame length does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from hashscope.errors import HashscopeError

MAX_BYTES = 4 << 20  #: a snapshot larger than this is not one
WRAP = 1 << 32  #: where a 32-bit counter wraps

IP_JSON = "ip -s -j link"
IP_TEXT = "ip -s link"
PROC_NET_DEV = "/proc/net/dev"
NETSTAT = "netstat -ib"

FORMATS_HINT = "ip -s -j link, /proc/net/dev, netstat -ib or ip -s link"


class CounterError(HashscopeError):
    """A counter snapshot that cannot be read: ``str()`` is ``FILE: what is wrong``."""

    def __init__(self, path: str, message: str):
        self.path, self.message = path, message
        super().__init__(f"{path}: {message}")


class Counter(NamedTuple):
    """One interface's counters (or the difference of two snapshots)."""

    rx_bytes: int
    rx_packets: int
    tx_bytes: int
    tx_packets: int


@dataclass
class Counters(Mapping[str, Counter]):
    """One snapshot: interface name -> :class:`Counter`, in the snapshot's order."""

    path: str
    format: str  #: one of IP_JSON, IP_TEXT, PROC_NET_DEV, NETSTAT
    interfaces: dict[str, Counter] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Counter:
        return self.interfaces[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.interfaces)

    def __len__(self) -> int:
        return len(self.interfaces)

    @property
    def wraps_at_32_bits(self) -> bool:
        """Whether a counter may be 32 bits wide (stats64 of ``ip -j`` are not)."""
        return self.format != IP_JSON


def read_counters(path: str | Path) -> Counters:
    """The snapshot in ``path``, whichever of the formats it is in."""
    name = str(path)
    text = _read_text(name)
    stripped = text.lstrip()
    if not stripped:
        raise CounterError(name, f"empty: no interface counters ({FORMATS_HINT})")
    if stripped[0] in "[{":
        return Counters(name, IP_JSON, _ip_json(name, stripped))
    lines = text.splitlines()
    if any(line.lstrip().startswith("Inter-|") or "face |" in line for line in lines[:3]):
        return Counters(name, PROC_NET_DEV, _proc_net_dev(name, lines))
    if any(_netstat_header(line) for line in lines[:3]):
        return Counters(name, NETSTAT, _netstat(name, lines))
    if any(_IP_LINK.match(line) for line in lines[:3]):
        return Counters(name, IP_TEXT, _ip_text(name, lines))
    raise CounterError(name, f"not interface counters: expected the output of {FORMATS_HINT}")


def _read_text(name: str) -> str:
    try:
        with open(name, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise CounterError(name, "no such file") from None
    except IsADirectoryError:
        raise CounterError(name, "a directory, not a counter snapshot") from None
    except OSError as exc:
        raise CounterError(name, f"cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_BYTES:
        raise CounterError(name, f"larger than {MAX_BYTES >> 20} MiB: not a counter snapshot")
    if b"\0" in data:
        raise CounterError(name, f"binary data, not interface counters ({FORMATS_HINT})")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CounterError(name, f"not text (byte {exc.start} is not UTF-8): not interface "
                                 f"counters ({FORMATS_HINT})") from None


def _count(name: str, value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise CounterError(name, f"{what}: {value!r} is not a counter")
    return value


def _ip_json(name: str, text: str) -> dict[str, Counter]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        where = "truncated" if exc.pos >= len(text.rstrip()) else f"at character {exc.pos}"
        raise CounterError(name, f"not valid JSON ({where}: {exc.msg})") from None
    doc = [doc] if isinstance(doc, dict) else doc
    if not isinstance(doc, list) or not all(isinstance(x, dict) and "ifname" in x
                                            for x in doc):
        raise CounterError(name, "JSON, but not the output of ip -s -j link (a list of "
                                 "interfaces with ifname)")
    out = {}
    for link in doc:
        ifname = str(link["ifname"])
        stats = link.get("stats64", link.get("stats"))
        if not isinstance(stats, dict):
            raise CounterError(name, f"{ifname}: no statistics (take the snapshot with "
                                     "ip -s -j link: -s for the counters)")
        rx, tx = stats.get("rx"), stats.get("tx")
        if not isinstance(rx, dict) or not isinstance(tx, dict):
            raise CounterError(name, f"{ifname}: statistics without rx and tx")
        out[ifname] = Counter(*(_count(name, d.get(k), f"{ifname} {side} {k}")
                                for side, d in (("rx", rx), ("tx", tx))
                                for k in ("bytes", "packets")))
    if not out:
        raise CounterError(name, "no interfaces in the JSON")
    return out


_PROC_ROW = re.compile(r"^\s*(\S+?):\s*(\d[\d\s]*)$")


def _proc_net_dev(name: str, lines: list[str]) -> dict[str, Counter]:
    header = next((line for line in lines[:3] if "face |" in line), None)
    parts = header.split("|") if header else []
    if len(parts) < 3:
        raise CounterError(name, "a /proc/net/dev header without its columns")
    rx_cols, tx_cols = parts[1].split(), parts[2].split()
    if "bytes" not in rx_cols or "bytes" not in tx_cols:
        raise CounterError(name, "/proc/net/dev without byte counters (a Linux 2.0 "
                                 "kernel?): nothing to measure the bytes by")
    out = {}
    for n, line in enumerate(lines, 1):
        if "|" in line or not line.strip():
            continue
        m = _PROC_ROW.match(line)
        values = m.group(2).split() if m else []
        if not m or len(values) != len(rx_cols) + len(tx_cols):
            raise CounterError(name, f"line {n}: not a /proc/net/dev row "
                                     f"({len(rx_cols) + len(tx_cols)} counters after "
                                     "NAME:)")
        rx = dict(zip(rx_cols, map(int, values), strict=False))
        tx = dict(zip(tx_cols, map(int, values[len(rx_cols):]), strict=False))
        out[m.group(1)] = Counter(rx["bytes"], rx["packets"], tx["bytes"], tx["packets"])
    if not out:
        raise CounterError(name, "/proc/net/dev without interfaces")
    return out


def _netstat_header(line: str) -> bool:
    cols = line.split()
    return bool(cols) and cols[0] == "Name" and "Ipkts" in cols and "Opkts" in cols


_LINK_ROW = re.compile(r"^<Link#\d+>$")


def _netstat(name: str, lines: list[str]) -> dict[str, Counter]:
    at = next(i for i, line in enumerate(lines) if _netstat_header(line))
    cols = lines[at].split()
    if "Ibytes" not in cols or "Obytes" not in cols:
        raise CounterError(name, "netstat without byte counts: take the snapshot with "
                                 "netstat -ib (or netstat -I IFACE -b)")
    numeric = cols[cols.index("Ipkts"):]
    link_rows: dict[str, Counter] = {}
    other_rows: dict[str, Counter] = {}
    for n, line in enumerate(lines[at + 1:], at + 2):
        tokens = line.split()
        if not tokens:
            continue
        if _netstat_header(line):
            continue
        if len(tokens) < len(numeric) + 1:
            raise CounterError(name, f"line {n}: not a netstat -ib row")
        values = dict(zip(numeric, tokens[-len(numeric):], strict=True))
        ifname = tokens[0].rstrip("*")
        try:
            c = Counter(*(int(values[k]) for k in ("Ibytes", "Ipkts", "Obytes", "Opkts")))
        except ValueError:
            raise CounterError(name, f"line {n}: not a netstat -ib row (a count is not a "
                                     "number)") from None
        is_link = any(_LINK_ROW.match(t) for t in tokens[1:-len(numeric)])
        (link_rows if is_link else other_rows).setdefault(ifname, c)
    out = {k: link_rows.get(k, v) for k, v in {**other_rows, **link_rows}.items()}
    if not out:
        raise CounterError(name, "netstat -ib without interfaces")
    return out


_IP_LINK = re.compile(r"^\d+:\s+([^\s:@]+)(?:@\S*)?:\s+<")


def _ip_text(name: str, lines: list[str]) -> dict[str, Counter]:
    out, current, seen = {}, None, {}
    for n, line in enumerate(lines, 1):
        m = _IP_LINK.match(line)
        if m:
            current = m.group(1)
            seen[current] = {}
            continue
        tokens = line.split()
        if current is None or not tokens or tokens[0] not in ("RX:", "TX:"):
            continue
        nxt = lines[n].split() if n < len(lines) else []
        cols = tokens[1:]
        if "bytes" not in cols or "packets" not in cols or len(nxt) < len(cols):
            raise CounterError(name, f"line {n}: {tokens[0]} without its bytes and packets")
        try:
            values = dict(zip(cols, map(int, nxt[:len(cols)]), strict=True))
        except ValueError:
            raise CounterError(name, f"line {n + 1}: not counters") from None
        seen[current][tokens[0]] = values
    for ifname, d in seen.items():
        if "RX:" not in d or "TX:" not in d:
            raise CounterError(name, f"{ifname}: no statistics (take the snapshot with "
                                     "ip -s link: -s for the counters)")
        rx, tx = d["RX:"], d["TX:"]
        out[ifname] = Counter(rx["bytes"], rx["packets"], tx["bytes"], tx["packets"])
    if not out:
        raise CounterError(name, "ip -s link without interfaces")
    return out


_FIELDS = (("rx_bytes", "received bytes"), ("rx_packets", "received packets"),
           ("tx_bytes", "transmitted bytes"), ("tx_packets", "transmitted packets"))


def counter_deltas(before: Counters, after: Counters, member_names: Sequence[str]
                   ) -> tuple[dict[str, Counter], list[str]]:
    """What each member carried between the snapshots, and the warnings: a member missing
    from a snapshot, counters that went backwards (a reboot or a reset: the member is left
    out), or wrapped at 2**32 (counted as one wrap, said so)."""
    deltas: dict[str, Counter] = {}
    warnings: list[str] = []
    for member in member_names:
        missing = [s.path for s in (before, after) if member not in s]
        if missing:
            warnings.append(f"member {member} is not in {' nor '.join(missing)}: its "
                            "counters are unknown")
            continue
        b, a = before[member], after[member]
        values, wrapped, backwards = [], [], []
        for (_key, words), x, y in zip(_FIELDS, b, a, strict=True):
            if y >= x:
                values.append(y - x)
            elif before.wraps_at_32_bits and after.wraps_at_32_bits and x < WRAP and y < WRAP:
                values.append(y + WRAP - x)
                wrapped.append(words)
            else:
                backwards.append(f"{words} {x} -> {y}")
        if backwards:
            warnings.append(f"member {member}: counters went backwards ("
                            + ", ".join(backwards) + "): reset or rebooted between the "
                            "snapshots? Its counters are left out")
            continue
        if wrapped:
            warnings.append(f"member {member}: {', '.join(wrapped)} went down, below 2^32: "
                            "taken as one wrap of a 32-bit counter (if the interface was "
                            "reset instead, these numbers are wrong)")
        deltas[member] = Counter(*values)
    return deltas, warnings


@dataclass
class ObservedCounters:
    """What the members carried by their counters: the two snapshots' deltas, and what to
    say about them."""

    before: Counters
    after: Counters
    deltas: dict[str, Counter]  #: per member present in both snapshots, in bond order
    warnings: list[str]
    ignored: list[str]  #: interfaces of the snapshots that are not members

    @property
    def notes(self) -> list[str]:
        out = [f"observed from interface counters ({self.before.path} -> {self.after.path},"
               f" {self.before.format}): everything the members carried between the two "
               "snapshots, the captured traffic and any other; the counters and the "
               "capture measure different windows unless the capture spans the same time"]
        if self.ignored:
            out.append("interface counters ignored (not members): " + ", ".join(self.ignored))
        return out


def observed_counters(before: Counters, after: Counters, member_names: Sequence[str]
                      ) -> ObservedCounters:
    """Each member's deltas between the BEFORE and AFTER snapshots, and what to say."""
    deltas, warnings = counter_deltas(before, after, member_names)
    members = set(member_names)
    ignored = [n for n in dict.fromkeys([*before, *after]) if n not in members]
    return ObservedCounters(before, after, deltas, warnings, ignored)
