"""The flow table: one row per flow key, aggregated batch by batch in compiled code.

A flow key is (source MAC, destination MAC, outer and inner VLAN id, ethertype,
IP version, source and destination address, protocol, source and destination
port): one direction of a conversation, which is what a bond hashes. Keys are
hashed with XXH64 into an open-addressing table whose size follows the number
of flows, never the number of packets.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numba import njit, prange

from hashscope.capture.records import RecordBatch
from hashscope.columns import DEPTH_NONE, PACKET_DTYPE
from hashscope.decode.packets import PREFETCH_AHEAD, decode_packet, prefetch_frame
from hashscope.prefetch import prefetch
from hashscope.xxh64 import xxh64_words

KEY_WORDS = 8
IFACE_WORD = 64  # interfaces are kept as a bit mask per flow, in 64-bit words
NO_VLAN = 0xFFFF


@njit(cache=True, inline="always")
def flow_key(r, w):
    """Fill ``w`` (8 uint64) with the flow key of packet record ``r``."""
    v0 = np.uint64(r.vlan0_tci & 0x0FFF) if r.vlan_n > 0 else np.uint64(NO_VLAN)
    v1 = np.uint64(r.vlan1_tci & 0x0FFF) if r.vlan_n > 1 else np.uint64(NO_VLAN)
    w[0] = r.src_mac | (np.uint64(r.mac_ok) << np.uint64(48))
    w[1] = r.dst_mac
    w[2] = (v0 << np.uint64(48)) | (v1 << np.uint64(32)) | (np.uint64(r.ethertype) << np.uint64(
        16)) | (np.uint64(r.ip_ver) << np.uint64(8)) | np.uint64(r.proto)
    w[3] = r.src_hi
    w[4] = r.src_lo
    w[5] = r.dst_hi
    w[6] = r.dst_lo
    w[7] = (np.uint64(r.sport) << np.uint64(16)) | np.uint64(r.dport)


@njit(cache=True, inline="always")
def key_hash(r, w):
    """Fill ``w`` with the flow key of record ``r``; return the key's XXH64."""
    flow_key(r, w)
    return xxh64_words(w, 0)


@njit(cache=True, nogil=True, parallel=True)
def packet_keys(pk):
    """Flow key words and their XXH64 for every packet of a packet table (on all cores)."""
    n = pk.shape[0]
    words = np.empty((n, KEY_WORDS), np.uint64)
    hashes = np.empty(n, np.uint64)
    for i in prange(n):
        hashes[i] = key_hash(pk[i], words[i])
    return words, hashes


#: Work items per batch of :func:`record_keys` (each has its own scratch record).
KEY_CHUNKS = 32


@njit(cache=True, nogil=True, parallel=True)
def record_keys(data, offset, caplen, iface, linktype_of_iface, scratch, raw):
    """Flow key words, their XXH64 and the decoding depth of every record of a batch,
    straight from the captured bytes (on all cores).

    Each frame is decoded into a scratch record (``scratch``: KEY_CHUNKS records,
    ``raw`` their bytes), cleared before each frame, never into a packet table: the
    flow table needs 73 bytes per packet, not the table's 280, and memory traffic is
    what a read is made of.
    """
    n = offset.shape[0]
    words = np.empty((n, KEY_WORDS), np.uint64)
    hashes = np.empty(n, np.uint64)
    depth = np.empty(n, np.uint8)
    step = (n + KEY_CHUNKS - 1) // KEY_CHUNKS
    for c in prange(KEY_CHUNKS):
        r = scratch[c]
        for i in range(c * step, min(n, (c + 1) * step)):
            prefetch_frame(data, offset, i, n)
            raw[c, :] = 0
            p = offset[i]
            depth[i] = decode_packet(data, p, p + caplen[i], linktype_of_iface[iface[i]], r)[0]
            hashes[i] = key_hash(r, words[i])
    return words, hashes, depth


def batch_keys(batch: RecordBatch, linktype_of_iface: np.ndarray) -> tuple[np.ndarray, ...]:
    """What :meth:`FlowTable.add_keyed` takes for a record batch, by :func:`record_keys`:
    (depth, wirelen, ts_ns, iface, key words, hashes). Holds nothing of the batch's
    buffer, so the reader can move on."""
    scratch = np.zeros(KEY_CHUNKS, PACKET_DTYPE)
    words, hashes, depth = record_keys(batch.data, batch.offset, batch.caplen, batch.iface,
                                       linktype_of_iface, scratch,
                                       scratch.view(np.uint8).reshape(KEY_CHUNKS, -1))
    return depth, batch.wirelen, batch.ts_ns, batch.iface, words, hashes


