"""The bond modes that do not hash, recognised from what the members carried.

* active-backup (Linux; FreeBSD failover, OVS active-backup): every sent frame on one
  member at a time; judged as one class, so the chance statement is that of every
  independent input landing on the same member.
* balance-rr (FreeBSD roundrobin): the sent frames, in time order, go to the members in
  turn; judged on the member sequence (:attr:`Observations.sequence`): each member's
  successor is learnt, and must form one cycle through all members.
* broadcast: every sent frame on every member, as many times on each.
"""

from __future__ import annotations

import numpy as np

from .candidates import Candidate, _judge
from .evidence import Evaluation, binomial_tail
from .observations import Observations


def active_backup(obs: Observations, idx: np.ndarray) -> Candidate:
    rows = obs.rows[idx]
    units = np.unique(rows.view(np.void(rows.dtype.itemsize)), return_inverse=True)[1]
    ev = _judge(obs, idx, np.zeros(len(idx), np.int64), units.reshape(-1), 1)
    active = obs.members.names[ev.mapping[0]] if ev.mapping[0] >= 0 else obs.members.names[0]
    links = [active] + [m for m in obs.members.names if m != active]
    return Candidate("mode", None, "active-backup", True, ev, links,
                     note=f"every sent frame on {active} (Linux active-backup, FreeBSD "
                          "failover, OVS active-backup)")


def round_robin(obs: Observations, idx: np.ndarray) -> Candidate | None:
    seq, n = obs.sequence, obs.members.count
    if len(seq) < 2 or n < 2:
        return None
    moves = np.zeros((n, n), np.int64)
    np.add.at(moves, (seq[:-1], seq[1:]), 1)
    succ = moves.argmax(axis=1)
    followed = int(moves[np.arange(n), succ].sum())
    cycle, at = [int(seq[0])], int(seq[0])
    for _ in range(n - 1):  # one step per member
        at = int(succ[at])
        cycle.append(at)
    one_cycle = len(set(cycle)) == n and int(succ[cycle[-1]]) == cycle[0]
    total = len(seq) - 1
    agreeing = followed if one_cycle else 0
    share = agreeing / total
    ev = Evaluation(np.array(cycle), np.zeros(0, np.int64), np.zeros(0, bool),
                    len(np.unique(obs.flow[idx])), 0, total, agreeing, 0, 0, total,
                    agreeing, n, binomial_tail(total - n, agreeing - n, 1.0 / n))
    ev.flows_agreeing = round(share * ev.flows)
    ev.bytes = int(obs.bytes[idx].sum())
    ev.bytes_agreeing = round(share * ev.bytes)
    return Candidate("mode", None, "balance-rr", True, ev,
                     [obs.members.names[m] for m in cycle],
                     note="the sent frames go to the members in turn, in this order "
                          "(Linux balance-rr, FreeBSD roundrobin); judged on "
                          f"{total + 1} frames in time order")


def broadcast(obs: Observations, idx: np.ndarray) -> Candidate | None:
    n = obs.members.count
    if n < 2 or not len(idx):
        return None
    rows = obs.rows[idx]
    _, inputs = np.unique(rows.view(np.void(rows.dtype.itemsize)), return_inverse=True)
    inputs = inputs.reshape(-1)
    groups = int(inputs.max()) + 1
    per = np.zeros((groups, n), np.int64)
    np.add.at(per, (inputs, obs.member[idx]), obs.packets[idx])
    whole = (per.min(axis=1) == per.max(axis=1)) & (per.min(axis=1) > 0)
    ok = whole[inputs]
    flows = np.unique(obs.flow[idx])
    bad_flows = np.unique(obs.flow[idx][~ok])
    ev = Evaluation(np.arange(n), np.zeros(0, np.int64), ok, len(flows),
                    len(flows) - len(bad_flows), int(obs.packets[idx].sum()),
                    int(obs.packets[idx][ok].sum()), int(obs.bytes[idx].sum()),
                    int(obs.bytes[idx][ok].sum()), groups, int(whole.sum()), 1,
                    float(n) ** (-(n - 1) * int(whole.sum())))
    return Candidate("mode", None, "broadcast", True, ev, list(obs.members.names),
                     note="every sent frame on every member")
