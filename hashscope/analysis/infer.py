"""Which configuration explains what the members carried (``hashscope infer``).

The captures are folded into observations (:mod:`.observations`); every candidate
(:mod:`.candidates`, :mod:`.modes`) is judged on them (:mod:`.evidence`). Candidates that
agree with every observation (or nearly: :data:`EXPLAINS`) come first, the strongest
evidence first (the smallest chance of agreeing so well by accident); candidates that are
the same on this data (other kernel eras, the other VLAN mode) are folded into the first
of them. The answer is "explained" only if the best candidate agrees with
:data:`EXPLAINS` of the flows and would do so by chance with probability below
:data:`CHANCE`: otherwise the output says that nothing explains the observations, or that
they are too few to tell.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from hashscope.capture.reader import WarningHandler
from hashscope.errors import CaptureWarning
from hashscope.members import Members

from . import candidates, modes
from .candidates import Candidate
from .direction import LocalHost
from .observations import RECEIVED, SENT, Observations, observe
from .spans import overlap_warning

EXPLAINS = 0.99  #: share of the flows the best candidate must agree with
CHANCE = 1e-3  #: and the chance of that agreement from a wrong candidate must be below
SHOWN = 12  #: candidates kept in the answer


@dataclass
class Inference:
    direction: str  #: "transmit" or "receive"
    explained: bool
    reason: str
    candidates: list[Candidate]
    observations: Observations
    approximate: bool = False  #: the receive side: the switch models are approximate
    notes: list[str] = field(default_factory=list)

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


def infer(paths: Sequence, members: Members, local: LocalHost | None = None,
          direction: str | None = None, freebsd: bool = True,
          on_warning: WarningHandler | None = None, key_search_run=None
          ) -> list[Inference]:
    """Observe the captures on ``members`` and judge every candidate; one
    :class:`Inference` per direction present (or the one asked for). ``key_search_run``:
    where the FreeBSD key searches scan (the ``run`` of
    :func:`~hashscope.hashes.freebsd.keysearch.search_keys`, such as
    :func:`hashscope.distributed.keys.dask_scan`; None: in process)."""
    obs = observe(paths, members, local, on_warning)
    barely = overlap_warning(obs.spans)
    if barely:
        warning = CaptureWarning(",".join(obs.members.names), None, barely)
        obs.warnings.append(warning)
        if on_warning:
            on_warning(warning)
    out = []
    for name, code in (("transmit", SENT), ("receive", RECEIVED)):
        idx = obs.select(code)
        if direction not in (None, name) or (direction is None and not len(idx)):
            continue
        out.append(judge(obs, idx, name, freebsd, key_search_run))
    return out


def judge(obs: Observations, idx: np.ndarray, direction: str, freebsd: bool = True,
          key_search_run=None) -> Inference:
    """Rank the candidates for one direction's observations ``idx``."""
    if direction == "transmit":
        found = list(candidates.linux(obs, idx))
        if freebsd:
            found += list(candidates.freebsd(obs, idx, key_search_run))
        found += list(candidates.ovs(obs, idx))
        found += [c for c in (modes.active_backup(obs, idx), modes.round_robin(obs, idx),
                              modes.broadcast(obs, idx)) if c is not None]
    else:
        found = list(candidates.switches(obs, idx))
    ranked = _fold_equal(sorted(found, key=_rank))
    _deciding(ranked, obs.flow[idx])
    best = ranked[0] if ranked else None
    if best is None or not best.evaluation.flows:
        explained, reason = False, "no frames on the members in this direction"
    elif best.evaluation.by_flows < EXPLAINS:
        explained, reason = False, (
            f"nothing explains the observations: the best candidate ({best.label()}) "
            f"agrees with {best.evaluation.by_flows:.1%} of the flows")
    elif not _testable(best):
        explained, reason = False, (
            f"nothing testable explains the observations: only {best.label()} is consistent "
            f"with them ({best.note})")
    elif best.evaluation.chance >= CHANCE:
        explained, reason = False, (
            f"too few independent flows to tell: {best.label()} agrees, but a wrong "
            f"configuration would agree as well with probability "
            f"{best.evaluation.chance:.2g}")
    else:
        explained, reason = True, (
            f"{best.label()} agrees with {best.evaluation.by_flows:.2%} of the flows; "
            f"a wrong configuration would agree as well with probability "
            f"{best.evaluation.chance:.2g}")
    return Inference(direction, explained, reason, ranked[:SHOWN], obs,
                     approximate=direction == "receive")


def _rank(c: Candidate) -> tuple:
    ev = c.evaluation
    explains = ev.by_flows >= EXPLAINS
    return (not explains, ev.chance if explains else 0.0, -ev.by_flows, -ev.by_bytes,
            not c.exact)


def _fold_equal(ranked: list[Candidate]) -> list[Candidate]:
    """Candidates of one family and policy that predict the same member for every
    observation are one entry (the first; the others in its ``also``)."""
    kept, seen = [], {}
    for c in ranked:
        key = (c.family, c.policy, c.mode, c.evaluation.predicted.tobytes(),
               tuple(c.links), c.evaluation.flows_agreeing)
        if key in seen:
            seen[key].also.append(c.label())
            continue
        seen[key] = c
        kept.append(c)
    return kept


def _testable(c: Candidate) -> bool:
    """Whether the candidate can be wrong: more units than classes it learns."""
    return c.evaluation.units > c.evaluation.classes


def _deciding(ranked: list[Candidate], flow: np.ndarray) -> None:
    """For each candidate, the flows on which it and the next testable one predict
    differently (an untestable model, which fits whatever it is shown, decides nothing)."""
    for k, c in enumerate(ranked):
        nxt = next((d for d in ranked[k + 1:] if _testable(d)), None)
        if nxt is None:
            continue
        a, b = c.evaluation.predicted, nxt.evaluation.predicted
        if len(a) == len(flow) and len(b) == len(flow):
            c.deciding_flows = len(np.unique(flow[a != b]))
        else:  # a mode judged on the frame sequence: every flow tells them apart
            c.deciding_flows = c.evaluation.flows
