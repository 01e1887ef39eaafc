"""Turning analyses into terminal tables and JSON (analyze, compare, policies)."""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from hashscope.analysis.analyze import Analysis, PolicyResult
from hashscope.analysis.imbalance import best_aggregate, format_rate
from hashscope.hashes.policy import Policy

from .files import protocol_name


def console() -> Console:
    return Console(markup=False, highlight=False, width=None if sys.stdout.isatty() else 120)


def describe(r: PolicyResult) -> str:
    """One line: the policy, how exact it is, and the settings that matter."""
    s = r.setup
    bits = [f"{r.policy.name} ({r.policy.accuracy})", f"{s.members.count} members"]
    if r.policy.family == "linux":
        bits += [f"mode {s.mode or '802.3ad'}", s.kernel.describe(), f"--vlan {s.vlan}"]
    elif r.policy.family == "freebsd":
        bits += [f"laggproto {s.mode or 'lacp'}", f"FreeBSD {s.freebsd}", f"--vlan {s.vlan}"]
    if r.keys:
        bits.append(f"random key: tables for key {r.keys[0]:#010x}, one of {len(r.keys)}")
    elif s.seed is not None and r.policy.keyed:
        bits.append(f"key {s.seed:#010x}")
    if s.members.down:
        bits.append("down: " + ",".join(s.members.names[i] for i in sorted(s.members.down)))
    return "; ".join(bits)


def member_frame(r: PolicyResult, n_flows: int) -> pd.DataFrame:
    m, load = r.setup.members, r.load
    total = max(int(load.bytes.sum()), 1)
    return pd.DataFrame({
        "member": list(m.names),
        "up": m.up,
        "flows": load.flows_per_link(n_flows),
        "packets": load.packets,
        "bytes": load.bytes,
        "share": load.bytes / total,
    })


def flow_members(r: PolicyResult, flow_ids: np.ndarray) -> list[str]:
    """The member(s) each flow used, by name."""
    names = r.setup.members.names
    out = []
    for mask in r.load.flow_links[flow_ids].tolist():
        out.append(",".join(names[i] for i in range(len(names)) if mask >> i & 1) or "-")
    return out


def key_summary(r: PolicyResult) -> dict | None:
    if not r.key_imbalance:
        return None
    mm = np.array([k.max_mean for k in r.key_imbalance])
    return {"keys": len(mm), "max_mean_expected": float(mm.mean()),
            "max_mean_median": float(np.median(mm)), "max_mean_worst": float(mm.max()),
            "max_mean_best": float(mm.min())}


def heaviest(a: Analysis, r: PolicyResult, top: int) -> pd.DataFrame:
    flows = a.flows[a.flows.index < len(r.load.flow_links)]
    flows = flows[r.load.flow_links[flows.index.to_numpy()] > 0].head(top)
    return pd.DataFrame({
        "src": [s or m for s, m in zip(flows["src"], flows["src_mac"], strict=True)],
        "sport": flows["sport"].to_numpy(), "dst": [d or m for d, m in zip(
            flows["dst"], flows["dst_mac"], strict=True)],
        "dport": flows["dport"].to_numpy(),
        "proto": [protocol_name(p, v) for p, v in zip(flows["proto"], flows["ip_version"],
                                                      strict=True)],
        "bytes": flows["bytes"].to_numpy(), "member": flow_members(r, flows.index.to_numpy()),
    })


def analysis_dict(a: Analysis, link_bps: float | None, top: int) -> dict:
    out = {"packets": a.packets, "sent_packets": a.sent_packets, "sent_bytes": a.sent_bytes,
           "flows": len(a.flows), "assumptions": a.assumptions,
           "observed": a.observed.to_dict(orient="records"), "policies": []}
    for r in a.results:
        up = r.setup.members.up
        entry = {"policy": r.policy.name, "accuracy": r.policy.accuracy, "setup": describe(r),
                 "caveat": r.policy.caveat,
                 "members": member_frame(r, len(a.flows)).to_dict(orient="records"),
                 "unpredicted_packets": r.load.unknown_packets,
                 "imbalance": r.imbalance().as_dict(),
                 "heaviest_flows": heaviest(a, r, top).to_dict(orient="records")}
        if link_bps:
            entry["best_aggregate_bps"] = best_aggregate(r.load.bytes[up], link_bps)
            entry["capacity_bps"] = link_bps * int(up.sum())
        if r.key_imbalance:
            entry["over_random_keys"] = key_summary(r)
        out["policies"].append(entry)
    return out


