"""What a post-mortem found, in plain words: each finding computed from the data, with its
numbers and the charts and tables that show it. A finding only appears where it applies.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from hashscope.analysis.imbalance import imbalance
from hashscope.analysis.postmortem import PostMortem
from hashscope.analysis.spans import member_spans, overlap_warning
from hashscope.hashes.linux.eras import SHIFT_34_ONLY, SHIFT_ALL_FOLDED
from hashscope.plan.odds import p_all_used, streams_for, uniform_shares

from .text import visible

ELEPHANT_SHARE = 0.9  #: a few flows "carried most of the bytes" from this share on
ONE_FLOW_SHARE = 0.5  #: one flow alone, from this share on
BALANCED = 1.25  #: max/mean up to this is balanced
UNBALANCED = 1.5  #: max/mean from this on is not
ONE_MAC = 0.9  #: share of the bytes behind one MAC pair that makes "one router"
BETTER = 0.05  #: a policy is better when its busiest member's share is lower by this
FEW_FLOWS = 2  #: elephants are at most this many flows per member
NEAR = 0.05  #: a busiest share this close to the best split is as even as the flows allow
HEAVY = 2000  #: the heaviest flows looked at for colliding ports


@dataclass(frozen=True)
class Finding:
    id: str
    severity: str  #: "warning" (costs throughput), "info", "ok"
    title: str
    text: str
    numbers: dict = field(default_factory=dict)
    see: tuple[str, ...] = ()  #: ids of the charts ("chart-...") and tables that show it

    def as_dict(self) -> dict:
        d = asdict(self)
        d["see"] = list(self.see)
        return d


def sent_flows(pm: PostMortem) -> pd.DataFrame:
    """The flows the bond sent under its policy, largest first, with ``link``: the member
    index each took (-1 where it took several, or none could be predicted)."""
    a, r = pm.analysis, pm.current
    fl = r.load.flow_links
    f = a.flows[a.flows.index < len(fl)]
    masks = fl[f.index.to_numpy()]
    f = f[masks > 0].copy()
    masks = masks[masks > 0].astype(np.int64)
    single = (masks & (masks - 1)) == 0
    f["link"] = np.where(single, np.log2(np.maximum(masks, 1)).astype(np.int64), -1)
    return f.sort_values("bytes", ascending=False, kind="stable")


def _pct(x: float) -> str:
    """A share as a reader says it: 58%, 99.9% (not 100% unless it is), 0.25%."""
    if 0.99 < x < 1:
        return f"{min(100 * x, 99.9):.1f}%"
    return f"{100 * x:.0f}%" if x >= 0.01 or x == 0 else f"{100 * x:.2f}%"


def _members_up(pm: PostMortem) -> int:
    return int(pm.setup.members.up.sum())


def elephants(pm: PostMortem, flows: pd.DataFrame) -> Finding | None:
    n, total = _members_up(pm), int(flows["bytes"].sum())
    if n < 2 or total <= 0 or len(flows) <= 1:
        return None
    share = np.cumsum(flows["bytes"].to_numpy()) / total
    k = 1 if share[0] >= ONE_FLOW_SHARE else int(np.searchsorted(share, ELEPHANT_SHARE)) + 1
    if k > FEW_FLOWS * n or share[k - 1] < min(ONE_FLOW_SHARE, ELEPHANT_SHARE):
        return None
    who = "One flow" if k == 1 else f"{k} flows"
    spread = flows["link"].to_numpy()[:k] < 0  # frames of one flow on several members
    if spread.all():
        return _spread_elephants(pm, flows, who, k, float(share[k - 1]), total, n)
    s50, s90 = (streams_for(p, uniform_shares(n)) for p in (0.5, 0.9))
    load = pm.current.load.bytes[pm.setup.members.up]
    used = int((load >= 0.01 * max(load.sum(), 1)).sum())
    text = (f"{who} of {len(flows)} carried {_pct(share[k - 1])} of the {total} bytes sent. "
            "All frames of a flow take one member, so a flow never goes faster than one link "
            f"and no policy makes {'it' if k == 1 else 'them'} faster. ")
    if k < n:
        text += f"{who} can use at most {k} of the {n} members. "
    busiest = pm.current.imbalance().busiest_share
    floor = max(float(share[0]), 1 / n)  # no split of these flows does better
    if k >= n and used == n and busiest > floor + NEAR:
        text += (f"All {n} members carry them, but unevenly: the busiest {_pct(busiest)}, "
                 f"where the largest flow alone is {_pct(float(share[0]))}. ")
    elif k >= n and used < n:
        text += (f"With a random hash, {k} flows use all {n} members with "
                 f"{_pct(p_all_used(k, uniform_shares(n)))} probability; here "
                 f"{used} of the {n} members carry the bytes. ")
    elif k >= n:  # every member carries its share: as spread as these flows can be
        return Finding(
            "elephants", "info", f"{who} carried {_pct(share[k - 1])} of the bytes, on all "
            f"{n} members", text + f"Here all {n} members carry them (with a random hash "
            f"{k} flows do that with {_pct(p_all_used(k, uniform_shares(n)))} probability): "
            "as spread as these flows can be; each still runs at most at one link's speed.",
            {"flows": k, "share": float(share[k - 1]), "bytes": total, "members": n,
             "members_used": used}, ("chart-flow-timeline", "table-heaviest"))
    text += (f"More parallel streams help (iperf3 -P, SMB multichannel, parallel rsync or "
             f"backup jobs): with a random hash, {s90} streams use all {n} members with 90% "
             f"probability ({s50} for 50%); {n} streams with chosen source ports can use every "
             "member.")
    return Finding(
        "elephants", "warning", f"{who} carried {_pct(share[k - 1])} of the bytes", text,
        {"flows": k, "share": float(share[k - 1]), "bytes": total, "members": n,
         "members_used": used, "largest_flow_bytes": int(flows["bytes"].iloc[0]),
         "streams_for": {"0.5": s50, "0.9": s90}},
        ("chart-flow-timeline", "chart-streams", "chart-flow-sizes", "table-heaviest"))


def _spread_elephants(pm: PostMortem, flows: pd.DataFrame, who: str, k: int, share: float,
                      total: int, n: int) -> Finding:
    """Few flows carried most bytes, but the policy put each one's frames on several
    members (balance-rr, roundrobin): no flow is held to one link by the hash."""
    masks = pm.current.load.flow_links[flows.index.to_numpy()[:k]].astype(np.int64)
    fewest = min(int(m).bit_count() for m in masks)
    on = (("both members" if n == 2 else f"all {n} members") if fewest == n
          else f"at least {fewest} of the {n} members")
    return Finding(
        "elephants", "info", f"{who} carried {_pct(share)} of the bytes, spread over several "
        "members",
        f"{who} of {len(flows)} carried {_pct(share)} of the {total} bytes sent. "
        f"{pm.setup.mode or pm.current.policy.name} puts the frames of a flow on {on}, "
        "so the hash does not hold a flow to one link. What can hold it back is the "
        "receiver: frames sent in turn over several links arrive out of order, and TCP may "
        "slow down for it.",
        {"flows": k, "share": share, "bytes": total, "members": n,
         "fewest_members_per_flow": fewest}, ("table-heaviest",))


def _observed_by(pm: PostMortem, direction: str) -> np.ndarray:
    rows = {m["member"]: m["observed_bytes"] for m in pm.current.observed.members
            if m["direction"] == direction}
    names, up = pm.setup.members.names, pm.setup.members.up
    return np.array([rows.get(nm, 0) for nm, u in zip(names, up, strict=True) if u], float)


def transmit_receive(pm: PostMortem) -> Finding | None:
    if pm.current.observed is None or _members_up(pm) < 2:
        return None
    tx, rx = _observed_by(pm, "transmit"), _observed_by(pm, "receive")
    if tx.sum() <= 0 or rx.sum() <= 0:
        return None
    t, r = imbalance(tx).max_mean, imbalance(rx).max_mean
    if (t <= BALANCED) == (r <= BALANCED) or max(t, r) < UNBALANCED:
        return None
    even, uneven = ("transmit", "receive") if t <= BALANCED else ("receive", "transmit")
    text = (f"{even.capitalize()} is balanced (max/mean {min(t, r):.2f}) but {uneven} is "
            f"not ({max(t, r):.2f}). The switch (or the partner bond) picks the member of each "
            "frame it sends with its own hash, independent of this bond's policy: fix the "
            "receive side on the switch's port-channel load-balance setting.")
    numbers = {"transmit_max_mean": t, "receive_max_mean": r}
    inf = pm.inference("receive")
    best = (inf.best if inf is not None and inf.explained else
            (inf.candidates[0] if inf is not None and inf.candidates else None))
    if best is not None:
        ev = best.evaluation
        text += (f" The receive side is best explained by {best.label()} ({_pct(ev.by_flows)} "
                 "of its flows; the switch models are approximate).")
        numbers |= {"switch_model": best.label(), "switch_agreement": ev.by_flows}
    return Finding("transmit-receive", "warning", f"{even.capitalize()} is balanced, "
                   f"{uneven} is not", text, numbers,
                   ("chart-member-bytes", "chart-throughput", "table-members", "inference"))


def _mac_only(name: str) -> bool:
    return name in ("layer2", "vlan+srcmac", "lagg:l2") or name.endswith("-mac")


def one_router(pm: PostMortem, flows: pd.DataFrame) -> Finding | None:
    total = int(flows["bytes"].sum())
    if total <= 0 or _members_up(pm) < 2:
        return None
    pairs = flows.groupby(["src_mac", "dst_mac"], sort=False)["bytes"].sum()
    (src_mac, dst_mac), top = pairs.idxmax(), int(pairs.max())
    behind = flows[(flows["src_mac"] == src_mac) & (flows["dst_mac"] == dst_mac)]
    hosts = behind["dst"].nunique() + behind["src"].nunique()
    if top < ONE_MAC * total or hosts <= 2 or not dst_mac:
        return None
    mac_results = [r for r in pm.analysis.results if _mac_only(r.policy.name)]
    lands = [(r, r.imbalance().busiest_share) for r in mac_results]
    lands = [(r, s) for r, s in lands if s >= ONE_MAC]
    if not lands:
        return None
    current = pm.current
    names = [r.policy.name for r, _ in lands]
    numbers = {"share": top / total, "src_mac": src_mac, "dst_mac": dst_mac,
               "addresses": int(hosts), "policies": names}
    if _mac_only(current.policy.name) and current in [r for r, _ in lands]:
        busiest = current.imbalance().busiest_share
        alt = min((r for r in pm.analysis.results if not _mac_only(r.policy.name)),
                  key=lambda r: r.imbalance().busiest_share, default=None)
        text = (f"{_pct(top / total)} of the bytes went between one pair of MACs "
                f"({visible(src_mac)} to {visible(dst_mac)}: a router or gateway, with "
                f"{hosts} addresses behind it). {current.policy.name} hashes only MAC "
                f"addresses, so all of it takes one member ({_pct(busiest)} on the busiest).")
        if alt is not None:
            text += (f" {alt.policy.name} hashes the addresses behind the router: its "
                     f"busiest member carries {_pct(alt.imbalance().busiest_share)}.")
            numbers["better"] = alt.policy.name
        return Finding("one-router", "warning", "Everything goes through one router MAC, "
                       "and the policy hashes MACs", text, numbers,
                       ("chart-member-bytes", "chart-policies", "table-members"))
    text = (f"{_pct(top / total)} of the bytes went between one pair of MACs "
            f"({visible(src_mac)} to {visible(dst_mac)}, {hosts} addresses behind them). "
            f"{', '.join(names)} would put all of it on one member; "
            f"{current.policy.name} hashes the addresses, so keep an IP-based policy (and "
            "avoid src-dst-mac on the switch).")
    return Finding("one-router", "info", "Everything goes through one router MAC", text,
                   numbers, ("chart-policies",))


def colliding_ports(pm: PostMortem, flows: pd.DataFrame) -> Finding | None:
    r = pm.current
    if r.policy.family != "linux" or r.policy.name not in ("layer3+4", "encap3+4"):
        return None
    if pm.setup.kernel.shift not in (SHIFT_ALL_FOLDED, SHIFT_34_ONLY):
        return None
    f = flows[(flows["link"] >= 0) & (flows["proto"].isin((6, 17, 132)))].head(HEAVY)
    if len(f) < 2:
        return None
    f = f.assign(pair=f["sport"].to_numpy() // 2)
    keys = ["src", "dst", "proto", "dport", "pair"]
    groups = f.groupby(keys, sort=False).agg(n=("link", "size"), links=("link", "nunique"),
                                             bytes=("bytes", "sum"),
                                             sport=("sport", "min"), link=("link", "first"))
    hit = groups[(groups["n"] == 2) & (groups["links"] == 1)]
    if not len(hit):
        return None
    names = pm.setup.members.names
    total = int(flows["bytes"].sum())
    share = int(hit["bytes"].sum()) / max(total, 1)
    if share < 0.05:
        return None
    ex = hit.sort_values("bytes", ascending=False).head(3)
    examples = [f"{int(s)}/{int(s) + 1} on {visible(names[int(k)])}"
                for s, k in zip(ex["sport"], ex["link"], strict=True)]
    return Finding(
        "colliding-ports", "warning",
        f"{len(hit)} pair{'s' if len(hit) != 1 else ''} of consecutive source ports share "
        "a member",
        f"Under {r.policy.name} this kernel ({r.setup.kernel.name}) shifts the hash right by "
        "one bit, so source ports that differ only in bit 0 always take the same member: "
        f"{', '.join(examples)}. These pairs carried {_pct(share)} of the bytes. Tools that "
        "open consecutive ports (iperf3 --cport, a connection pool) lose half the members; "
        "use ports two apart (`hashscope plan` picks them with the real hash), or let "
        "the kernel pick them (connect() takes even ports, 2 or more apart).",
        {"pairs": len(hit), "share": share, "examples": examples},
        ("table-heaviest", "chart-flow-timeline"))


def busiest_spread(r) -> float:
    """The busiest member's share under a policy (the average over random keys)."""
    if r.key_imbalance:
        return float(np.mean([k.busiest_share for k in r.key_imbalance]))
    return r.imbalance().busiest_share


