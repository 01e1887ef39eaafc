"""The post-mortem as one JSON-able document (``summary.json``, schema
:data:`SCHEMA_VERSION`): the numbers the page, its charts and the terminal show. The
charts and the page read only this, so all three show the same numbers.
"""

from __future__ import annotations

from importlib.metadata import version as installed_version

import numpy as np
import pandas as pd

from hashscope.analysis.postmortem import PostMortem
from hashscope.plan.odds import curve, streams_for, uniform_shares

from .findings import Finding, busiest_spread, findings, sent_flows
from .summary import comparison_dict, describe
from .text import protocol_name

SCHEMA_VERSION = 1
#: one colour per member, across every chart (matplotlib's tab10, then tab20's light ones)
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896",
           "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5")
SIGNIFICANT = 0.01  #: a flow or member "counts" from this share of the bytes on
CDF_POINTS = 200  #: points of the flow-size distribution
INFER_ROWS = 12  #: infer's candidates shown


def _members(pm: PostMortem) -> list[dict]:
    m = pm.setup.members
    return [{"name": name, "up": bool(up), "color": PALETTE[i % len(PALETTE)]}
            for i, (name, up) in enumerate(zip(m.names, m.up, strict=True))]


def _loads(pm: PostMortem, n_flows: int, counters: dict | None = None) -> list[dict]:
    """Per member and direction predicted and observed: observed from the member captures,
    or without them from the interface counters (:func:`.summary.counters_dict`)."""
    r = pm.current
    flows_per = r.load.flows_per_link(n_flows)
    observed = {(m["member"], m["direction"]): m for m in (r.observed.members if r.observed
                                                         else [])}
    if r.observed is None and counters is not None:
        observed = {(m["member"], m["direction"]): {"observed_packets": m["packets"],
                                                    "observed_bytes": m["bytes"]}
                    for m in counters["members"]}
    out = []
    for i, name in enumerate(pm.setup.members.names):
        for d in ("transmit", "receive"):
            o = observed.get((name, d))
            out.append({"member": name, "direction": d,
                        "predicted_packets": int(r.load.packets[i]) if d == "transmit" else None,
                        "predicted_bytes": int(r.load.bytes[i]) if d == "transmit" else None,
                        "predicted_flows": int(flows_per[i]) if d == "transmit" else None,
                        "observed_packets": o["observed_packets"] if o else None,
                        "observed_bytes": o["observed_bytes"] if o else None})
    return out


def _timeline(pm: PostMortem) -> dict | None:
    t = pm.analysis.timeline
    if t is None or not t.bytes.any():
        return None
    used = np.flatnonzero(t.bytes.any(axis=0))
    lo, hi = int(used[0]), int(used[-1]) + 1
    names = pm.setup.members.names

    def series(kind: str, name: str) -> list[int]:
        return t.series(f"{kind}:{name}")[lo:hi].tolist()

    observed = None
    if pm.analysis.on_members is not None:
        observed = {m: {"transmit": series("transmit", m), "receive": series("receive", m)}
                    for m in names}
    return {"start_ns": t.start_ns + lo * t.bin_ns, "bin_ns": t.bin_ns, "bins": hi - lo,
            "predicted": {m: series("predicted", m) for m in names}, "observed": observed}


def _ns(t) -> int:
    return int(t.value) if isinstance(t, pd.Timestamp) else int(t)


def _endpoint(addr: str, mac: str) -> str:
    return addr or mac


