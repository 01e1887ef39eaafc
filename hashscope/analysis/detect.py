"""Which frames the bonded host sent, told from the member captures themselves.

Without direction flags in the captures and without ``--local``, the bond's own MAC can
often be read off the captures: every member of an 802.3ad or balance-xor bond (and of
most others) transmits with the bond's MAC, so it is the one source MAC seen on every
member; what the switch sends comes from the hosts behind it. Only when exactly one
source MAC is on every member that carried frames is it taken; otherwise nothing is
detected and the output says so.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hashscope.capture.interfaces import files, settings
from hashscope.capture.reader import CaptureReader
from hashscope.columns import MAC_SRC
from hashscope.decode.tables import packet_tables
from hashscope.errors import HashscopeError
from hashscope.members import Members

from .direction import LocalHost

PEEK_BATCHES = 4  #: record batches read from each file to tell


def _mac_text(mac: int) -> str:
    return ":".join(f"{(mac >> (8 * k)) & 0xFF:02x}" for k in range(5, -1, -1))


def detect_local(paths: Sequence, members: Members | None) -> tuple[LocalHost | None, str]:
    """(the bonded host as its MAC, how it was told) from the first frames of each
    capture; (None, why not) when the captures do not make it clear."""
    seen: dict[str, set[int]] = {}
    extra = settings(paths)
    for path in files(paths):
        if str(path) == "-":
            continue
        reader = CaptureReader([path, *extra])
        try:
            for k, pk in enumerate(packet_tables(reader)):
                names = np.array(reader.registry.names(), dtype=object)
                has = (pk["mac_ok"] & MAC_SRC) > 0
                for name in set(names[pk["iface"][has]].tolist()):
                    on = has & (names[pk["iface"]] == name)
                    seen.setdefault(name, set()).update(np.unique(pk["src_mac"][on]).tolist())
                if k + 1 >= PEEK_BATCHES:
                    break
        except HashscopeError:
            continue
    wanted = set(members.names) if members is not None else set(seen)
    carried = [macs for name, macs in seen.items() if name in wanted and macs]
    if len(carried) < 2:
        return None, "not detected: fewer than two members carried frames"
    common = set.intersection(*carried)
    if len(common) != 1:
        shown = ", ".join(_mac_text(m) for m in sorted(common)[:4])
        return None, ("not detected: " + (f"several source MACs on every member ({shown})"
                                          if common else "no source MAC on every member"))
    mac = common.pop()
    text = _mac_text(mac)
    return (LocalHost((mac,), (), (text,)),
            f"detected: {text} is the one source MAC on every member (the bond's MAC): its "
            "frames are the ones sent")
