"""The numbers that every output of analyze and compare shows (terminal, JSON, and later
the report): one place computes them, the writers only lay them out."""

from __future__ import annotations

import numpy as np
import pandas as pd

from hashscope.analysis.analyze import Analysis, PolicyResult
from hashscope.analysis.imbalance import best_aggregate
from hashscope.analysis.observed import moves
from hashscope.analysis.spans import member_spans
from hashscope.status.counters import ObservedCounters

from .text import protocol_name


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


def _endpoint(addr: str, mac: str) -> str:
    return addr or mac


def flow_rows(a: Analysis, flows: pd.DataFrame) -> pd.DataFrame:
    """Flows of a member comparison (:class:`MemberComparison` ``flows`` rows) with their
    addresses, ports and protocol."""
    f = a.flows.loc[flows["flow"].to_numpy()]
    return pd.DataFrame({
        "src": [_endpoint(x, m) for x, m in zip(f["src"], f["src_mac"], strict=True)],
        "sport": f["sport"].to_numpy(),
        "dst": [_endpoint(x, m) for x, m in zip(f["dst"], f["dst_mac"], strict=True)],
        "dport": f["dport"].to_numpy(),
        "proto": [protocol_name(p, v) for p, v in zip(f["proto"], f["ip_version"],
                                                      strict=True)],
        "bytes": flows["bytes"].to_numpy(), "predicted": flows["predicted"].to_numpy(),
        "observed": flows["observed"].to_numpy()})


def comparison_dict(a: Analysis, r: PolicyResult, top: int) -> dict | None:
    """Observed against predicted for one policy (None without member captures)."""
    o = r.observed
    if o is None:
        return None
    bad, moved = o.disagreeing().head(top), o.moved().head(top)
    timeline = moves(a.on_members, moved["flow"].to_numpy(), r.setup.members)
    moved_rows = flow_rows(a, moved).to_dict(orient="records")
    for row, flow in zip(moved_rows, moved["flow"].tolist(), strict=True):
        row["members"] = timeline.get(int(flow), [])
    spans = member_spans(a.on_members, r.setup.members.names)
    agreement = {"flows": o.by_flows, "bytes": o.by_bytes}
    if o.by_frames is not None:
        agreement["frames"] = o.by_frames
    return {"agreement": agreement,
            "spans": {m: {"first_ns": f, "last_ns": la, "frames": n}
                      for m, (f, la, n) in spans.items()},
            "flows_judged": o.flows_judged, "flows_agreeing": o.flows_agreeing,
            "bytes_judged": o.bytes_judged, "bytes_agreeing": o.bytes_agreeing,
            "members": o.members,
            "disagreeing_flows": len(o.disagreeing()),
            "disagreeing": flow_rows(a, bad).to_dict(orient="records"),
            "moved_flows": len(o.moved()), "moved": moved_rows}


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
        if r.observed is not None:
            entry["observed_vs_predicted"] = comparison_dict(a, r, top)
        out["policies"].append(entry)
    return out


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


def compare_dict(a: Analysis, link_bps: float | None) -> dict:
    """compare's JSON: the counts, the assumptions and one record per policy, most even
    first."""
    return {"packets": a.packets, "sent_packets": a.sent_packets,
            "assumptions": a.assumptions,
            "policies": compare_frame(a, link_bps).to_dict("records")}


def counters_dict(seen: ObservedCounters, r: PolicyResult) -> dict:
    """What the members carried by their interface counters (``observed_counters`` of
    analyze's JSON): per member and direction packets, bytes and share, and the predicted
    share beside transmit."""
    names = list(r.setup.members.names)
    predicted = max(int(r.load.bytes.sum()), 1)
    rows = []
    for direction, b, k in (("transmit", "tx_bytes", "tx_packets"),
                            ("receive", "rx_bytes", "rx_packets")):
        total = max(sum(getattr(d, b) for d in seen.deltas.values()), 1)
        for i, name in enumerate(names):
            d = seen.deltas.get(name)
            if d is None:
                continue
            rows.append({"member": name, "direction": direction, "packets": getattr(d, k),
                         "bytes": getattr(d, b), "share": getattr(d, b) / total,
                         "predicted_share": (int(r.load.bytes[i]) / predicted
                                             if direction == "transmit" else None)})
    return {"before": seen.before.path, "after": seen.after.path,
            "format": seen.before.format if seen.before.format == seen.after.format
            else f"{seen.before.format}, {seen.after.format}",
            "members": rows, "ignored": seen.ignored, "warnings": seen.warnings,
            "notes": seen.notes}