def _heaviest(pm: PostMortem, flows: pd.DataFrame, top: int) -> list[dict]:
    f = flows.head(top)
    names = pm.setup.members.names
    o = pm.current.observed
    seen = (o.flows.set_index("flow") if o is not None else None)
    moved = set(o.moved()["flow"].tolist()) if o is not None else set()
    out = []
    for fid, row in zip(f.index.tolist(), f.itertuples(index=False), strict=True):
        s = seen.loc[fid] if seen is not None and fid in seen.index else None
        out.append({"src": _endpoint(row.src, row.src_mac), "sport": int(row.sport),
                    "dst": _endpoint(row.dst, row.dst_mac), "dport": int(row.dport),
                    "proto": protocol_name(row.proto, row.ip_version),
                    "packets": int(row.packets), "bytes": int(row.bytes),
                    "first_ns": _ns(row.first), "last_ns": _ns(row.last),
                    "predicted": names[row.link] if row.link >= 0 else None,
                    "observed": (s["observed"] or None) if s is not None else None,
                    "agrees": bool(s["agrees"]) if s is not None and s["judged"] else None,
                    "moved": fid in moved})
    return out


def _policies(pm: PostMortem) -> list[dict]:
    inf = pm.inference("transmit")
    inferred = inf.best.policy if inf is not None and inf.explained and inf.best else None
    out = []
    for r in pm.analysis.results:
        if not r.load.bytes.sum():
            continue
        imb = r.imbalance()
        out.append({"policy": r.policy.name, "accuracy": r.policy.accuracy,
                    "busiest_share": busiest_spread(r), "jain": imb.jain, "max_mean": imb.max_mean,
                    "random_key": bool(r.key_imbalance), "current": r is pm.current,
                    "inferred": r.policy.name == inferred})
    return out


def _streams(pm: PostMortem, flows: pd.DataFrame) -> dict:
    n = int(pm.setup.members.up.sum())
    shares = uniform_shares(max(n, 1))
    need = {f"{p:g}": streams_for(p, shares) if n > 1 else 1 for p in (0.5, 0.9, 0.95, 0.99)}
    total = max(int(flows["bytes"].sum()), 1)
    streams = int((flows["bytes"] >= SIGNIFICANT * total).sum())
    load = pm.current.load.bytes[pm.setup.members.up]
    used = int((load >= SIGNIFICANT * max(load.sum(), 1)).sum())
    up_to = max(2 * (need["0.99"] or n), streams + 2, 8)
    return {"members": n, "curve": [[k, p] for k, p in curve(shares, up_to)],
            "current_streams": streams, "current_members_used": used, "streams_for": need}


def _matrix(pm: PostMortem) -> dict | None:
    obs = pm.analysis.on_members
    if obs is None:
        return None
    names = list(pm.setup.members.names)
    n = len(names)
    fl = pm.current.load.flow_links
    sent = obs[obs["sent"] & (obs["flow"] < len(fl))]
    masks = fl[sent["flow"].to_numpy()].astype(np.int64)
    single = (masks > 0) & ((masks & (masks - 1)) == 0)
    pred = np.log2(np.maximum(masks[single], 1)).astype(np.int64)
    seen = sent["member"].to_numpy()[single]
    cell = pred * n + seen
    flows = np.bincount(cell, minlength=n * n)[: n * n].reshape(n, n)
    by = np.bincount(cell, weights=sent["bytes"].to_numpy()[single], minlength=n * n)
    return {"members": names, "flows": flows.astype(int).tolist(),
            "bytes": by[: n * n].reshape(n, n).astype(np.int64).tolist()}


def _flow_sizes(flows: pd.DataFrame) -> dict:
    size = np.sort(flows["bytes"].to_numpy().astype(np.int64))
    if not len(size):
        return {"cdf": [], "top_share": {}}
    total = max(int(size.sum()), 1)
    cum = np.cumsum(size) / total
    at = np.unique(np.linspace(0, len(size) - 1, min(CDF_POINTS, len(size))).astype(int))
    desc = size[::-1]
    return {"cdf": [[int(size[i]), (i + 1) / len(size), float(cum[i])] for i in at],
            "top_share": {str(k): float(desc[:k].sum() / total) for k in (1, 10, 100)
                          if k <= len(size) or k == 1}}


def _short(text: str | None, limit: int = 160) -> str | None:
    return text if text is None or len(text) <= limit else text[: limit - 1] + "…"


