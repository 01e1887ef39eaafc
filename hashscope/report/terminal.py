"""Tables and lines for a reader: the one console that the terminal, pipes and ``-o`` files
all print through.

Text from a capture (interface names, addresses) is shown exactly as it is: the console
reads no markup and highlights nothing, so an interface named ``[bold]`` prints as
``[bold]`` on a terminal and in a file alike.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from hashscope.analysis.analyze import Analysis
from hashscope.analysis.imbalance import best_aggregate, format_rate
from hashscope.flows.read import FlowResult
from hashscope.hashes.policy import Policy

from .summary import comparison_dict, describe, heaviest, key_summary, member_frame
from .text import protocol_name, visible

FLOWS_WIDTH = 160  #: columns of a flow table written anywhere but a terminal
REPORT_WIDTH = 120  #: columns of analyze, compare and policies anywhere but a terminal


def cells(*values) -> list[str]:
    """Table cells as text a terminal shows safely (:func:`visible`)."""
    return [visible(str(v)) for v in values]


def console(stream: TextIO | None = None, width: int = REPORT_WIDTH) -> Console:
    """The console printing to ``stream`` (default stdout): ``width`` columns, or the
    terminal's own width when ``stream`` is one."""
    stream = sys.stdout if stream is None else stream
    return Console(file=stream, markup=False, highlight=False,
                   width=None if stream.isatty() else width)


def shows_progress() -> bool:
    """A progress bar on stderr: only on a terminal, and never under CI."""
    return sys.stderr.isatty() and not os.environ.get("CI")


def print_analysis(a: Analysis, link_bps: float | None, top: int, defaults: list[str],
                   found: list[dict] = (), counters: dict | None = None) -> None:
    """analyze's tables (its findings first, :func:`print_findings`; with ``counters``,
    :func:`print_counters` under them)."""
    c = console()
    print_findings(c, list(found))
    for r in a.results:
        imb = r.imbalance()
        c.print(describe(r))
        t = Table()
        for col in ("member", "flows", "packets", "bytes", "share"):
            t.add_column(col, justify="left" if col == "member" else "right")
        for row in member_frame(r, len(a.flows)).itertuples(index=False):
            name = row.member + ("" if row.up else " (down)")
            t.add_row(*cells(name, str(row.flows), str(row.packets), str(row.bytes),
                      f"{100 * row.share:.1f}%"))
        c.print(t)
        c.print(f"imbalance (bytes over the members that are up): max/mean {imb.max_mean:.2f}, "
                f"CV {imb.cv:.2f}, Jain's index {imb.jain:.3f}")
        if r.load.unknown_packets:
            c.print(f"{r.load.unknown_packets} sent packets ({r.load.unknown_bytes} bytes): "
                    "member not predictable (see `hashscope policies`)")
        ks = key_summary(r)
        if ks:
            c.print(f"the key is random per bond: over {ks['keys']} random keys max/mean is "
                    f"{ks['max_mean_expected']:.2f} on average, {ks['max_mean_worst']:.2f} "
                    f"at worst, {ks['max_mean_best']:.2f} at best (give --seed for one key)")
            if ks["max_mean_worst"] - ks["max_mean_best"] < 1e-9:
                c.print("every key gives the same spread: here the key only relabels the "
                        "members (FNV-1's low bits, with a power-of-two member count)")
        if link_bps:
            up = r.setup.members.up
            best = best_aggregate(r.load.bytes[up], link_bps)
            c.print(f"best aggregate throughput for this traffic: {format_rate(best)} of "
                    f"{format_rate(link_bps * int(up.sum()))} (a flow never exceeds one "
                    "member; the busiest member limits the rest)")
        hv = heaviest(a, r, top)
        if len(hv):
            ht = Table(title=f"heaviest flows and their member ({r.policy.name})")
            for col in hv.columns:
                ht.add_column(col, justify="right" if col in ("sport", "dport", "bytes")
                              else "left")
            for row in hv.itertuples(index=False):
                ht.add_row(*cells(*(str(v) for v in row)))
            c.print(ht)
        if r.observed is not None:
            print_comparison(c, comparison_dict(a, r, top), r.policy.name)
    if len(a.observed) > 1 and a.on_members is None:
        ot = Table(title="observed: frames sent per capture interface")
        for col in ("interface", "packets", "bytes", "share"):
            ot.add_column(col, justify="left" if col == "interface" else "right")
        total = max(int(a.observed["bytes"].sum()), 1)
        for row in a.observed.itertuples(index=False):
            ot.add_row(*cells(row.interface, str(row.packets), str(row.bytes),
                       f"{100 * row.bytes / total:.1f}%"))
        c.print(ot)
    if counters is not None:
        print_counters(c, counters)
    caveats = [r.policy.caveat for r in a.results if r.policy.caveat]
    for line in defaults + a.assumptions + caveats:
        c.print(f"note: {visible(line)}")


