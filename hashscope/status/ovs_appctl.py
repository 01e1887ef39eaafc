"""Open vSwitch ``ovs-appctl bond/show`` and ``ovs-appctl lacp/show``, OVS 1.x to 3.x
(``slave`` until 2.14, ``member`` since).

bond/show: bond_mode (-> policy ``ovs:MODE``), the members enabled or disabled, the active
member, the hash buckets with their loads. lacp/show: the LACP status and, per member,
attached or detached, current, expired or defaulted.
"""

from __future__ import annotations

import re

from .common import Reading
from .model import BondStatus
from .text import Text

MODES = ("balance-slb", "balance-tcp", "active-backup")
_HEADER = re.compile(r"^-{2,}\s*(\S+)\s*-{2,}$")
_BOND_MEMBER = re.compile(r"^(?:slave|member)\s+(.+?):\s*(enabled|disabled)\s*$", re.I)
_LACP_MEMBER = re.compile(r"^(?:slave|member):\s*(.+?):\s*(.*)$", re.I)
_HASH = re.compile(r"^hash\s+(\d+):\s*(\d+)\s*kB\s+load", re.I)
_ACTIVE_MAC = re.compile(r"^active (?:slave|member) mac:\s*\S+\s*\((.+)\)\s*$", re.I)
BOND_KNOWN = ("bond-hash-basis:", "updelay:", "downdelay:", "next rebalance:",
              "lacp_status:", "lacp_fallback_ab:", "active-backup primary:",
              "bond may use recirculation:", "lb_output action:", "may_enable:",
              "active slave mac:", "active member mac:", "bond-detect-mode:",
              "fake_iface:", "bond_type:", "lacp-fallback-ab:", "primary:",
              "upcall", "all-members-active:", "all-slaves-active:")
LACP_KNOWN = ("status:", "sys_id:", "sys_priority:", "aggregation key:", "lacp_time:",
              "port_id:", "port_priority:", "may_enable:", "actor ", "partner ")


def read(text: Text, path: str) -> BondStatus:
    lines = [(n, t.strip()) for n, t in text]
    lacp = any(_LACP_MEMBER.match(s) for _, s in lines) and not any(
        s.lower().startswith("bond_mode:") for _, s in lines)
    return _lacp(lines, path) if lacp else _bond(lines, path)


def _header(r: Reading, n: int, s: str, lines) -> bool:
    """A ``---- NAME ----`` line: the first names the bond; another ends the reading."""
    h = _HEADER.match(s)
    if not h:
        return False
    if r.name is None:
        r.name = h.group(1)
        return True
    r.warnings.append(f"line {n}: another bond ({h.group(1)}) begins here; only "
                      f"{r.name} is read")
    r.ignored += [(m, t) for m, t in lines if m >= n and t]
    raise StopIteration


def _bond(lines, path: str) -> BondStatus:
    r = Reading(path, "ovs-bond")
    member = None
    try:
        for n, s in lines:
            if not s or _header(r, n, s, lines):
                continue
            low = s.lower()
            if low.startswith("bond_mode:"):
                mode = s.split(":", 1)[1].strip()
                r.mode = mode
                if mode in MODES:
                    r.policy = f"ovs:{mode}"
                else:
                    r.warnings.append(f"line {n}: bond_mode {mode}: not one hashscope models")
                continue
            m = _BOND_MEMBER.match(s)
            if m:
                member = r.member(m.group(1), n)
                if member:
                    member.up = m.group(2).lower() == "enabled"
                    member.flags.append(m.group(2).lower())
                continue
            a = _ACTIVE_MAC.match(s)
            if a:
                r.details["active"] = a.group(1)
                continue
            if low in ("active slave", "active member"):
                if member is not None:
                    member.active = True
                    r.details.setdefault("active", member.name)
                continue
            h = _HASH.match(s)
            if h and member is not None:
                member.buckets.append((int(h.group(1)), int(h.group(2))))
                continue
            for key in ("bond-hash-basis", "lacp_status", "updelay", "downdelay"):
                if low.startswith(key + ":"):
                    r.details[key] = s.split(":", 1)[1].strip()
            if low.startswith(BOND_KNOWN):
                continue
            r.ignore(n, s)
    except StopIteration:
        pass
    if r.mode is None:
        r.warnings.append("no bond_mode line: the policy is not known")
    for d in r.members:
        if not d.up:
            d.out = "disabled"
        if r.mode == "active-backup" or "active" in r.details:
            d.active = d.name == r.details.get("active")
    return r.status()


def _lacp(lines, path: str) -> BondStatus:
    r = Reading(path, "ovs-lacp")
    member = None
    try:
        for n, s in lines:
            if not s or _header(r, n, s, lines):
                continue
            low = s.lower()
            m = _LACP_MEMBER.match(s)
            if m:
                member = r.member(m.group(1), n)
                if member:
                    member.flags = m.group(2).lower().split()
                    member.up = "attached" in member.flags
                continue
            if low.startswith("status:") and member is None:
                r.details["lacp status"] = s.split(":", 1)[1].strip()
                continue
            if low.startswith("actor state:") and member is not None:
                member.flags += [f"actor {w}" for w in s.split(":", 1)[1].split()]
                continue
            if low.startswith(LACP_KNOWN):
                continue
            r.ignore(n, s)
    except StopIteration:
        pass
    r.warnings.append("lacp/show does not say the bond_mode (bond/show does): no policy read")
    for d in r.members:
        if not d.up:
            d.out = "detached (not in the LACP aggregation)"
    return r.status()
