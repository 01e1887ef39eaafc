"""Frames folded by header signature (:mod:`hashscope.hashes.signature`) during a read."""

from __future__ import annotations

import numpy as np

from hashscope.columns import DEPTH_NONE
from hashscope.flows.table import FlowTable
from hashscope.hashes.signature import WORDS, signature_rows

#: Frames that are not column-hashed are hashed per frame, this many at a time (a
#: compiled call on a few rows costs more in overhead than in hashing).
REST_CHUNK = 1 << 16

Frames = tuple[np.ndarray, np.ndarray, np.ndarray]  #: packets, their flows, sent or not


class SignatureFold:
    """Column-hashed frames folded by header signature, with the flow of each signature;
    the other frames kept until there are enough of them to hash."""

    def __init__(self, offload: bool):
        self.offload = offload
        self.table = FlowTable(key_words=WORDS)
        self.flow = np.empty(1 << 16, np.int64)
        self.rest: list[Frames] = []
        self.rest_rows = 0
        self.given = 0  #: signatures whose rows :meth:`new_rows` gave

    def add(self, pk: np.ndarray, fids: np.ndarray, sent: np.ndarray, keyed
            ) -> tuple[np.ndarray, np.ndarray, Frames | None]:
        """Fold the column-hashed frames of a batch: (every frame's signature, -1 for the
        others; which frames have one; the others once REST_CHUNK of them are waiting)."""
        words, hashes, hashed = keyed
        hashed &= fids >= 0
        # the other frames pass as undecoded: the table skips them (their signature is -1)
        depth = np.where(hashed, pk["depth"], np.uint8(DEPTH_NONE))
        sids = self.table.add_keyed(depth, pk["wirelen"], pk["ts_ns"], pk["iface"], words,
                                    hashes)
        if self.table.n > len(self.flow):
            self.flow = np.concatenate([self.flow, np.empty(self.table.n, np.int64)])
        self.flow[sids[hashed]] = fids[hashed]  # a signature holds the flow key: one flow
        rest = ~hashed
        if rest.any():
            self.rest.append((pk[rest], fids[rest], sent[rest]))
            self.rest_rows += int(rest.sum())
        return sids, hashed, self.flush() if self.rest_rows >= REST_CHUNK else None

    def flush(self) -> Frames | None:
        """The frames waiting to be hashed one by one, if any."""
        if not self.rest:
            return None
        pk, fids, sent = (np.concatenate(c) for c in zip(*self.rest, strict=True))
        self.rest, self.rest_rows = [], 0
        return pk, fids, sent

    def new_rows(self) -> np.ndarray:
        """One packet-table row per signature found since the last call."""
        rows = signature_rows(self.table.keys[self.given:self.table.n])
        self.given = self.table.n
        return rows

    def rows(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(one packet-table row per signature, its flow, packets, bytes)."""
        n = self.table.n
        return (signature_rows(self.table.keys[:n]), self.flow[:n], self.table.stats[:n, 0],
                self.table.stats[:n, 1])


class SignatureHashes:
    """The hash of every signature under one ordered assigner whose hash is stateless
    (``hash``, ``route``: OVS's buckets), so that its frames are routed in order without
    being hashed one by one."""

    def __init__(self, assigner):
        self.assigner = assigner
        self.h = np.empty(0, np.uint32)
        self.valid = np.empty(0, bool)

    def extend(self, rows: np.ndarray) -> None:
        """Hash the rows of new signatures (:meth:`SignatureFold.new_rows`)."""
        if len(rows):
            h, valid = self.assigner.hash(rows)
            self.h = np.concatenate([self.h, h])
            self.valid = np.concatenate([self.valid, valid])

    def frames(self, pk: np.ndarray, sids: np.ndarray, hashed: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
        """(hash, valid) of every frame of a batch: by signature where it has one."""
        h, valid = np.empty(len(pk), np.uint32), np.empty(len(pk), bool)
        h[hashed], valid[hashed] = self.h[sids[hashed]], self.valid[sids[hashed]]
        rest = ~hashed
        if rest.any():
            h[rest], valid[rest] = self.assigner.hash(pk[rest])
        return h, valid
