"""``hashscope plan`` for a reader: the streams, the traps, the odds, the commands; and the
same as one JSON document."""

from __future__ import annotations

from rich.table import Table

from hashscope.analysis.imbalance import format_rate
from hashscope.plan.build import PlanReport, commands
from hashscope.plan.iperf3 import IperfRun
from hashscope.plan.odds import LEVELS

from .terminal import cells, console
from .text import visible

ONE_SERVER = ("an iperf3 server runs one test at a time: run these one after another, or "
              "start a server per client and plan with its --dport")


def _odds_keys(row: dict | None) -> dict:
    if row is None:
        return {"p_all_used": None, "expected_busiest_share": None,
                "streams_for": {str(q): None for q in LEVELS}}
    return {k: row[k] for k in ("p_all_used", "expected_busiest_share", "streams_for")}


def plan_dict(r: PlanReport) -> dict:
    """The plan as JSON: ``streams`` (src, dst, sport, dport, link, member, ...), the odds
    for this member count (``p_all_used``, ``expected_busiest_share``, ``streams_for``),
    the table for 2 to 8 members (``odds``), the traps, the commands and the notes."""
    d = {"policy": r.policy.name if r.policy else None,
         "return_policy": r.return_policy.name if r.return_policy else None,
         "accuracy": "exact" if r.exact else "approximate",
         "links": r.setup.members.count, "members": list(r.setup.members.names),
         "streams_wanted": r.streams_wanted,
         "streams": [s.as_dict() for s in r.streams],
         "key_independent_groups": r.keyed_groups,
         **_odds_keys(r.here), "odds": r.odds,
         "traps": [t.as_dict() for t in r.traps],
         "commands": commands(r), "ports": [s.sport for s in r.streams],
         "notes": r.notes}
    if r.summary is not None:
        d["summary"] = r.summary
    return d


def _streams_table(r: PlanReport) -> Table:
    t = Table(title=f"planned streams ({r.policy.name}"
                    + (f", back {r.return_policy.name}" if r.return_policy else "") + ")")
    cols = ["stream", "src", "sport", "dst", "dport", "src_mac", "dst_mac",
            "group" if r.keyed_groups else "member"]
    if r.return_policy:
        cols.append("return member")
    for col in cols:
        t.add_column(col, justify="right" if col in ("stream", "sport", "dport") else "left")
    for i, s in enumerate(r.streams, 1):
        row = [i, s.src, s.sport, s.dst, s.dport, s.src_mac, s.dst_mac,
               s.link if r.keyed_groups else s.member]
        if r.return_policy:
            row.append(s.return_member)
        t.add_row(*cells(*row))
    return t


def _odds_tables(r: PlanReport) -> list[Table]:
    out = []
    for name, rows in r.odds.items():
        what = "a uniform hash" if name == "uniform" else "8 hash buckets dealt round the " \
            "members (Cisco-style)"
        t = Table(title=f"{r.streams_wanted} random streams over {what}")
        for col in ("links", "P(all used)", "busiest share", *(f"{int(q * 100)}%" for q
                                                                 in LEVELS)):
            t.add_column(col, justify="right")
        for row in rows:
            t.add_row(*cells(row["links"], f"{100 * row['p_all_used']:.1f}%",
                             f"{100 * row['expected_busiest_share']:.1f}%",
                             *(row["streams_for"][str(q)] or "-" for q in LEVELS)))
        out.append(t)
    return out


def print_plan(r: PlanReport) -> None:
    c = console()
    if r.streams:
        c.print(_streams_table(r))
        used = len({s.link for s in r.streams})
        c.print(f"{len(r.streams)} streams on {used} of {len(r.setup.members.usable)} "
                f"{'groups' if r.keyed_groups else 'members'}")
        cmds = commands(r)
        if cmds:
            c.print("commands, one per stream:")
            for line in cmds:
                c.print(f"  {line}")
            c.print(f"ports: {' '.join(str(s.sport) for s in r.streams)}")
            c.print(f"note: {ONE_SERVER}")
    if r.summary is not None:
        s = r.summary
        c.print(f"{s['values']} {s['vary']} values per member: "
                + ", ".join(f"{visible(m)} {n}" for m, n in s["per_member"].items()))
        c.print(f"{s['run_count']} runs (lengths {', '.join(map(str, s['run_lengths']))}): "
                + ", ".join(f"{a}-{b} {m}" if a != b else f"{a} {m}"
                            for a, b, m in s["runs"][:8])
                + (" ..." if s["run_count"] > 8 else ""))
        if s["period"]:
            c.print(f"the pattern repeats every {s['period']} values: "
                    + " ".join(map(str, s["pattern"][:32])))
    for t in r.traps:
        c.print(f"trap: {visible(t.text)}")
    if r.here is not None:
        h = r.here
        c.print(f"odds for {r.streams_wanted} random streams over {r.setup.members.count} "
                f"members (uniform hash): all used {100 * h['p_all_used']:.1f}%, busiest "
                f"member {100 * h['expected_busiest_share']:.1f}% of the streams; streams "
                "for all members used with "
                + ", ".join(f"{int(100 * float(q))}%: {n or '-'}"
                            for q, n in h["streams_for"].items()))
        for t in _odds_tables(r):
            c.print(t)
    for line in r.notes:
        c.print(f"note: {visible(line)}")


def iperf3_dict(run: IperfRun, policy: str, links: list[int], names: list[str]) -> dict:
    return {"policy": policy, "file": run.path, "protocol": run.protocol,
            "reverse": run.reverse, "notes": run.notes,
            "streams": [{"src": s.src, "sport": s.sport, "dst": s.dst, "dport": s.dport,
                         "proto": s.proto, "link": int(k),
                         "member": names[k] if k >= 0 else None,
                         "sender_bps": s.sender_bps, "receiver_bps": s.receiver_bps,
                         "bytes": s.bytes} for s, k in zip(run.streams, links, strict=True)]}


def print_iperf3(d: dict) -> None:
    """iperf3's streams, the member each took, and its throughput."""
    c = console()
    t = Table(title=f"iperf3 streams ({visible(d['file'])}) and their members under "
                    f"{d['policy']}" + (" (-R: the server sent)" if d["reverse"] else ""))
    for col in ("src", "sport", "dst", "dport", "proto", "member", "sender", "receiver"):
        t.add_column(col, justify="right" if col in ("sport", "dport", "sender", "receiver")
                     else "left")
    for s in d["streams"]:
        rate = [format_rate(x) if x is not None else "" for x in (s["sender_bps"],
                                                                  s["receiver_bps"])]
        t.add_row(*cells(s["src"], s["sport"], s["dst"], s["dport"], s["proto"],
                         s["member"] if s["member"] is not None else "?", *rate))
    c.print(t)
    per: dict[str, float] = {}
    for s in d["streams"]:
        if s["member"] is not None:
            per[s["member"]] = per.get(s["member"], 0.0) + (s["receiver_bps"] or 0.0)
    c.print(f"{len(d['streams'])} streams on {len(per)} members; received per member: "
            + ", ".join(f"{visible(m)} {format_rate(v)}" for m, v in per.items()))
    for line in d["notes"]:
        c.print(f"note: {visible(line)}")
