"""The bond modes that do not hash, recognised from what the members carried.

* active-backup (Linux; FreeBSD failover, OVS active-backup): every sent frame on one
  member at a time; judged as one class, so the chance statement is that of every
  independent input landing on the same member.
* balance-rr (FreeBSD roundrobin): the sent frames, in time order, go to the members in
  turn; judged on the member sequence (:attr:`Observations.sequence`): each member's
  successor is learnt, and must form one cycle through all members; a frame seen on two
  members (a broadcast's copies) counts against it.
* broadcast: every sent frame on every member, as many times on each.
"""

from __future__ import annotations

import numpy as np

from hashscope.hashes.policy import Setup
from hashscope.hashes.registry import get_policy, make_assigner

from .candidates import Candidate, anonymous
from .evidence import Evaluation, binomial_tail
from .observations import Observations
from .spans import clock

STRETCH = 8  #: frames in a row on one member that an active-backup bond shows


def active_backup(obs: Observations, idx: np.ndarray) -> Candidate | None:
    """Every sent frame on the active member; a failover moves them all at once. Judged on
    the member sequence: frames in a stretch of at least :data:`STRETCH` frames on one
    member agree (a hash interleaves its flows' members)."""
    seq, ts, n = obs.sequence, obs.sequence_ts, obs.members.count
    if not len(seq):
        return None
    starts = np.flatnonzero(np.r_[True, seq[1:] != seq[:-1]])
    lengths = np.diff(np.r_[starts, len(seq)])
    long = lengths >= STRETCH
    agreeing, total = int(lengths[long].sum()), len(seq)
    stretches = int(long.sum())
    units = len(np.unique(obs.flow[idx]))
    share = agreeing / total
    ev = Evaluation(np.array([seq[0]]), np.zeros(0, np.int64), np.zeros(0, bool), units,
                    round(share * units), total, agreeing, int(obs.bytes[idx].sum()),
                    round(share * int(obs.bytes[idx].sum())), units, round(share * units),
                    max(stretches, 1),
                    binomial_tail(units - max(stretches, 1), round(share * units)
                                  - max(stretches, 1), 1.0 / max(n, 2)))
    active = obs.members.names[int(seq[0])]
    links = [active] + [m for m in obs.members.names if m != active]
    changes = starts[long][1:]
    moves = [f"{obs.members.names[int(seq[s])]} from {clock(int(ts[s]))}" for s in changes]
    events = []  # the member that was active lost its link as the next one took over
    for before, s in zip(starts[long][:-1], changes, strict=True):
        when = np.datetime64(int(ts[s]), "ns")
        events += ["--link-event", f"{obs.members.names[int(seq[before])]}:down@{when}Z"]
    note = f"every sent frame on {active}" + (f", then failovers: {'; '.join(moves)}"
                                              if moves else "")
    return Candidate("mode", None, "active-backup", True, ev, links, extra=events,
                     note=note + " (Linux active-backup, FreeBSD failover, OVS active-backup)")


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
    # a frame sent twice, on two members, is no round robin's: each copy counts against
    agreeing = max(followed - 2 * obs.member_copies, 0) if one_cycle else 0
    share = agreeing / total
    ev = Evaluation(np.array(cycle), np.zeros(0, np.int64), np.zeros(0, bool),
                    len(np.unique(obs.flow[idx])), 0, total, agreeing, 0, 0, total,
                    agreeing, n, binomial_tail(total - n, agreeing - n, 1.0 / n))
    ev.flows_agreeing = round(share * ev.flows)
    ev.bytes = int(obs.bytes[idx].sum())
    ev.bytes_agreeing = round(share * ev.bytes)
    return Candidate("mode", None, "balance-rr", True, ev, _rr_phase(obs, cycle),
                     note="the sent frames go to the members in turn, in this order "
                          "(Linux balance-rr, FreeBSD roundrobin); judged on "
                          f"{total + 1} frames in time order")


def _rr_phase(obs: Observations, cycle: list[int]) -> list[str]:
    """The members in the order that makes the bond's model send the first frame seen to
    its member (Linux balance-rr's counter does not start at the first member in every
    era): the cycle, rotated."""
    n = len(cycle)
    first = 0
    if len(obs.rows):
        model = make_assigner(get_policy("layer2"), Setup(anonymous(n), mode="balance-rr"))
        first = int(model.assign(obs.rows[:1]).link[0]) % n
    links = [""] * n
    for j, m in enumerate(cycle):
        links[(first + j) % n] = obs.members.names[m]
    return links


def broadcast(obs: Observations, idx: np.ndarray) -> Candidate | None:
    n = obs.members.count
    if n < 2 or not len(idx):
        return None
    _, inputs = np.unique(obs.input[idx], return_inverse=True)
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