def better_policy(pm: PostMortem) -> Finding | None:
    results = [r for r in pm.analysis.results if r.load.bytes.sum() > 0]
    if len(results) < 2 or pm.current not in results or _members_up(pm) < 2:
        return None
    cur = busiest_spread(pm.current)
    best = min(results, key=busiest_spread)
    numbers = {"current": pm.current.policy.name, "current_busiest_share": cur,
               "best": best.policy.name, "best_busiest_share": busiest_spread(best),
               "ideal_share": 1 / _members_up(pm)}
    if busiest_spread(best) <= cur - BETTER:
        return Finding(
            "better-policy", "warning", f"{best.policy.name} would spread this traffic "
            "better", f"Under {best.policy.name} the busiest member would carry "
            f"{_pct(busiest_spread(best))} of the bytes, against {_pct(cur)} under "
            f"{pm.current.policy.name} (even would be {_pct(1 / _members_up(pm))}).",
            numbers, ("chart-policies",))
    return Finding("better-policy", "ok", f"No other {pm.current.policy.family} policy "
                   "spreads this traffic better",
                   f"The busiest member carries {_pct(cur)} under {pm.current.policy.name}; the "
                   f"best of the {len(results)} policies compared gives "
                   f"{_pct(busiest_spread(best))}."
                   " What limits the spread is the traffic (how many flows, how large), not "
                   "the policy.", numbers, ("chart-policies",))