@njit(cache=True, nogil=True)
def accumulate(depth, wirelen, ts_ns, iface, pkt_words, pkt_hashes, slots, hashes, keys, stats,
               ifmask, n, fids):
    """Add a batch of packets to the flow table; returns the new flow count.

    ``pkt_words``/``pkt_hashes`` come from :func:`packet_keys` or :func:`record_keys`;
    packets of depth DEPTH_NONE are counted apart. stats columns:
    packets, bytes, first ns, last ns. ``fids`` receives each packet's flow index (-1:
    not decoded). The caller guarantees room for one new
    flow per packet and a load factor of at most 1/2.
    """
    mask = np.uint64(slots.shape[0] - 1)
    skipped = 0
    n_pk = depth.shape[0]
    for i in range(n_pk):
        if depth[i] == DEPTH_NONE:
            skipped += 1
            fids[i] = -1
            continue
        if i + PREFETCH_AHEAD < n_pk:
            prefetch(slots, pkt_hashes[i + PREFETCH_AHEAD] & mask)
        w = pkt_words[i]
        h = pkt_hashes[i]
        s = h & mask
        while True:
            f = slots[s]
            if f < 0:
                f = n
                n += 1
                slots[s] = f
                hashes[f] = h
                for k in range(w.shape[0]):
                    keys[f, k] = w[k]
                stats[f, 0] = 0
                stats[f, 1] = 0
                stats[f, 2] = ts_ns[i]
                stats[f, 3] = ts_ns[i]
                for k in range(ifmask.shape[1]):
                    ifmask[f, k] = 0
                break
            if hashes[f] == h:
                same = True
                for k in range(w.shape[0]):
                    if keys[f, k] != w[k]:
                        same = False
                        break
                if same:
                    break
            s = (s + np.uint64(1)) & mask
        fids[i] = f
        stats[f, 0] += 1
        stats[f, 1] += wirelen[i]
        if ts_ns[i] < stats[f, 2]:
            stats[f, 2] = ts_ns[i]
        if ts_ns[i] > stats[f, 3]:
            stats[f, 3] = ts_ns[i]
        ifmask[f, iface[i] >> 6] |= np.uint64(1) << np.uint64(iface[i] & 63)
    return n, skipped


@njit(cache=True)
def _rehash(hashes, n, size):
    slots = np.full(size, -1, np.int64)
    mask = np.uint64(size - 1)
    for f in range(n):
        s = hashes[f] & mask
        while slots[s] >= 0:
            s = (s + np.uint64(1)) & mask
        slots[s] = f
    return slots


class FlowTable:
    """Accumulates packet tables into flows; memory follows the number of flows.

    ``key_words``: the width of a key; the flow key's by default (any other key, e.g. a
    header signature, folds packets the same way: packets, bytes, first and last time).
    """

    def __init__(self, capacity: int = 1 << 16, key_words: int = KEY_WORDS):
        self.n = 0
        self.undecoded_packets = 0
        self.hashes = np.empty(capacity, np.uint64)
        self.keys = np.empty((capacity, key_words), np.uint64)
        self.stats = np.empty((capacity, 4), np.int64)
        self.ifmask = np.empty((capacity, 1), np.uint64)  #: interface bits, 64 a word
        self.slots = np.full(2 * capacity, -1, np.int64)

    def _reserve(self, extra: int) -> None:
        need = self.n + extra
        if need > len(self.hashes):
            cap = max(need, 2 * len(self.hashes))
            for name in ("hashes", "keys", "stats", "ifmask"):
                old = getattr(self, name)
                new = np.empty((cap, *old.shape[1:]), old.dtype)
                new[: self.n] = old[: self.n]
                setattr(self, name, new)
        if 2 * need > len(self.slots):
            size = len(self.slots)
            while 2 * need > size:
                size *= 2
            self.slots = _rehash(self.hashes, self.n, size)

    def add(self, packets: np.ndarray, keys: tuple[np.ndarray, np.ndarray] | None = None
            ) -> np.ndarray:
        """Add a packet table (PACKET_DTYPE) to the flows; returns each packet's flow index.

        ``keys``: its :func:`packet_keys`, when already computed (e.g. in a reader thread).
        Flow indices are rows of :meth:`frame` before sorting (its ``flow`` column).
        """
        words, hashes = keys if keys is not None else packet_keys(packets)
        return self.add_keyed(packets["depth"], packets["wirelen"], packets["ts_ns"],
                              packets["iface"], words, hashes)

    def add_keyed(self, depth, wirelen, ts_ns, iface, words, hashes) -> np.ndarray:
        """Add packets given as columns and their flow keys (:func:`packet_keys`,
        :func:`batch_keys`); returns their flow indices."""
        if len(iface) and iface.max() >= IFACE_WORD * self.ifmask.shape[1]:
            width = int(iface.max()) // IFACE_WORD + 1  # more interfaces: wider masks
            grown = np.zeros((len(self.ifmask), width), np.uint64)
            grown[:, : self.ifmask.shape[1]] = self.ifmask
            self.ifmask = grown
        self._reserve(len(iface))
        fids = np.empty(len(iface), dtype=np.int64)
        self.n, skipped = accumulate(*(np.ascontiguousarray(c) for c in (depth, wirelen,
                                                                        ts_ns, iface)),
                                     words, hashes, self.slots, self.hashes, self.keys,
                                     self.stats, self.ifmask, self.n, fids)
        self.undecoded_packets += skipped
        return fids

    def frame(self, interface_names: list[str]) -> pd.DataFrame:
        """The flows as a DataFrame, largest (by bytes) first, indexed by flow index."""
        return flow_frame(self.keys[: self.n], self.stats[: self.n], self.ifmask[: self.n],
                          interface_names)


