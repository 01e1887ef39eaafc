"""Observed against predicted: what each member carried next to what a policy says.

When the captures were taken on the bond's members (an interface named as a member:
``eth0.pcap``, ``--member eth0=...``, a pcapng's ``if_name``), every frame's member is
known. The read folds the frames by (flow, interface, direction) (:class:`MemberFold`);
each policy's result is then joined with it (:func:`compare_members`): per member the
observed and the predicted packets and bytes, per flow the members it was seen on
against the members it was predicted on, and the agreement by flows and by bytes. A
flow agrees when it was seen on exactly the members predicted for it; its bytes agree
where they were seen on a predicted member; for a policy whose member depends on the
order (round robin, OVS's buckets, failover), frame by frame (:class:`FrameTally`): a
frame agrees when it was seen on the member predicted for it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from hashscope.flows.table import FlowTable
from hashscope.members import LINK_ALL, Members

from .loads import LinkLoad


def _mix(words: np.ndarray) -> np.ndarray:
    """A 64-bit hash of two-word keys (splitmix64 of each word, combined)."""
    def splitmix(x):
        x = (x + np.uint64(0x9E3779B97F4A7C15))
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))
    with np.errstate(over="ignore"):
        return splitmix(words[:, 0] ^ splitmix(words[:, 1]))


def member_of(interface_names: list[str], members: Members) -> np.ndarray:
    """The member index (-1: none) of every interface of the registry, by name."""
    index = {name: i for i, name in enumerate(members.names)}
    return np.array([index.get(x, -1) for x in interface_names] or [-1], np.int64)


class MemberFold:
    """Frames folded by (flow, capture interface, sent or not), with packets, bytes,
    first and last time."""

    def __init__(self):
        self.table = FlowTable(key_words=2)

    def add(self, fids: np.ndarray, iface: np.ndarray, wirelen: np.ndarray,
            ts_ns: np.ndarray, sent: np.ndarray) -> None:
        ok = fids >= 0
        words = np.empty((int(ok.sum()), 2), np.uint64)
        words[:, 0] = fids[ok]
        words[:, 1] = iface[ok].astype(np.uint64) | (sent[ok].astype(np.uint64)
                                                      << np.uint64(32))
        depth = np.ones(len(words), np.uint8)
        self.table.add_keyed(depth, wirelen[ok], ts_ns[ok], iface[ok], words, _mix(words))

    def frame(self, interface_names: list[str], members: Members) -> pd.DataFrame:
        """One row per (flow, interface, direction) on a member: flow, member, sent,
        packets, bytes, first and last ns."""
        n = self.table.n
        keys, stats = self.table.keys[:n], self.table.stats[:n]
        iface = (keys[:, 1] & np.uint64(0xFFFFFFFF)).astype(np.int64)
        member = member_of(interface_names, members)[iface]
        keep = member >= 0
        return pd.DataFrame({"flow": keys[keep, 0].astype(np.int64), "member": member[keep],
                             "sent": (keys[keep, 1] >> np.uint64(32)) > 0,
                             "packets": stats[keep, 0], "bytes": stats[keep, 1],
                             "first": stats[keep, 2], "last": stats[keep, 3]})


class FrameTally:
    """Frame by frame, for a policy whose members depend on the order (round robin,
    OVS's buckets, failover): how many sent frames on a member were predicted there."""

    def __init__(self):
        self.packets = self.packets_agreeing = self.bytes = self.bytes_agreeing = 0

    def add(self, link: np.ndarray, member: np.ndarray, size: np.ndarray) -> None:
        judged = (member >= 0) & ((link >= 0) | (link == LINK_ALL))
        same = judged & ((link == member) | (link == LINK_ALL))
        self.packets += int(judged.sum())
        self.packets_agreeing += int(same.sum())
        self.bytes += int(size[judged].sum())
        self.bytes_agreeing += int(size[same].sum())


def observes_members(interface_names: list[str], members: Members) -> bool:
    """Whether any capture interface is named as a member."""
    return bool(set(interface_names) & set(members.names))


@dataclass
class MemberComparison:
    """One policy's prediction joined with what the members carried."""

    members: list[dict]  #: per member and direction: observed and predicted counts
    flows: pd.DataFrame  #: per flow sent on a member: observed and predicted members
    flows_judged: int
    flows_agreeing: int
    bytes_judged: int
    bytes_agreeing: int
    frames_judged: int | None = None  #: frame by frame (ordered policies only)
    frames_agreeing: int | None = None

    @property
    def by_frames(self) -> float | None:
        if self.frames_judged is None:
            return None
        return self.frames_agreeing / self.frames_judged if self.frames_judged else 0.0

    @property
    def by_flows(self) -> float:
        return self.flows_agreeing / self.flows_judged if self.flows_judged else 0.0

    @property
    def by_bytes(self) -> float:
        return self.bytes_agreeing / self.bytes_judged if self.bytes_judged else 0.0

    def disagreeing(self) -> pd.DataFrame:
        return self.flows[~self.flows["agrees"]].sort_values("bytes", ascending=False,
                                                              kind="stable")

    def moved(self) -> pd.DataFrame:
        return self.flows[self.flows["seen_on"] > 1].sort_values("bytes", ascending=False,
                                                                  kind="stable")


def _names(mask: np.ndarray, names: tuple[str, ...]) -> list[str]:
    """Member names of each bit mask, computed once per distinct mask."""
    uniq, inverse = np.unique(mask, return_inverse=True)
    labels = [",".join(n for i, n in enumerate(names) if int(u) >> i & 1) or "-"
              for u in uniq.tolist()]
    return list(np.array(labels, dtype=object)[inverse.reshape(-1)])


def compare_members(observed: pd.DataFrame, load: LinkLoad, members: Members,
                    tally: FrameTally | None = None) -> MemberComparison:
    """Join ``observed`` (:meth:`MemberFold.frame`) with a policy's ``load``; with the
    ``tally`` of an ordered policy, its bytes agree frame by frame (else flow by flow:
    the same for a policy whose member follows from the headers)."""
    n = members.count
    rows = []
    for sent, side in ((True, "transmit"), (False, "receive")):
        part = observed[observed["sent"] == sent]
        pk = np.bincount(part["member"], weights=part["packets"], minlength=n)[:n]
        by = np.bincount(part["member"], weights=part["bytes"], minlength=n)[:n]
        total = max(by.sum(), 1)
        for i, name in enumerate(members.names):
            row = {"member": name, "direction": side, "observed_packets": int(pk[i]),
                   "observed_bytes": int(by[i]), "observed_share": by[i] / total}
            pt = max(int(load.bytes.sum()), 1)  # the policy predicts what is sent only
            row.update(predicted_packets=int(load.packets[i]) if sent else None,
                       predicted_bytes=int(load.bytes[i]) if sent else None,
                       predicted_share=float(load.bytes[i] / pt) if sent else None)
            rows.append(row)
    sent = observed[observed["sent"]]
    bit = np.left_shift(np.uint64(1), sent["member"].to_numpy().astype(np.uint64))
    fl = sent["flow"].to_numpy()
    uniq, inv = np.unique(fl, return_inverse=True)
    seen = np.zeros(len(uniq), np.uint64)
    np.bitwise_or.at(seen, inv, bit)
    masks = load.flow_links if load.flow_links is not None else np.zeros(0, np.uint64)
    predicted = np.zeros(len(uniq), np.uint64)
    inside = uniq < len(masks)
    predicted[inside] = masks[uniq[inside]]
    on_predicted = (predicted[inv] >> sent["member"].to_numpy().astype(np.uint64)) & 1 > 0
    size = sent["bytes"].to_numpy()
    flow_bytes = np.bincount(inv, weights=size, minlength=len(uniq)).astype(np.int64)
    good_bytes = np.bincount(inv, weights=size * on_predicted, minlength=len(uniq))
    first = np.full(len(uniq), np.iinfo(np.int64).max)
    np.minimum.at(first, inv, sent["first"].to_numpy())
    last = np.zeros(len(uniq), np.int64)
    np.maximum.at(last, inv, sent["last"].to_numpy())
    judged = predicted > 0
    agrees = judged & (seen == predicted)
    count = np.array([bin(int(x)).count("1") for x in np.unique(seen).tolist()])
    seen_on = count[np.searchsorted(np.unique(seen), seen)] if len(seen) else np.zeros(0, int)
    flows = pd.DataFrame({"flow": uniq, "observed": _names(seen, members.names),
                          "predicted": _names(predicted, members.names),
                          "agrees": agrees, "judged": judged, "seen_on": seen_on,
                          "bytes": flow_bytes, "first": first, "last": last})
    if tally is not None:
        return MemberComparison(rows, flows, int(judged.sum()), int(agrees.sum()),
                                tally.bytes, tally.bytes_agreeing, tally.packets,
                                tally.packets_agreeing)
    return MemberComparison(rows, flows, int(judged.sum()), int(agrees.sum()),
                            int(flow_bytes[judged].sum()), int(good_bytes[judged].sum()))


def moves(observed: pd.DataFrame, flow_ids: np.ndarray, members: Members
          ) -> dict[int, list[dict]]:
    """For flows seen on several members: each member's first and last time, in order."""
    part = observed[observed["sent"] & observed["flow"].isin(flow_ids)]
    part = part.sort_values(["flow", "first"], kind="stable")
    out: dict[int, list[dict]] = {}
    for flow, group in part.groupby("flow", sort=False):  # the few flows shown only
        out[int(flow)] = [{"member": members.names[m], "first_ns": int(f), "last_ns": int(la),
                           "packets": int(p)}
                          for m, f, la, p in zip(group["member"], group["first"],
                                                 group["last"], group["packets"],
                                                 strict=True)]
    return out
