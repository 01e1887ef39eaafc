"""Frames folded by header signature (:mod:`hashscope.hashes.signature`) during a read."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hashscope.columns import DEPTH_NONE
from hashscope.flows.table import FlowTable
from hashscope.hashes.signature import WORDS, signature_rows

from .direction import LocalHost, sent_mask

#: Frames that are not column-hashed are hashed per frame, this many at a time (a
#: compiled call on a few rows costs more in overhead than in hashing).
REST_CHUNK = 1 << 16

Frames = tuple[np.ndarray, np.ndarray, np.ndarray]  #: packets, their flows, sent or not


@dataclass
class Batch:
    """A batch of frames as the analysis takes it, from packet tables or from records."""

    depth: np.ndarray
    wirelen: np.ndarray
    ts_ns: np.ndarray
    iface: np.ndarray
    flow_keys: tuple[np.ndarray, np.ndarray]  #: words, XXH64
    signatures: tuple[np.ndarray, np.ndarray, np.ndarray] | None  #: words, XXH64, hashed
    table: np.ndarray | None = None  #: the packet table (every frame), if decoded into one
    rest: np.ndarray | None = None  #: else the rows of the frames not column-hashed

    def sent(self, local: LocalHost | None) -> np.ndarray:
        """Frames the bonded host sent (from the packet table)."""
        return sent_mask(self.table, local)


class SignatureFold:
    """Column-hashed frames folded by header signature, with the flow of each signature;
    the other frames kept until there are enough of them to hash."""

    def __init__(self, offload: bool, local: LocalHost | None):
        self.offload, self.local = offload, local
        self.table = FlowTable(key_words=WORDS)
        self.flow = np.empty(1 << 16, np.int64)
        self.sent = np.empty(0, bool)  #: per signature, with a --local host
        #: the rows of the signatures the last batch added
        self.fresh = signature_rows(np.empty((0, WORDS), np.uint64))
        self.rest: list[Frames] = []
        self.rest_rows = 0

    def add(self, b: Batch, fids: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, Frames | None]:
        """Fold the column-hashed frames of a batch: (every frame's signature, -1 for the
        others; which frames have one; which frames were sent; the rows of the others;
        the others once REST_CHUNK of them are waiting)."""
        words, hashes, hashed = b.signatures
        hashed &= fids >= 0
        # the other frames pass as undecoded: the table skips them (their signature is -1)
        depth = np.where(hashed, b.depth, np.uint8(DEPTH_NONE))
        before = self.table.n
        sids = self.table.add_keyed(depth, b.wirelen, b.ts_ns, b.iface, words, hashes)
        if self.table.n > len(self.flow):
            self.flow = np.concatenate([self.flow, np.empty(self.table.n, np.int64)])
        self.flow[sids[hashed]] = fids[hashed]  # a signature holds the flow key: one flow
        self.fresh = signature_rows(self.table.keys[before:self.table.n])
        rest = ~hashed
        rows = b.rest if b.rest is not None else b.table[rest]
        if b.table is not None:
            sent = b.sent(self.local)
        else:
            sent = np.ones(len(hashed), bool)
            if self.local is not None:  # a signature holds the source MAC and address
                self.sent = np.concatenate([self.sent, sent_mask(self.fresh, self.local)])
                sent[hashed] = self.sent[sids[hashed]]
                sent[rest] = sent_mask(rows, self.local)
        if rest.any():
            self.rest.append((rows, fids[rest], sent[rest]))
            self.rest_rows += len(rows)
        waiting = self.flush() if self.rest_rows >= REST_CHUNK else None
        return sids, hashed, sent, rows, waiting

    def flush(self) -> Frames | None:
        """The frames waiting to be hashed one by one, if any."""
        if not self.rest:
            return None
        pk, fids, sent = (np.concatenate(c) for c in zip(*self.rest, strict=True))
        self.rest, self.rest_rows = [], 0
        return pk, fids, sent

    def rows(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(one packet-table row per signature, its flow, packets, bytes)."""
        n = self.table.n
        return (signature_rows(self.table.keys[:n]), self.flow[:n], self.table.stats[:n, 0],
                self.table.stats[:n, 1])


class SignatureHashes:
    """The bucket of every signature under one ordered assigner whose hash is stateless
    (``buckets``, ``route``: OVS's), so that its frames are routed in order without
    being hashed one by one."""

    def __init__(self, assigner):
        self.assigner = assigner
        self.bucket = np.empty(0, np.int16)

    def extend(self, rows: np.ndarray) -> None:
        """Hash the rows of new signatures (:attr:`SignatureFold.fresh`)."""
        if len(rows):
            self.bucket = np.concatenate([self.bucket, self.assigner.buckets(rows)])

    def frames(self, sids: np.ndarray, hashed: np.ndarray, rest: np.ndarray) -> np.ndarray:
        """The bucket (-1: none) of every frame of a batch: by signature where it has one,
        else from ``rest``, the rows of the others."""
        if not len(rest):  # every frame has a signature (the usual batch): one gather
            return self.bucket[sids]
        bucket = np.empty(len(sids), np.int16)
        bucket[hashed] = self.bucket[sids[hashed]]
        bucket[~hashed] = self.assigner.buckets(rest)
        return bucket
