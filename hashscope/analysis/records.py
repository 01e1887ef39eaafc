"""Record batches keyed for the analysis straight from the captured bytes, as flows are.

Each frame is decoded into a scratch row (one per work item), never into a packet table:
only its flow key, its header signature and, for a frame that is not column-hashed, its
row are kept. Most frames are column-hashed, so the analysis writes about 270 bytes per
frame instead of a 280-byte row plus the keys read back from it.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from hashscope.capture.records import RecordBatch
from hashscope.columns import PACKET_DTYPE
from hashscope.decode.packets import decode_row, prefetch_frame
from hashscope.flows.table import KEY_CHUNKS, KEY_WORDS, key_hash
from hashscope.hashes.signature import KEPT, MASK, ROW_WORDS, WORDS, signature_of


@njit(cache=True, nogil=True, parallel=True)
def _keyed_records(data, offset, caplen, wirelen, ts_ns, iface, linktype_of_iface, scratch,
                   raw, words, head, offload, kept, mask, fkeys, fhashes, depth, skeys,
                   shashes, hashed, rows):
    n = offset.shape[0]
    step = (n + KEY_CHUNKS - 1) // KEY_CHUNKS
    for c in prange(KEY_CHUNKS):
        r = scratch[c]
        for i in range(c * step, min(n, (c + 1) * step)):
            prefetch_frame(data, offset, i, n)
            raw[c, :] = 0
            decode_row(data, offset, caplen, wirelen, ts_ns, iface, linktype_of_iface, i, r,
                       head[c])
            depth[i] = r.depth
            fhashes[i] = key_hash(r, fkeys[i])
            hashed[i], shashes[i] = signature_of(r, words[c], offload, kept, mask, skeys[i])
            if not hashed[i]:
                rows[i] = r


def keyed_records(batch: RecordBatch, linktype_of_iface: np.ndarray, offload: bool
                  ) -> tuple[np.ndarray, ...]:
    """(depth, flow key words, their XXH64, signature key words, their XXH64, column-hashed,
    the packet-table rows of the other frames) of a record batch; holds nothing of the
    batch's buffer."""
    n = len(batch)
    scratch = np.zeros(KEY_CHUNKS, PACKET_DTYPE)
    fkeys, fhashes = np.empty((n, KEY_WORDS), np.uint64), np.empty(n, np.uint64)
    skeys, shashes = np.empty((n, WORDS), np.uint64), np.empty(n, np.uint64)
    depth, hashed = np.empty(n, np.uint8), np.empty(n, bool)
    rows = np.empty(n, PACKET_DTYPE)  # only the rows of the other frames are written
    if n:
        _keyed_records(batch.data, batch.offset, batch.caplen, batch.wirelen, batch.ts_ns,
                       batch.iface, linktype_of_iface, scratch,
                       scratch.view(np.uint8).reshape(KEY_CHUNKS, -1),
                       scratch.view(np.uint64).reshape(KEY_CHUNKS, ROW_WORDS), scratch["head"],
                       offload, KEPT, MASK, fkeys, fhashes, depth, skeys, shashes, hashed,
                       rows)
    return depth, fkeys, fhashes, skeys, shashes, hashed, rows[~hashed]
