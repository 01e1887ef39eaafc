"""Open vSwitch balance-slb told from member captures: buckets that move, filled in turn.

An SLB bond hashes the source MAC and VLAN into one of 256 buckets; which member a bucket
is on is the bond's own doing: a bucket used for the first time takes the next member of
a round robin over the enabled members, and rebalancing (every 10 s by default) or a
failover moves whole buckets. Judged on the sent frames in time order:

* a bucket is on one member at a time: a frame of a bucket on another member than the
  bucket's frames just before and just after it is a *blip* (:func:`blips`), which SLB
  never makes; a move (the frames after it all on the new member) is not one, unless it
  comes too soon after the bucket's last move for a rebalancing;
* buckets used for the first time go to the members in turn (:func:`round_robin_fill`):
  after the first n (n members), the i-th new bucket lands where the (i-n)-th did. That
  is the evidence: a wrong model matches it one time in n.
"""

from __future__ import annotations

import numpy as np

MIN_MOVE_NS = 500_000_000  #: a bucket moves again no sooner (OVS rebalances at least 1 s
#: apart, at revalidator passes some 500 ms apart)


def blips(bucket: np.ndarray, member: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """Per frame (in time order): a frame on another member than its bucket's frames just
    before and after it (which are on one member), or the first frame of a move that comes
    sooner than :data:`MIN_MOVE_NS` after the bucket's last one."""
    order = np.argsort(bucket, kind="stable")  # time order kept within each bucket
    b, m, t = bucket[order], member[order], ts[order]
    bad = np.zeros(len(b), bool)
    if len(b) > 2:
        bad[order[1:-1]] = ((b[1:-1] == b[:-2]) & (b[2:] == b[1:-1]) & (m[1:-1] != m[:-2])
                            & (m[2:] == m[:-2]))
    change = np.flatnonzero((b[1:] == b[:-1]) & (m[1:] != m[:-1])) + 1
    if len(change) > 1:
        soon = (b[change[1:]] == b[change[:-1]]) & (t[change[1:]] - t[change[:-1]]
                                                    < MIN_MOVE_NS)
        bad[order[change[1:][soon]]] = True
    return bad & (bucket >= 0)


def round_robin_fill(bucket: np.ndarray, member: np.ndarray, n_members: int
                     ) -> tuple[list[int], int, int]:
    """(the members the first n new buckets went to: the enabled order; new buckets after
    those; how many of them landed where the round robin puts them), frames in time
    order."""
    ok = np.flatnonzero(bucket >= 0)
    _, at = np.unique(bucket[ok], return_index=True)
    fills = member[ok][np.sort(at)]  # each bucket's first member, in time order
    ring = [int(m) for m in fills[:n_members]]
    later = fills[n_members:]
    hits = int((later == fills[: len(later)]).sum()) if len(later) else 0
    return ring, len(later), hits