def print_counters(c: Console, d: dict) -> None:
    """What the members carried by their interface counters (:func:`counters_dict`), with
    the predicted share beside transmit, its warnings and notes."""
    t = Table(title="observed from interface counters")
    for col in ("member", "direction", "packets", "bytes", "share", "predicted share"):
        t.add_column(col, justify="left" if col in ("member", "direction") else "right")
    for m in d["members"]:
        pred = m["predicted_share"]
        t.add_row(*cells(m["member"], m["direction"], str(m["packets"]), str(m["bytes"]),
                  f"{100 * m['share']:.1f}%", "" if pred is None else f"{100 * pred:.1f}%"))
    c.print(t)
    for line in d["warnings"]:
        c.print(f"warning: {visible(line)}")
    for line in d["notes"]:
        c.print(f"note: {visible(line)}")


def _time(ns: int) -> str:
    return str(pd.Timestamp(int(ns), unit="ns", tz="UTC").strftime("%H:%M:%S.%f")[:-3])


def print_findings(c: Console, found: list[dict]) -> None:
    """The findings of a post-mortem (:mod:`.findings`), the costly ones first."""
    if not found:
        return
    c.print("findings:")
    for f in found:
        c.print(f"  {f['severity']}: {visible(f['title'])}")
        c.print(f"    {visible(f['text'])}")
    c.print("")


def print_comparison(c: Console, d: dict, policy: str) -> None:
    """Observed against predicted (:func:`comparison_dict`)."""
    t = Table(title=f"observed on the members against predicted ({policy})")
    cols = ("member", "direction", "seen packets", "seen bytes", "seen share",
            "predicted packets", "bytes", "share")
    for col in cols:
        t.add_column(col, justify="left" if col in ("member", "direction") else "right")
    for m in d["members"]:
        if m["direction"] == "receive" and not m["observed_packets"]:
            continue
        pred = ([str(m["predicted_packets"]), str(m["predicted_bytes"]),
                 f"{100 * m['predicted_share']:.1f}%"] if m["direction"] == "transmit"
                else ["", "", ""])
        t.add_row(*cells(m["member"], m["direction"], str(m["observed_packets"]),
                  str(m["observed_bytes"]), f"{100 * m['observed_share']:.1f}%", *pred))
    c.print(t)
    c.print("captured: " + "; ".join(f"{visible(m)} {_time(s['first_ns'])} to "
                                     f"{_time(s['last_ns'])} UTC ({s['frames']} frames)"
                                     for m, s in d["spans"].items()))
    frames = d["agreement"].get("frames")
    c.print(f"agreement with {policy}: {100 * d['agreement']['flows']:.2f}% of "
            f"{d['flows_judged']} flows, {100 * d['agreement']['bytes']:.2f}% of "
            f"{d['bytes_judged']} bytes"
            + (f", {100 * frames:.2f}% of the frames" if frames is not None else "")
            + " (a flow agrees when it was seen on exactly the members predicted for it)")
    if d["agreement"]["flows"] < 1:
        c.print("`hashscope infer` with these captures finds the configuration that explains "
                "what the members carried")
    for title, key, count in (("disagreeing flows, largest first", "disagreeing",
                               "disagreeing_flows"),
                              ("flows seen on more than one member", "moved", "moved_flows")):
        if not d[key]:
            continue
        ft = Table(title=f"{title} ({len(d[key])} of {d[count]})")
        for col in ("src", "sport", "dst", "dport", "proto", "bytes", "predicted",
                    "observed"):
            ft.add_column(col, justify="right" if col in ("sport", "dport", "bytes")
                          else "left")
        if key == "moved":
            ft.add_column("when (UTC)")
        for row in d[key]:
            values = [str(row[col]) for col in ("src", "sport", "dst", "dport", "proto",
                                               "bytes", "predicted", "observed")]
            if key == "moved":
                values.append(" then ".join(f"{m['member']} {_time(m['first_ns'])}-"
                                           f"{_time(m['last_ns'])}" for m in row["members"]))
            ft.add_row(*cells(*values))
        c.print(ft)