def inferred(pm: PostMortem) -> Finding | None:
    inf = pm.inference("transmit")
    if inf is None:
        return None
    o = pm.current.observed
    numbers = {"explained": inf.explained}
    if o is not None:
        numbers |= {"disagreeing_flows": len(o.disagreeing()), "agreement_flows": o.by_flows,
                    "agreement_bytes": o.by_bytes}
    if not inf.explained or inf.best is None:
        top = inf.candidates[0] if inf.candidates else None
        if top is not None and top.evaluation.by_flows >= 0.99:
            numbers |= {"label": top.label(), "chance": top.evaluation.chance}
            return Finding("inferred", "info", f"The members' traffic agrees with "
                           f"{top.label()}, but cannot prove it", f"infer: {inf.reason}.",
                           numbers, ("inference",))
        return Finding("inferred", "warning", "No configuration explains what the members "
                       "carried", f"infer: {inf.reason}.", numbers, ("inference",))
    b = inf.best
    numbers |= {"label": b.label(), "links": b.links, "chance": b.evaluation.chance,
                "deciding_flows": b.deciding_flows, "args": b.args()}
    same = b.policy == pm.current.policy.name and list(b.links) == list(
        pm.setup.members.names)
    disagree = (f" Under {pm.current.policy.name} as given, {numbers['disagreeing_flows']} "
                f"flows disagree ({_pct(1 - o.by_bytes)} of the bytes)."
                if o is not None and len(o.disagreeing()) else "")
    return Finding(
        "inferred", "ok" if same else "warning",
        f"The members' traffic is explained by {b.label()}",
        f"{b.label()} with the members in the order {', '.join(visible(x) for x in b.links)} "
        f"explains {_pct(b.evaluation.by_flows)} of the flows; the chance that this fits by "
        f"luck is {b.evaluation.chance:.2g} ({b.deciding_flows} deciding flow"
        f"{'' if b.deciding_flows == 1 else 's'})."
        + disagree + ("" if same else f" Reproduce with: {' '.join(b.args())}"),
        numbers, ("inference", "table-disagreeing", "chart-matrix"))


