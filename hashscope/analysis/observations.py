"""What the member captures show: every distinct hash input, the member it was seen on.

One read of the captures folds the frames seen on the bond's members into
*observations*: one per distinct (hash input, member, direction), with its packets,
bytes, first and last time and its flow. A frame's hash input is its header signature
(:mod:`hashscope.hashes.signature`) where every stateless policy hashes it from the
decoded columns, else its whole packet-table row but for the time and the interface
(such a frame's hash may read its raw bytes). So every stateless policy gives every frame
of one observation the same member, and :mod:`hashscope.analysis.infer` hashes each
observation once.

The policies whose member depends on the order of the frames (round robin, active-backup
across a failover) are judged on the member sequence of the sent frames in time order,
kept for the first :data:`SEQUENCE_FRAMES` of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numba import njit, prange

from hashscope.capture.interfaces import survey
from hashscope.capture.reader import WarningHandler
from hashscope.columns import PACKET_DTYPE
from hashscope.decode.merge import TimeOrderedReader, take_rows
from hashscope.errors import CaptureWarning
from hashscope.flows.table import FlowTable, packet_keys
from hashscope.hashes.signature import IGNORED, ROW_WORDS, WHOLE, signature_keys
from hashscope.members import Members
from hashscope.threads import background
from hashscope.xxh64 import xxh64_words

from .detect import detect_local
from .direction import DIRECTION_FLAGS, LocalHost, sent_mask
from .duplicates import MemberFrames
from .observed import member_of

SEQUENCE_FRAMES = 4 << 20  #: sent frames whose member sequence is kept, in time order
MAX_OBSERVATIONS = 1 << 20  #: distinct hash inputs kept at most (the rest are counted)

SENT, RECEIVED = 1, 2  #: the direction of an observation


def _row_mask(ignored: Sequence[str]) -> np.ndarray:
    keep = np.zeros(PACKET_DTYPE.itemsize, np.uint8)
    for name in PACKET_DTYPE.names:
        if name not in ignored:
            dtype, offset = PACKET_DTYPE.fields[name][:2]
            keep[offset:offset + dtype.itemsize] = 0xFF
    return keep.view(np.uint64)


#: What of a row a signature keeps, and what of the other frames' rows: all but time
#: and interface (their hash may read the raw bytes and the lengths).
SIGNATURE_MASK = _row_mask(IGNORED)
REST_MASK = _row_mask(("ts_ns", "iface"))


@njit(cache=True, nogil=True, parallel=True)
def _observation_keys(rows, hashed, tag, sig_mask, rest_mask):
    """Per frame: its row masked to its hash input, plus a word of member and direction;
    and the key's XXH64."""
    n, w = rows.shape
    keys = np.empty((n, w + 1), np.uint64)
    hashes = np.empty(n, np.uint64)
    for i in prange(n):
        for k in range(w):
            keys[i, k] = rows[i, k] & (sig_mask[k] if hashed[i] else rest_mask[k])
        keys[i, w] = tag[i]
        hashes[i] = xxh64_words(keys[i], 2)
    return keys, hashes


@njit(cache=True, nogil=True, parallel=True)
def _input_hashes(keys):
    """The XXH64 of each observation's hash input (its key without the member word)."""
    n, w = keys.shape[0], keys.shape[1] - 1
    out = np.empty(n, np.uint64)
    for i in prange(n):
        out[i] = xxh64_words(keys[i, :w], 4)
    return out


@dataclass
class Observations:
    """The member captures folded by hash input (see the module's docstring)."""

    members: Members  #: the bond's members (names), in the order given (maybe unknown)
    rows: np.ndarray  #: PACKET_DTYPE, one per observation
    member: np.ndarray  #: int64 member index of each observation
    direction: np.ndarray  #: SENT or RECEIVED
    flow: np.ndarray  #: int64 flow index (rows of ``flows``)
    packets: np.ndarray
    bytes: np.ndarray
    first: np.ndarray  #: ns
    last: np.ndarray
    sequence: np.ndarray  #: member index of the first sent frames, in time order
    sequence_ts: np.ndarray
    sequence_obs: np.ndarray  #: their observations
    sequence_len: np.ndarray  #: their wire lengths
    spans: dict[str, tuple[int, int, int]]  #: member -> (first ns, last ns, frames)
    frames: int  #: frames on the members
    other_frames: int  #: frames on interfaces that are not members
    dropped: int  #: frames not kept because MAX_OBSERVATIONS was reached
    direction_source: str
    warnings: list[CaptureWarning] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  #: duplicates dropped, frames left out
    member_copies: int = 0  #: frames also seen, the same, on another member (broadcast)
    input: np.ndarray | None = None  #: per observation: its hash input's number (members
    #: apart: the same frames on two members have one)

    def select(self, direction: int) -> np.ndarray:
        return np.flatnonzero(self.direction == direction)


class Spans:
    """First and last time and frames per member, batch by batch."""

    def __init__(self):
        self.first = np.zeros(0, np.int64)
        self.last = np.zeros(0, np.int64)
        self.frames = np.zeros(0, np.int64)

    def add(self, member: np.ndarray, ts: np.ndarray) -> None:
        grow = int(member.max()) + 1 - len(self.frames)
        if grow > 0:
            self.first = np.r_[self.first, np.full(grow, np.iinfo(np.int64).max)]
            self.last = np.r_[self.last, np.full(grow, np.iinfo(np.int64).min)]
            self.frames = np.r_[self.frames, np.zeros(grow, np.int64)]
        np.minimum.at(self.first, member, ts)
        np.maximum.at(self.last, member, ts)
        self.frames += np.bincount(member, minlength=len(self.frames))

    def by_name(self, names: tuple[str, ...]) -> dict[str, tuple[int, int, int]]:
        return {names[k]: (int(self.first[k]), int(self.last[k]), int(self.frames[k]))
                for k in np.flatnonzero(self.frames)}