def print_compare(df: pd.DataFrame, title: str, notes: list[str]) -> None:
    c = console()
    t = Table(title=title)
    for col in df.columns:
        t.add_column(col, justify="left" if col in ("policy", "accuracy") else "right")
    for row in df.itertuples(index=False):
        values = []
        for col, v in zip(df.columns, row, strict=True):
            if col == "best_aggregate_bps":
                values.append(format_rate(v))
            elif isinstance(v, float):
                values.append("" if np.isnan(v) else f"{v:.3f}")
            else:
                values.append(str(v))
        t.add_row(*cells(*values))
    c.print(t)
    c.print("max_mean: busiest member / mean member by bytes (1.00 is even); for keyed "
            "policies the average over random keys, worst_key_max_mean the worst")
    for line in notes:
        c.print(f"note: {visible(line)}")


def print_policies(policies: list[Policy]) -> None:
    c = console()
    t = Table(title=f"{len(policies)} policies")
    for col in ("policy", "accuracy", "description"):
        t.add_column(col)
    for p in policies:
        t.add_row(*cells(p.name, p.accuracy + (", random key" if p.keyed else ""), p.summary))
    c.print(t)


def print_flows(result: FlowResult, top: int, stream: TextIO | None = None) -> None:
    """The flow table, largest first (``top`` rows, 0 for all), and what it leaves out."""
    c = console(stream, FLOWS_WIDTH)
    df = result.flows
    shown = df if top <= 0 else df.head(top)
    total_bytes = int(df["bytes"].sum()) or 1
    table = Table(title=f"{len(df)} flows, {result.packets} packets"
                  + (f" (showing the {len(shown)} largest)" if len(shown) < len(df) else ""))
    for col, just in (("src", "left"), ("sport", "right"), ("dst", "left"), ("dport", "right"),
                      ("proto", "left"), ("vlan", "right"), ("packets", "right"),
                      ("bytes", "right"), ("share", "right"), ("interfaces", "left")):
        table.add_column(col, justify=just)
    for row in shown.itertuples(index=False):
        src = row.src or row.src_mac
        dst = row.dst or row.dst_mac
        proto = protocol_name(row.proto, row.ip_version) or (
            f"0x{row.ethertype:04x}" if row.ethertype else "802.3")
        has_ports = row.sport or row.dport
        table.add_row(*cells(src, str(row.sport) if has_ports else "", dst,
                      str(row.dport) if has_ports else "", proto,
                      "" if pd.isna(row.vlan) else str(row.vlan), f"{row.packets}",
                      f"{row.bytes}", f"{100 * row.bytes / total_bytes:.1f}%", row.interfaces))
    c.print(table)
    if result.undecoded:
        c.print(f"{result.undecoded} packets had no decodable link-layer header and are not "
                "in the table")
