"""The bucket table a real OVS bond used, learned from what its members carried.

Given every frame's bucket (:meth:`hashscope.hashes.ovs.bond.OvsBond.buckets`) and the
member it was seen on (captures taken on each member), in time order: which member each
bucket was on, when it moved, and in what order new buckets were handed out (the round
robin over the enabled members, for balance-slb). The table is consistent when each
bucket stays on one member between rebalancing runs and link changes; a bucket that
moves more often than that points at another hash or basis.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .bond import BOND_BUCKETS


@dataclass
class BucketTable:
    """What the members show of a bond's 256 buckets."""

    first: np.ndarray  #: per bucket, the member of its first frame (-1: never used)
    last: np.ndarray  #: per bucket, the member of its last frame (-1: never used)
    moves: np.ndarray  #: per bucket, how often consecutive frames changed member
    frames: np.ndarray  #: per bucket, frames
    first_use: np.ndarray  #: the members of the buckets in the order of their first frames

    @property
    def used(self) -> int:
        return int((self.frames > 0).sum())

    @property
    def consistent(self) -> bool:
        """Every bucket on one member all along."""
        return not self.moves.any()

    def round_robin_order(self, n_members: int) -> list[int]:
        """The members in the order the first new buckets went to them: the round robin's
        order (get_enabled_member), as far as the first uses show it."""
        order: list[int] = []
        for m in self.first_use.tolist():
            if m not in order:
                order.append(m)
            if len(order) == n_members:
                break
        return order


def learn_buckets(bucket: np.ndarray, member: np.ndarray) -> BucketTable:
    """The bucket table from frames in time order: ``bucket`` 0-255 (negative: no bucket,
    skipped) and ``member`` the index of the member each frame was seen on."""
    ok = bucket >= 0
    b, m = bucket[ok].astype(np.int64), member[ok].astype(np.int64)
    frames = np.bincount(b, minlength=BOND_BUCKETS)
    order = np.argsort(b, kind="stable")  # each bucket's frames, in time order
    bs, ms = b[order], m[order]
    same_bucket = bs[1:] == bs[:-1]
    moves = np.bincount(bs[1:][same_bucket & (ms[1:] != ms[:-1])], minlength=BOND_BUCKETS)
    first = np.full(BOND_BUCKETS, -1, np.int64)
    last = np.full(BOND_BUCKETS, -1, np.int64)
    starts = np.r_[True, ~same_bucket]
    ends = np.r_[~same_bucket, True]
    first[bs[starts]] = ms[starts]
    last[bs[ends]] = ms[ends]
    _, at = np.unique(b, return_index=True)  # first frame of each bucket, in time order
    first_use = m[np.sort(at)]
    return BucketTable(first, last, moves, frames, first_use)