def _inference(inf) -> dict:
    """One direction of ``infer``'s answer, for a reader: the verdict, and the candidates
    as rows (the full answer is ``hashscope infer --format json``)."""
    best = inf.best if inf.explained else None
    return {
        "explained": inf.explained, "reason": inf.reason,
        "approximate": inf.approximate,
        "direction_from": inf.observations.direction_source,
        "reproduce_with": " ".join(best.args()) if best is not None else None,
        "candidates": [{"candidate": c.label(), "links": ",".join(c.links),
                        "agreement_flows": c.evaluation.by_flows,
                        "agreement_bytes": c.evaluation.by_bytes,
                        "chance": c.evaluation.chance, "deciding_flows": c.deciding_flows,
                        "equivalent": len(c.also), "note": _short(c.note)}
                       for c in inf.candidates[:INFER_ROWS]]}


def _joined(texts) -> str | None:
    return " | ".join(texts) if texts else None


def _captures(pm: PostMortem) -> list[dict]:
    """Each file: its sections' text, and its interfaces with theirs and their counters."""
    text, stats = pm.analysis.captures, pm.analysis.interface_stats
    if text is None:
        return []
    out = []
    for path, names in text.files:
        secs = [s for s in text.sections if s.path == path]
        first = secs[0] if secs else None
        out.append({
            "path": path, "comment": _joined([c for s in secs for c in s.comments]),
            "hardware": first.hardware if first else None,
            "os": first.os if first else None,
            "application": first.userappl if first else None,
            "interfaces": [{"name": n, "description": text.descriptions.get(n),
                            "comment": _joined(text.interface_comments.get(n, ())),
                            "received": stats.get(n, {}).get("ifrecv"),
                            "dropped": stats.get(n, {}).get("ifdrop")} for n in names]})
    return out


def _data_quality(pm: PostMortem) -> dict:
    a, r = pm.analysis, pm.current
    return {"duplicates": a.duplicates, "snapped_frames": a.snapped,
            "unpredicted_packets": r.load.unknown_packets,
            "interface_drops": {k: v["ifdrop"] for k, v in a.interface_stats.items()
                                if "ifdrop" in v},
            "warnings": [str(w) for w in a.warnings]}


def summary(pm: PostMortem, found: list[Finding] | None = None, *, inputs: list[str],
            title: str, notes: list[str], top: int = 20, counters: dict | None = None
            ) -> dict:
    """The post-mortem's document (``found``: its findings, computed when not given;
    ``counters``: the members' interface counters, :func:`.summary.counters_dict`)."""
    a, r = pm.analysis, pm.current
    found = findings(pm) if found is None else found
    flows = sent_flows(pm)
    inference = {i.direction: _inference(i) for i in pm.inferences} or None
    if counters is not None:
        used = ("the loads' observed packets and bytes are the interface counters'"
                if r.observed is None else "the loads' observed packets and bytes are the "
                "member captures' (the interface counters are in observed_counters)")
        notes = [*notes, *counters["notes"], used,
                 *(f"interface counters: {w}" for w in counters["warnings"])]
    doc = {
        "schema_version": SCHEMA_VERSION,
        "generator": f"hashscope {installed_version('hashscope')}",
        "title": title, "inputs": inputs,
        "packets": a.packets, "sent_packets": a.sent_packets, "sent_bytes": a.sent_bytes,
        "flows": len(a.flows), "policy": r.policy.name, "setup": describe(r),
        "link_speed_bps": pm.link_bps,
        "members": _members(pm),
        "findings": [f.as_dict() for f in found],
        "loads": _loads(pm, len(a.flows), counters),
        "timeline": _timeline(pm),
        "heaviest_flows": _heaviest(pm, flows, top),
        "policies": _policies(pm),
        "streams": _streams(pm, flows),
        "matrix": _matrix(pm),
        "flow_sizes": _flow_sizes(flows),
        "inference": inference,
        "observed_vs_predicted": comparison_dict(a, r, top),
        "data_quality": _data_quality(pm),
        "captures": _captures(pm),
        "notes": notes,
    }
    if counters is not None:
        doc["observed_counters"] = counters
    return doc
