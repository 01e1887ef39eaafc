"""What a bond says about itself: /proc/net/bonding, ifconfig lagg, ovs-appctl bond/show
and lacp/show, teamdctl state.

>>> st = read_status("proc_net_bonding_bond0.txt")          # doctest: +SKIP
>>> st.kind, st.mode, st.policy, st.names, st.down          # doctest: +SKIP
('linux', '802.3ad', 'layer3+4', ('ens1f0', 'ens1f1', 'ens1f2', 'ens1f3'), ())
"""

from __future__ import annotations

from pathlib import Path

from hashscope.errors import HashscopeError

from . import freebsd_ifconfig, linux_procfs, ovs_appctl, teamd
from .detect import detect
from .model import BondStatus, StatusMember
from .text import decode, normalise, read_bytes

__all__ = ["BondStatus", "StatusMember", "parse_status", "read_status"]

READERS = {"linux": linux_procfs.read, "freebsd": freebsd_ifconfig.read,
           "ovs": ovs_appctl.read, "teamd": teamd.read}


def read_status(path: str | Path) -> BondStatus:
    """The bond status in the file at ``path`` (its first 1 MiB); HashscopeError, one
    line naming the file, when it cannot be read as one."""
    data, warnings = read_bytes(path)
    text, more = decode(data, str(path))
    return parse_status(text, str(path), warnings + more)


def parse_status(text: str, path: str = "<text>", warnings: list[str] = ()) -> BondStatus:
    """The bond status in ``text`` (see :func:`read_status`)."""
    if not text.strip():
        raise HashscopeError(f"{path}: empty, not a bond status text")
    lines = normalise(text)
    kind = detect(lines)
    if kind is None:
        raise HashscopeError(f"{path}: not a bond status: no line of /proc/net/bonding, "
                             "ifconfig lagg, ovs-appctl bond/show or lacp/show, or "
                             "teamdctl state")
    st = READERS[kind](lines, path)
    if st.mode is None and st.policy is None and not st.members:
        raise HashscopeError(f"{path}: nothing of a bond status could be read (a {kind} "
                             "text without its mode, policy or members)")
    from dataclasses import replace

    return replace(st, warnings=tuple(warnings) + tuple(lines.warnings) + st.warnings)