def data_quality(pm: PostMortem) -> list[Finding]:
    a, r = pm.analysis, pm.current
    out = []
    if not a.packets:
        out.append(Finding("data-quality-empty", "warning", "The captures hold no frames",
                           "Nothing to analyze: the files are valid but empty (a capture "
                           "filter that matched nothing, or the wrong interface).", {},
                           ("data-quality",)))
    if a.on_members is not None:
        barely = overlap_warning(member_spans(a.on_members, pm.setup.members.names))
        if barely:
            out.append(Finding("data-quality-overlap", "warning", "The member captures "
                               "barely overlap in time", barely, {}, ("data-quality",)))
    if a.duplicates:
        out.append(Finding("data-quality-duplicates", "info", f"{a.duplicates} duplicate "
                           "frames dropped", "Frames seen twice (overlapping files, or a "
                           "bond0 copy beside its member's) count once.",
                           {"frames": a.duplicates}, ("data-quality",)))
    if a.snapped:
        out.append(Finding("data-quality-snapped", "info", f"{a.snapped} frames cut by the "
                           "snap length", "The capture kept only the first bytes of these "
                           "frames; their bytes count at their length on the wire. "
                           + ("A frame cut inside the headers a policy reads cannot be placed "
                              "(below)." if r.load.unknown_packets else
                              "The headers the hash reads were all there."),
                           {"frames": a.snapped}, ("data-quality",)))
    if r.load.unknown_packets:
        out.append(Finding("data-quality-unpredicted", "warning", f"{r.load.unknown_packets} "
                           "sent frames whose member cannot be predicted",
                           f"{r.policy.name} cannot place them ({r.load.unknown_bytes} bytes): "
                           "headers it needs are missing (see `hashscope policies`).",
                           {"frames": r.load.unknown_packets, "bytes": r.load.unknown_bytes},
                           ("data-quality",)))
    drops = {k: v["ifdrop"] for k, v in a.interface_stats.items() if v.get("ifdrop")}
    if drops:
        out.append(Finding("data-quality-drops", "warning", f"{sum(drops.values())} frames "
                           "dropped by the capture interfaces",
                           "The capture missed frames (pcapng ifdrop): "
                           + ", ".join(f"{visible(k)} {v}" for k, v in drops.items())
                           + "; the observed counts are short by as much.",
                           {"ifdrop": drops}, ("data-quality",)))
    return out


def findings(pm: PostMortem) -> list[Finding]:
    """Every finding that applies, the ones that cost throughput first."""
    flows = sent_flows(pm)
    found = [elephants(pm, flows), transmit_receive(pm), one_router(pm, flows),
             colliding_ports(pm, flows), better_policy(pm), inferred(pm), *data_quality(pm)]
    order = {"warning": 0, "info": 1, "ok": 2}
    return sorted((f for f in found if f is not None), key=lambda f: order[f.severity])
