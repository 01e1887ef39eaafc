"""Frames captured twice: counted once, on their member.

``tcpdump -i any`` on a bonded host sees a sent frame on bond0 and again on the slave it
leaves on (a received one on the slave, then on bond0; with a VLAN on the bond, on
bond0.100 too), and ring-buffer files that overlap hold some frames twice. Two copies
have the same bytes from the network header on (the link headers differ: a cooked
header, a tag taken off) and are a few microseconds apart.

Each frame's *fingerprint* is the XXH64 of its wire length past the network header and
of the first :data:`FINGERPRINT_BYTES` bytes from there (for a frame without a network
header, such as ARP, from the end of its link header). A direct-mapped table remembers
the last frame of each fingerprint slot (bounded memory, whatever the capture's size: a
copy more than a slot's lifetime away can be missed, never a frame wrongly merged with
another), and a frame is a copy when the slot holds its fingerprint from at most
:data:`WINDOW_NS` away:

* on the same interface at the same instant: a repeat of overlapping files, dropped;
* one copy on a member and the other on an interface that is not one (bond0, a VLAN
  device): the member's copy is the frame, the other is counted as a duplicate (frames
  on interfaces that are not members are left out of the analysis anyway);
* on two members: not a duplicate (a broadcast bond sends a copy on each member); counted
  (:attr:`Duplicates.other_member`), since no other mode sends a frame twice.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from hashscope.columns import HEAD_BYTES
from hashscope.decode.merge import take_rows
from hashscope.xxh64 import xxh64_words

from .loads import plus

FINGERPRINT_BYTES = 40  #: bytes past the network header hashed (IPv4 + TCP headers)
WINDOW_NS = 2_000_000  #: copies of one frame are at most this far apart
SLOTS = 1 << 20  #: table slots (16 MiB)
COPIED = 0.9  #: an interface with this share of its frames seen on another one is named

SAME_INTERFACE, OTHER_INTERFACE, OTHER_MEMBER = 1, 2, 3  #: why a frame is a copy


@njit(cache=True, nogil=True, parallel=True)
def fingerprints(pk):
    """The fingerprint of every frame of a packet table (see the module's docstring)."""
    n = pk.shape[0]
    out = np.empty(n, np.uint64)
    for i in prange(n):
        r = pk[i]
        w = np.zeros(6, np.uint64)
        if r.l3_off >= 0:
            start = np.int64(r.l3_off)
        elif r.ll_ifindex >= 0:  # past the link header: Linux cooked v2, v1, Ethernet
            start = np.int64(20)
        elif r.pkttype >= 0:
            start = np.int64(16)
        elif r.mac_ok == 3:
            start = np.int64(14 + 4 * r.vlan_n)
        else:
            start = np.int64(0)
        w[5] = np.uint64(r.wirelen) - np.uint64(start) if r.wirelen >= start else np.uint64(0)
        for j in range(FINGERPRINT_BYTES):
            k = start + j
            if k < HEAD_BYTES and k < r.caplen:
                w[j >> 3] |= np.uint64(r.head[k]) << np.uint64(8 * (j & 7))
        out[i] = xxh64_words(w, 3)
    return out


@njit(cache=True, nogil=True)
def _copies(fp, ts, iface, is_member, window, slot_fp, slot_ts, slot_if, why):
    mask = np.uint64(slot_fp.shape[0] - 1)
    for i in range(fp.shape[0]):
        s = fp[i] & mask
        f = iface[i]
        if slot_fp[s] == fp[i] and slot_if[s] >= 0 and abs(ts[i] - slot_ts[s]) <= window:
            g = slot_if[s]
            if g == f:
                if ts[i] == slot_ts[s]:
                    why[i] = SAME_INTERFACE
                    continue
            elif is_member[f] and is_member[g]:
                why[i] = OTHER_MEMBER  # kept: a broadcast bond's copy on each member
            else:
                why[i] = OTHER_INTERFACE  # (of this copy and the slot's, the non-member's)
                if is_member[f]:  # the slot held the non-member copy: keep this one
                    slot_if[s] = f
                    slot_ts[s] = ts[i]
                continue
        slot_fp[s] = fp[i]
        slot_ts[s] = ts[i]
        slot_if[s] = f


class Duplicates:
    """The copies among frames read in order, and how many were dropped."""

    def __init__(self, slots: int = SLOTS):
        self.slot_fp = np.zeros(slots, np.uint64)
        self.slot_ts = np.zeros(slots, np.int64)
        self.slot_if = np.full(slots, -1, np.int64)
        self.same_interface = 0  #: repeats on one interface, dropped
        self.other_interface = 0  #: copies on an interface that is not a member
        self.other_member = 0  #: copies of a frame on another member (kept: broadcast)
        self.copied = np.zeros(0, np.int64)  #: per interface: its frames of that kind
        self.seen = np.zeros(0, np.int64)  #: per interface: its frames

    def copies(self, pk: np.ndarray, is_member: np.ndarray) -> np.ndarray:
        """True for the frames of a packet table that are copies of an earlier one
        (``is_member``: per interface of the registry)."""
        why = np.zeros(len(pk), np.int8)
        if len(pk):
            _copies(fingerprints(pk), np.ascontiguousarray(pk["ts_ns"]),
                    np.ascontiguousarray(pk["iface"]).astype(np.int64),
                    np.ascontiguousarray(is_member, dtype=np.bool_), WINDOW_NS, self.slot_fp,
                    self.slot_ts, self.slot_if, why)
        self.same_interface += int((why == SAME_INTERFACE).sum())
        self.other_interface += int((why == OTHER_INTERFACE).sum())
        self.other_member += int((why == OTHER_MEMBER).sum())
        self.copied = plus(self.copied, np.bincount(pk["iface"][why == OTHER_MEMBER]))
        self.seen = plus(self.seen, np.bincount(pk["iface"]))
        return why == SAME_INTERFACE

    @property
    def dropped(self) -> int:
        return self.same_interface + self.other_interface

    def describe(self) -> str | None:
        if not self.dropped:
            return None
        parts = []
        if self.other_interface:
            parts.append(f"{self.other_interface} copies on interfaces that are not members "
                         "(bond0 under -i any, a VLAN device), counted on their member")
        if self.same_interface:
            parts.append(f"{self.same_interface} repeats on one interface (overlapping "
                         "capture files)")
        return "frames captured twice counted once: " + "; ".join(parts)


class MemberFrames:
    """Of each packet table, the frames seen on a member, each frame once.

    With member captures, what the analysis counts is the frames on the members: a frame
    on another interface is a copy of one on a member (bond0, a VLAN device) or not the
    bond's traffic (lo, another NIC), and is counted apart (:attr:`other`).
    """

    def __init__(self, registry, members=None):
        self.registry, self.members = registry, members  # members None: every interface
        self.duplicates = Duplicates()
        self.other = 0  #: frames on interfaces that are not members

    def keep(self, pk: np.ndarray) -> np.ndarray:
        names = set(self.members.names) if self.members is not None else None
        is_member = np.array([names is None or n in names for n in self.registry.names()]
                             or [False])
        copies = self.duplicates.copies(pk, is_member)
        on_member = is_member[pk["iface"]]
        self.other += int((~on_member).sum())
        keep = on_member & ~copies
        return pk if keep.all() else take_rows(pk, np.flatnonzero(keep))

    def notes(self) -> list[str]:
        out = [self.duplicates.describe()] if self.duplicates.dropped else []
        d = self.duplicates
        hubs = [name for i, name in enumerate(self.registry.names()) if i < len(d.seen)
                and d.seen[i] and i < len(d.copied) and d.copied[i] >= COPIED * d.seen[i]]
        if self.members is None and hubs:
            out.append(f"{', '.join(hubs)}: nearly every frame also seen on another "
                       "interface: a broadcast bond's members, or (tcpdump -i any) the bond "
                       "or a VLAN device on it beside its members: give --links with the "
                       "bond's members")
        if self.other > self.duplicates.other_interface:
            others = sorted(set(self.registry.names()) - set(self.members.names or ()))
            out.append(f"{self.other - self.duplicates.other_interface} frames on interfaces "
                       f"that are not members ({', '.join(others)}) are left out")
        return out
