"""``infer``'s answer for a reader: the candidates as a table, and as JSON."""

from __future__ import annotations

from rich.table import Table

from hashscope.analysis.candidates import Candidate
from hashscope.analysis.infer import Inference

from .terminal import cells, console
from .text import visible


def candidate_dict(c: Candidate) -> dict:
    ev = c.evaluation
    return {
        "policy": c.policy, "mode": c.mode, "family": c.family,
        "links": c.links, "kernel": c.kernel, "vlan": c.vlan,
        "seed": None if c.seed is None else f"{c.seed:#010x}", "freebsd": c.freebsd,
        "exact": c.exact,
        "args": c.args(),
        "agreement": {"flows": ev.by_flows, "packets": ev.by_packets, "bytes": ev.by_bytes},
        "flows": ev.flows, "flows_agreeing": ev.flows_agreeing,
        "units": ev.units, "units_agreeing": ev.units_agreeing,
        "chance": ev.chance, "deciding_flows": c.deciding_flows,
        "equivalent": c.also, "note": c.note,
    }


def inference_dict(inf: Inference) -> dict:
    obs = inf.observations
    best = inf.best
    return {
        "direction": inf.direction,
        "explained": inf.explained,
        "reason": inf.reason,
        "approximate": inf.approximate,
        "members": list(obs.members.names),
        "member_order": "inferred" if inf.explained else "unknown",
        "direction_from": obs.direction_source,
        "notes": obs.notes,
        "spans": {m: {"first_ns": a, "last_ns": b, "frames": n}
                  for m, (a, b, n) in obs.spans.items()},
        "best": candidate_dict(best) if best is not None and inf.explained else None,
        "candidates": [candidate_dict(c) for c in inf.candidates],
    }


def print_inference(inf: Inference) -> None:
    c = console()
    obs = inf.observations
    c.print(f"{inf.direction}: {len(obs.select(1 if inf.direction == 'transmit' else 2))} "
            f"distinct inputs on members {', '.join(obs.members.names)} "
            f"(direction: {obs.direction_source})")
    c.print(("explained: " if inf.explained else "not explained: ") + inf.reason)
    if inf.explained and inf.best is not None:
        c.print("reproduce with: " + " ".join(inf.best.args()))
    if inf.approximate:
        c.print("the switch models are approximate: a vendor's hash is not published bit "
                "for bit")
    t = Table()
    for col in ("candidate", "links (bond order)", "flows", "bytes", "chance", "deciding"):
        t.add_column(col, justify="left" if col.startswith(("cand", "links")) else "right")
    for cand in inf.candidates:
        ev = cand.evaluation
        label = cand.label() + (f" (+{len(cand.also)} equivalent)" if cand.also else "")
        t.add_row(*cells(label, ",".join(cand.links), f"{ev.by_flows:.1%}", f"{ev.by_bytes:.1%}",
                  f"{ev.chance:.2g}", str(cand.deciding_flows)))
    c.print(t)
    for line in obs.notes:
        c.print(f"note: {visible(line)}")
