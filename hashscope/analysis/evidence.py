"""How well a candidate configuration explains what each member carried, and how surely.

A candidate puts every observation (:mod:`hashscope.analysis.observations`) in a *class*:
the residue its hash gives (a Linux or FreeBSD link index, an OVS bucket). Which member a
class is does not come from the capture's headers but from the bond's order, so it is
learnt from the data: each class becomes the member that carried most of its packets
(one member per class, and for a bond's link indices one class per member: a greedy
assignment over the classes-by-members table, largest cell first; no permutation is
enumerated).

The chance statement: a configuration that is wrong still matches about one in n of the
independent inputs (n members). Inputs with the same hash value are one *unit*: they go
together under the candidate whatever the order. The first unit of each class only
names the class's member; the others test it. So with k units in c classes, of which a
agree, the chance of an agreement this good from a wrong candidate is
P(Binomial(k - c, 1/n) >= a - c).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass
class Evaluation:
    """A candidate's classes judged against the observed members."""

    mapping: np.ndarray  #: member index of each class (-1: class never observed)
    predicted: np.ndarray  #: int64 member per observation (-1: not predictable)
    agree: np.ndarray  #: bool per observation
    flows: int  #: flows judged
    flows_agreeing: int
    packets: int
    packets_agreeing: int
    bytes: int
    bytes_agreeing: int
    units: int
    units_agreeing: int
    classes: int  #: classes used
    chance: float  #: probability of this agreement from a wrong candidate

    @property
    def by_flows(self) -> float:
        return self.flows_agreeing / self.flows if self.flows else 0.0

    @property
    def by_packets(self) -> float:
        return self.packets_agreeing / self.packets if self.packets else 0.0

    @property
    def by_bytes(self) -> float:
        return self.bytes_agreeing / self.bytes if self.bytes else 0.0


def binomial_tail(k: int, a: int, p: float) -> float:
    """P(X >= a) for X ~ Binomial(k, p), computed in log space."""
    if a <= 0:
        return 1.0
    if a > k:
        return 0.0
    j = np.arange(1, k + 1, dtype=np.float64)
    log_choose = np.concatenate([[0.0], np.cumsum(np.log((k - j + 1) / j))])  # C(k, i)
    i = np.arange(a, k + 1, dtype=np.float64)
    logs = log_choose[a:] + i * math.log(p) + (k - i) * math.log1p(-p)
    top = logs.max()
    return float(min(1.0, math.exp(top) * np.exp(logs - top).sum()))


def learn_mapping(classes: np.ndarray, member: np.ndarray, weight: np.ndarray,
                  n_classes: int, n_members: int, one_to_one: bool) -> np.ndarray:
    """The member of each class (see the module's docstring); -1 where none."""
    table = np.zeros((n_classes, n_members), np.float64)
    ok = classes >= 0
    np.add.at(table, (classes[ok], member[ok]), weight[ok])
    mapping = np.full(n_classes, -1, np.int64)
    if not one_to_one:
        seen = table.sum(axis=1) > 0
        mapping[seen] = table[seen].argmax(axis=1)
        return mapping
    order = np.argsort(-table, axis=None, kind="stable")
    used = np.zeros(n_members, bool)
    for cell in order[: n_classes * n_members]:  # one step per cell of the small table
        c, m = divmod(int(cell), n_members)
        if table[c, m] <= 0:
            break
        if mapping[c] < 0 and not used[m]:
            mapping[c], used[m] = m, True
    return mapping


def evaluate(classes: np.ndarray, units: np.ndarray, member: np.ndarray, flow: np.ndarray,
             packets: np.ndarray, size: np.ndarray, n_classes: int, n_members: int,
             one_to_one: bool = True) -> Evaluation:
    """Judge one candidate's ``classes`` (per observation; -1: none, -2: every member)
    against the observed ``member`` of each observation; ``units`` groups the
    observations that go together whatever the member order (their hash value)."""
    mapping = learn_mapping(classes, member, packets, n_classes, n_members, one_to_one)
    predicted = np.where(classes >= 0, mapping[np.clip(classes, 0, None)], -1)
    agree = predicted == member
    judged = classes >= 0
    bad = np.bincount(flow[judged], weights=~agree[judged], minlength=1)
    seen = np.bincount(flow[judged], minlength=1) > 0
    _, unit = np.unique(units[judged], return_inverse=True)
    unit_bad = np.bincount(unit.reshape(-1), weights=~agree[judged]) if judged.any() \
        else np.zeros(0)
    k, a = len(unit_bad), int((unit_bad == 0).sum())
    c = len(np.unique(classes[judged]))
    chance = binomial_tail(k - c, a - c, 1.0 / max(n_members, 1)) if n_members > 1 else 1.0
    return Evaluation(mapping, predicted, agree, int(seen.sum()),
                      int((seen & (bad == 0)).sum()), int(packets[judged].sum()),
                      int(packets[judged & agree].sum()), int(size[judged].sum()),
                      int(size[judged & agree].sum()), k, a, c, chance)
