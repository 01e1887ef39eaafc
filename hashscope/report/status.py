"""``hashscope status``: what was read from a bond's status text, as a table or a dict."""

from __future__ import annotations

from rich.table import Table

from hashscope.status import BondStatus

from .terminal import console
from .text import visible


def _speed(bps: int | None) -> str:
    if bps is None:
        return ""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if bps >= scale:
            v = bps / scale
            return f"{v:g}{unit}"
    return str(bps)


def status_dict(st: BondStatus) -> dict:
    """The status as JSON: every field read, members in bond order."""
    return {
        "file": st.path, "kind": st.kind, "name": st.name, "mode": st.mode,
        "policy": st.policy, "active_aggregator": st.active_aggregator,
        "active": st.active, "down": list(st.down),
        "members": [{"name": m.name, "up": m.up, "speed": m.speed_bps,
                     "aggregator": m.aggregator, "flags": list(m.flags), "active": m.active,
                     "out": m.out or None,
                     **({"buckets": [{"hash": h, "kB": kb} for h, kb in m.buckets]}
                        if m.buckets else {})}
                    for m in st.members],
        "details": dict(st.details),
        "warnings": list(st.warnings),
        "ignored": [{"line": n, "text": t} for n, t in st.ignored],
    }


def print_status(st: BondStatus) -> None:
    """The status as a terminal table, then its warnings and the lines not understood."""
    c = console()
    v = visible
    c.print(f"{v(st.path)}: {st.kind}" + (f" {v(st.name)}" if st.name else ""))
    c.print(f"mode: {v(st.mode or '(not read)')}    policy: {v(st.policy or '(not read)')}"
            + (f"    active aggregator: {st.active_aggregator}"
               if st.active_aggregator is not None else ""))
    for key, value in st.details:
        c.print(f"  {v(key)}: {v(value)}")
    t = Table()
    for col in ("#", "member", "up", "speed", "aggregator", "flags", "sent on"):
        t.add_column(col, justify="right" if col in ("#", "speed", "aggregator") else "left")
    for i, m in enumerate(st.members):
        flags = ",".join(m.flags)
        if m.buckets:
            flags += ("," if flags else "") + f"{len(m.buckets)} hash buckets " \
                     f"({sum(kb for _, kb in m.buckets)} kB)"
        sent = "no: " + m.out if m.out else ("yes (active)" if m.active else "yes")
        t.add_row(str(i), v(m.name), "up" if m.up else "down", _speed(m.speed_bps),
                  "" if m.aggregator is None else str(m.aggregator), v(flags), v(sent))
    c.print(t)
    for w in st.warnings:
        c.print(f"warning: {v(w)}")
    if st.ignored:
        c.print(f"{len(st.ignored)} lines not understood (ignored):")
        for n, text in st.ignored:
            c.print(f"  {n}: {v(text)}")
