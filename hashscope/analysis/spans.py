"""When each member capture ran, and whether they ran at the same time.

Captures taken on the members start and stop at different times (tcpdump started by hand
on each). A flow that ran while only one of them was capturing is seen on that member
only, which says nothing about the others: the comparison is only fair where the spans
overlap. :func:`overlap_warning` says when they barely do. A pcap does not say when a
capture started and stopped, only when its first and last frames were: a member that
stopped carrying traffic (a failover) looks the same, and the warning says so.
"""

from __future__ import annotations

import pandas as pd

BARELY = 0.25 #: warn when the common span is below this share of the whole


def clock(ns: int) -> str:
    return pd.Timestamp(int(ns), unit="ns", tz="UTC").strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def overlap_warning(spans: dict[str, tuple[int, int, int]]) -> str | None:
    """A warning when the members' capture spans ((first ns, last ns, frames) per member
    with frames) barely overlap; None when they overlap well or there is one span."""
    live = {m: (a, b) for m, (a, b, n) in spans.items() if n}
    if len(live) < 2:
        return None
    start = max(a for a, _ in live.values())
    end = min(b for _, b in live.values())
    whole = max(b for _, b in live.values()) - min(a for a, _ in live.values())
    common = max(end - start, 0)
    if whole == 0 or common >= BARELY * whole:
        return None
    text = ", ".join(f"{m} {clock(a)} to {clock(b)}" for m, (a, b) in live.items())
    return (f"the member captures barely overlap in time ({common / 1e9:.3f} s in common "
            f"of {whole / 1e9:.3f} s, by their first and last frames): {text}; if they were "
            "not taken at the same time, a flow outside the common span is seen on one "
            "member only; if they were, a member stopped or started carrying traffic (a "
            "failover, a link going down)")


def member_spans(on_members: pd.DataFrame, names: tuple[str, ...]
                 ) -> dict[str, tuple[int, int, int]]:
    """(first ns, last ns, frames) per member from :meth:`MemberFold.frame` rows."""
    g = on_members.groupby("member").agg(first=("first", "min"), last=("last", "max"),
                                         packets=("packets", "sum"))
    return {names[int(m)]: (int(r.first), int(r.last), int(r.packets))
            for m, r in g.iterrows()}
