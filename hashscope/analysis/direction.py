"""Which frames of a capture the bonded host transmitted (``--local MAC|IP``).

A capture usually holds both directions. Frames the bonded host sends are hashed by its
bond; frames it receives were hashed by the switch (or the peer's bond). ``--local``
names the bonded host by MAC and/or IP address (repeatable); a frame is "sent" if its
source MAC or source IP is one of them. Where the capture itself says a frame's
direction (pcapng epb_flags, a Linux cooked capture's packet type), that comes first.
Without either every frame is taken as sent, and the output says so.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hashscope.columns import DIRECTION_SENT, DIRECTION_UNKNOWN, MAC_SRC
from hashscope.errors import SetupError

_MAC = re.compile(r"^[0-9a-fA-F]{2}([:-]?)[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2}){4}$")

DIRECTION_FLAGS = ("direction: as the captures say it (pcapng epb_flags, the packet type of a "
                   "Linux cooked capture), for the frames that have one")
ALL_SENT = ("assumed every frame in the capture was sent by the bonded host "
            "(give --local MAC|IP to hash only the frames it sends)")


@dataclass(frozen=True)
class LocalHost:
    """The bonded host's addresses: MACs as 48-bit ints, IPs as (version, hi, lo)."""

    macs: tuple[int, ...] = ()
    ips: tuple[tuple[int, int, int], ...] = ()
    text: tuple[str, ...] = ()

    def describe(self) -> str:
        return "frames sent from " + ", ".join(self.text)


def parse_local(values: Sequence[str] | None) -> LocalHost | None:
    """``--local`` values (MAC or IPv4/IPv6 address, comma-separated or repeated)."""
    items = [v.strip() for value in values or () for v in value.split(",") if v.strip()]
    if not items:
        return None
    macs, ips = [], []
    for item in items:
        if _MAC.match(item):
            macs.append(int(re.sub("[:-]", "", item), 16))
            continue
        try:
            addr = ipaddress.ip_address(item)
        except ValueError:
            raise SetupError("local", f"{{option}} {item!r}: not a MAC or IP address") from None
        value = int(addr)
        ips.append((addr.version, value >> 64, value & (2**64 - 1)))
    return LocalHost(tuple(macs), tuple(ips), tuple(items))


def sent_mask(packets: np.ndarray, local: LocalHost | None) -> np.ndarray:
    """True for the frames the bonded host transmitted: as the capture says where it does
    (the ``direction`` column: pcapng epb_flags, a Linux cooked packet type), else as
    ``local`` says, else every frame."""
    told = packets["direction"] if "direction" in (packets.dtype.names or ()) else None
    sent = _local_sent(packets, local)
    if told is not None:
        sent = np.where(told == DIRECTION_UNKNOWN, sent, told == DIRECTION_SENT)
    return sent


def _local_sent(packets: np.ndarray, local: LocalHost | None) -> np.ndarray:
    if local is None:
        return np.ones(len(packets), dtype=bool)
    sent = np.zeros(len(packets), dtype=bool)
    has_src = (packets["mac_ok"] & MAC_SRC) > 0
    for mac in local.macs:
        sent |= has_src & (packets["src_mac"] == np.uint64(mac))
    for ver, hi, lo in local.ips:
        sent |= ((packets["ip_ver"] == ver) & (packets["src_hi"] == np.uint64(hi))
                 & (packets["src_lo"] == np.uint64(lo)))
    return sent
