"""FreeBSD ``ifconfig laggN``: ``laggproto PROTO [lagghash l2,l3,l4]`` and the
``laggport: NAME flags=HEX<FLAGS>`` lines, in port order (7.x to 15.x).

Outputs before lagghash (FreeBSD 7 to 9) say only ``laggproto lacp``: lagg hashed
l2,l3,l4 then, and that is taken. A port is sent on when it is ACTIVE (lacp: and
DISTRIBUTING).
"""

from __future__ import annotations

import re

from .common import Reading
from .model import BondStatus
from .text import Text

#: if_lagg.h LAGG_PORT_* bits, for a flags=HEX whose <NAMES> went missing (HTML).
PORT_FLAGS = {0x01: "MASTER", 0x02: "STACK", 0x04: "ACTIVE", 0x08: "COLLECTING",
              0x10: "DISTRIBUTING"}
PROTOS = {"lacp": "lacp", "loadbalance": "loadbalance", "roundrobin": "roundrobin",
          "failover": "failover", "broadcast": "broadcast", "fec": "loadbalance",
          "etherchannel": "loadbalance"}
HASH_LAYERS = ("l2", "l3", "l4")

_HEADER = re.compile(r"^(\w[\w.]*): flags=[0-9a-f]+<?[^>]*>? .*mtu", re.I)
_PROTO = re.compile(r"^laggproto\s+(\S+)(?:\s+lagghash\s+(\S+))?", re.I)
_PORT = re.compile(r"^laggport:\s*(\S+)\s+flags=([0-9a-fA-F]+)(?:<([^>]*)>?)?(.*)$")
KNOWN = ("options=", "ether ", "hwaddr ", "inet ", "inet6 ", "nd6 ", "media:", "status:",
         "groups:", "laggoptions:", "flowid_shift:", "lagg options:", "lag id:",
         "lagg statistics:", "active ports:", "flapping:", "flags=", "use_flowid:",
         "lacp_strict:", "lacp_fast_timeout:", "rr_limit:", "[(", "state=", "carp:")


def read(text: Text, path: str) -> BondStatus:
    r = Reading(path, "freebsd")
    layers = None
    header = None
    for n, line in text:
        s = line.strip()
        if not s:
            continue
        h = _HEADER.match(s)
        if h:
            if r.members:
                r.warnings.append(f"line {n}: another interface ({h.group(1)}) begins here; "
                                  "only the first lagg is read")
                r.ignored += [(m, t) for m, t in text if m >= n and t.strip()]
                break
            header = h.group(1)
            continue
        p = _PROTO.match(s)
        if p:
            proto = p.group(1).lower()
            r.name = header
            r.details["laggproto"] = proto
            r.mode = PROTOS.get(proto)
            if r.mode is None:
                r.warnings.append(f"line {n}: laggproto {proto}: not one hashscope models")
            elif r.mode != proto:
                r.warnings.append(f"line {n}: laggproto {proto} is loadbalance")
            if p.group(2):
                layers = tuple(x for x in HASH_LAYERS if x in p.group(2).lower().split(","))
                if not layers:
                    r.warnings.append(f"line {n}: lagghash {p.group(2)}: no l2, l3 or l4")
                    layers = None
                r.details["lagghash"] = p.group(2)
            continue
        q = _PORT.match(s)
        if q:
            d = r.member(q.group(1), n)
            if d is None:
                continue
            bits = int(q.group(2), 16)
            names = q.group(3)
            if names is None:
                names = ",".join(v for k, v in PORT_FLAGS.items() if bits & k)
                r.warnings.append(f"line {n}: flags={q.group(2)} without their names "
                                  f"(HTML?): read as <{names}>")
            d.flags = [f.strip().upper() for f in names.split(",") if f.strip()]
            d.up = "ACTIVE" in d.flags
            if q.group(4).strip() and not q.group(4).strip().startswith("state="):
                r.ignore(n, line)
            continue
        if s.lower().startswith(KNOWN) or re.match(r"^\w[\w-]*: ", s) and not r.members:
            if not s.lower().startswith(KNOWN):
                r.ignore(n, line)
            continue
        r.ignore(n, line)
    if "laggproto" not in r.details:
        r.warnings.append("no laggproto line: the protocol is not known")
    if layers is None and r.mode in ("lacp", "loadbalance") and "lagghash" not in r.details:
        r.warnings.append("no lagghash (FreeBSD before 10): lagg hashed l2,l3,l4 then")
    if r.mode is not None:
        r.policy = "lagg:" + ",".join(layers or HASH_LAYERS)
    _finish(r)
    return r.status()


def _finish(r: Reading) -> None:
    for d in r.members:
        if r.mode == "lacp":
            if "ACTIVE" not in d.flags:
                d.out = "not ACTIVE (not in the LACP aggregator)"
            elif "DISTRIBUTING" not in d.flags:
                d.out = "ACTIVE but not DISTRIBUTING"
            d.active = "ACTIVE" in d.flags
        elif not d.up:
            d.out = "not ACTIVE (no link)"
    if r.mode == "failover":
        active = next((d for d in r.members if d.up and "MASTER" in d.flags), None)
        active = active or next((d for d in r.members if d.up), None)
        for d in r.members:
            d.active = d is active
        if active:
            r.details["active"] = active.name
    if r.members and not any(d.up for d in r.members):
        r.warnings.append("no port is ACTIVE")