def observe(paths: Sequence, members: Members | None = None, local: LocalHost | None = None,
            on_warning: WarningHandler | None = None) -> Observations:
    """Read the captures once into :class:`Observations` over ``members`` (interface
    names; frames on other interfaces are counted, not observed). Without ``members``,
    every capture interface is a member, in the order the captures name them."""
    how = "--local " + ", ".join(local.text) if local is not None else ""
    peeked = survey(paths)  # each file's first records, once
    if peeked.directions:
        how = DIRECTION_FLAGS.removeprefix("direction: ") + (f"; elsewhere {how}" if how
                                                              else "")
    elif local is None:
        local, how = detect_local(paths, members)
        if local is None:
            how = f"assumed every frame on a member was sent by the bonded host ({how})"
    reader = TimeOrderedReader(paths, on_warning=on_warning, peeked=peeked)
    flows = FlowTable()
    table = FlowTable(key_words=ROW_WORDS + 1)
    flow_of = np.empty(0, np.int64)
    seq, seq_ts, seq_obs, seq_len = [], [], [], []
    seq_n = frames = dropped = 0
    spans = Spans()
    kept = MemberFrames(reader.registry, members)
    for pk in background(kept.keep(pk) for pk in reader.tables()):
        fids = flows.add(pk, packet_keys(pk))
        names = reader.registry.names()
        m = member_of(names, members or Members(tuple(dict.fromkeys(names))))[pk["iface"]]
        if (fids < 0).any():  # not decoded: not observed
            ok = np.flatnonzero(fids >= 0)
            pk, m, fids = take_rows(pk, ok), m[ok], fids[ok]
        frames += len(pk)
        if not len(pk):
            continue
        spans.add(m, pk["ts_ns"])
        sent = sent_mask(pk, local)
        direction = np.where(sent, SENT, RECEIVED).astype(np.uint64)
        hashed = signature_keys(pk, True)[2]
        tagged = np.flatnonzero(pk["vlan_n"] > 0)  # (the VLAN mode matters only for them)
        if len(tagged):
            hashed[tagged] &= signature_keys(pk[tagged], False)[2]
        tag = (m.astype(np.uint64) | (direction << np.uint64(16))
               | (hashed.astype(np.uint64) << np.uint64(32)))
        rows = np.ascontiguousarray(pk).view(np.uint64).reshape(len(pk), ROW_WORDS)
        keys, hashes = _observation_keys(rows, hashed, tag, SIGNATURE_MASK, REST_MASK)
        if table.n >= MAX_OBSERVATIONS:  # only those already known are still counted
            dropped += len(pk)
            continue
        oids = table.add_keyed(pk["depth"], pk["wirelen"], pk["ts_ns"], pk["iface"], keys,
                               hashes)
        if table.n > len(flow_of):
            flow_of = np.concatenate([flow_of, np.empty(table.n - len(flow_of) + 4096,
                                                        np.int64)])
        flow_of[oids] = fids
        if seq_n < SEQUENCE_FRAMES and sent.any():
            take = np.flatnonzero(sent)[: SEQUENCE_FRAMES - seq_n]
            seq.append(m[take].astype(np.int16))
            seq_ts.append(pk["ts_ns"][take])
            seq_obs.append(oids[take].astype(np.int32))
            seq_len.append(pk["wirelen"][take])
            seq_n += len(take)
    n = table.n
    keys = table.keys[:n]
    rows = np.ascontiguousarray(keys[:, :ROW_WORDS]).view(PACKET_DTYPE).reshape(n).copy()
    tag = keys[:, ROW_WORDS]
    inputs = (np.unique(_input_hashes(keys), return_inverse=True)[1].reshape(-1)
              if n else np.zeros(0, np.int64))
    hashed = (tag >> np.uint64(32)) > 0
    rows["caplen"][hashed] = rows["wirelen"][hashed] = WHOLE  # as signature_rows says
    order = np.argsort(np.concatenate(seq_ts), kind="stable") if seq else np.zeros(0, int)
    if members is None:
        members = Members(tuple(dict.fromkeys(reader.registry.names())))
    names = members.names
    direction_source = how
    return Observations(
        members, rows, (tag & np.uint64(0xFFFF)).astype(np.int64),
        ((tag >> np.uint64(16)) & np.uint64(0xFFFF)).astype(np.int64), flow_of[:n].copy(),
        table.stats[:n, 0].copy(), table.stats[:n, 1].copy(), table.stats[:n, 2].copy(),
        table.stats[:n, 3].copy(),
        *(np.concatenate(part)[order] if seq else np.zeros(0, dtype)
          for part, dtype in ((seq, np.int16), (seq_ts, np.int64), (seq_obs, np.int32),
                              (seq_len, np.uint32))),
        spans.by_name(names),
        frames, kept.other, dropped, direction_source, reader.warnings, kept.notes(),
        kept.duplicates.other_member, inputs)