def print_json(data: dict) -> None:
    sys.stdout.write(json.dumps(data, indent=1, default=_jsonable) + "\n")


def _jsonable(x):
    if isinstance(x, np.generic):
        return x.item()
    return str(x)


def print_analysis(a: Analysis, link_bps: float | None, top: int, defaults: list[str]) -> None:
    c = console()
    for r in a.results:
        imb = r.imbalance()
        c.print(describe(r))
        t = Table()
        for col in ("member", "flows", "packets", "bytes", "share"):
            t.add_column(col, justify="left" if col == "member" else "right")
        for row in member_frame(r, len(a.flows)).itertuples(index=False):
            name = row.member + ("" if row.up else " (down)")
            t.add_row(name, str(row.flows), str(row.packets), str(row.bytes),
                      f"{100 * row.share:.1f}%")
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
                ht.add_row(*(str(v) for v in row))
            c.print(ht)
    if len(a.observed) > 1:
        ot = Table(title="observed: frames sent per capture interface")
        for col in ("interface", "packets", "bytes", "share"):
            ot.add_column(col, justify="left" if col == "interface" else "right")
        total = max(int(a.observed["bytes"].sum()), 1)
        for row in a.observed.itertuples(index=False):
            ot.add_row(row.interface, str(row.packets), str(row.bytes),
                       f"{100 * row.bytes / total:.1f}%")
        c.print(ot)
    caveats = [r.policy.caveat for r in a.results if r.policy.caveat]
    for line in defaults + a.assumptions + caveats:
        c.print(f"note: {line}")


def compare_frame(a: Analysis, link_bps: float | None) -> pd.DataFrame:
    rows = []
    for r in a.results:
        imb = r.imbalance()
        ks = key_summary(r)
        up = r.setup.members.up
        row = {"policy": r.policy.name, "accuracy": r.policy.accuracy,
               "max_mean": ks["max_mean_expected"] if ks else imb.max_mean,
               "worst_key_max_mean": ks["max_mean_worst"] if ks else np.nan,
               "cv": imb.cv, "jain": imb.jain, "busiest_share": imb.busiest_share,
               "unpredicted_packets": r.load.unknown_packets}
        if link_bps:
            row["best_aggregate_bps"] = best_aggregate(r.load.bytes[up], link_bps)
        rows.append(row)
    df = pd.DataFrame(rows, columns=["policy", "accuracy", "max_mean", "worst_key_max_mean",
                                     "cv", "jain", "busiest_share", "unpredicted_packets",
                                     *(["best_aggregate_bps"] if link_bps else [])])
    return df.sort_values(["max_mean", "cv"], kind="stable").reset_index(drop=True)


def print_compare(df: pd.DataFrame, title: str, notes: list[str]) -> None:
    c = console()
    t = Table(title=title)
    for col in df.columns:
        t.add_column(col, justify="left" if col in ("policy", "accuracy") else "right")
    for row in df.itertuples(index=False):
        cells = []
        for col, v in zip(df.columns, row, strict=True):
            if col == "best_aggregate_bps":
                cells.append(format_rate(v))
            elif isinstance(v, float):
                cells.append("" if np.isnan(v) else f"{v:.3f}")
            else:
                cells.append(str(v))
        t.add_row(*cells)
    c.print(t)
    c.print("max_mean: busiest member / mean member by bytes (1.00 is even); for keyed "
            "policies the average over random keys, worst_key_max_mean the worst")
    for line in notes:
        c.print(f"note: {line}")


def print_policies(policies: list[Policy]) -> None:
    c = console()
    t = Table(title=f"{len(policies)} policies")
    for col in ("policy", "accuracy", "description"):
        t.add_column(col)
    for p in policies:
        t.add_row(p.name, p.accuracy + (", random key" if p.keyed else ""), p.summary)
    c.print(t)