def flow_frame(keys: np.ndarray, stats: np.ndarray, ifmask: np.ndarray,
               interface_names: list[str]) -> pd.DataFrame:
    """Turn flow-table arrays into the user-facing DataFrame."""
    from .addresses import format_addresses, format_macs

    w2 = keys[:, 2]
    v0 = (w2 >> np.uint64(48)).astype(np.int32)
    v1 = ((w2 >> np.uint64(32)) & np.uint64(0xFFFF)).astype(np.int32)
    ip_ver = ((w2 >> np.uint64(8)) & np.uint64(0xFF)).astype(np.uint8)
    mac_ok = (keys[:, 0] >> np.uint64(48)).astype(np.uint8)
    df = pd.DataFrame(
        {
            "src": format_addresses(ip_ver, keys[:, 3], keys[:, 4]),
            "dst": format_addresses(ip_ver, keys[:, 5], keys[:, 6]),
            "sport": (keys[:, 7] >> np.uint64(16)).astype(np.uint16),
            "dport": (keys[:, 7] & np.uint64(0xFFFF)).astype(np.uint16),
            "proto": (w2 & np.uint64(0xFF)).astype(np.uint8),
            "packets": stats[:, 0],
            "bytes": stats[:, 1],
            "src_mac": format_macs(keys[:, 0] & np.uint64(0xFFFFFFFFFFFF), mac_ok & 2 > 0),
            "dst_mac": format_macs(keys[:, 1], mac_ok & 1 > 0),
            "vlan": pd.array(np.where(v0 == NO_VLAN, -1, v0), dtype="Int32"),
            "inner_vlan": pd.array(np.where(v1 == NO_VLAN, -1, v1), dtype="Int32"),
            "ethertype": ((w2 >> np.uint64(16)) & np.uint64(0xFFFF)).astype(np.uint16),
            "ip_version": ip_ver,
            "first": pd.to_datetime(stats[:, 2], unit="ns", utc=True),
            "last": pd.to_datetime(stats[:, 3], unit="ns", utc=True),
            "interfaces": interface_lists(ifmask, interface_names),
        }
    )
    for col in ("vlan", "inner_vlan"):
        df[col] = df[col].mask(df[col] < 0)
    order = np.lexsort((-df["packets"].to_numpy(), -df["bytes"].to_numpy()))
    out = df.iloc[order]
    out.index.name = "flow"  # the flow index FlowTable.add gave each packet
    return out


def interface_lists(ifmask: np.ndarray, names: list[str]) -> np.ndarray:
    """Comma-separated interface names per flow (``ifmask``: a row of 64-bit words per
    flow), computed once per distinct mask."""
    if not len(ifmask):
        return np.array([], dtype=object)
    uniq, inverse = np.unique(ifmask.reshape(len(ifmask), -1), axis=0, return_inverse=True)
    labels = []
    for row in uniq.tolist():
        labels.append(",".join(n for i, n in enumerate(names)
                               if i // IFACE_WORD < len(row)
                               and row[i // IFACE_WORD] >> (i % IFACE_WORD) & 1))
    return np.array(labels, dtype=object)[inverse.reshape(-1)]

