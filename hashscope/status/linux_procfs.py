"""Linux ``/proc/net/bonding/bondN`` (bond_procfs.c), drivers 2.6 to 6.x.

Read: the mode, the transmit hash policy, the slaves in order (``Slave Interface:``
blocks) with MII Status, Speed and the 802.3ad Aggregator ID, the active aggregator,
the churn states, the currently active slave. A slave whose MII Status is not ``up``, or
that is outside the active aggregator, is one the bond does not send on.
"""

from __future__ import annotations

import re

from .common import Reading, speed_bps
from .model import BondStatus
from .text import Text

#: ``Bonding Mode:`` texts (bond_mode_name and older spellings) -> ``--mode``.
MODES = [
    ("802.3ad", "802.3ad"),
    ("(xor)", "balance-xor"), ("balance-xor", "balance-xor"),
    ("round-robin", "balance-rr"), ("balance-rr", "balance-rr"),
    ("active-backup", "active-backup"),
    ("broadcast", "broadcast"),
    ("transmit load balancing", "balance-tlb"), ("balance-tlb", "balance-tlb"),
    ("adaptive load balancing", "balance-alb"), ("balance-alb", "balance-alb"),
]
#: xmit_hash_policy names, their numbers, and the name 5 had before it was merged.
POLICIES = {"layer2": 0, "layer3+4": 1, "layer2+3": 2, "encap2+3": 3, "encap3+4": 4,
            "vlan+srcmac": 5}
POLICY_ALIASES = {"vlansrc": "vlan+srcmac"}
_BY_NUMBER = {v: k for k, v in POLICIES.items()}

#: Lines of the format that are read but not needed (lower case, before the colon).
KNOWN = {
    "mii polling interval (ms)", "up delay (ms)", "down delay (ms)",
    "peer notification delay (ms)", "arp polling interval (ms)", "arp missed max",
    "arp ip target/s (n.n.n.n form)", "ns ipv6 target/s (xx::xx form)",
    "arp validate", "arp_validate", "primary slave", "lacp active", "lacp rate",
    "min links", "aggregator selection policy (ad_select)", "system priority",
    "system mac address", "number of ports", "actor key", "partner key",
    "partner mac address", "duplex", "link failure count", "permanent hw addr",
    "slave queue id", "actor churned count", "partner churned count",
    "details actor lacp pdu", "details partner lacp pdu", "port key", "oper key",
    "port priority", "port number", "port state", "use rxhash", "fail_over_mac",
    "802.3ad info", "active aggregator info", "lacp_rate", "ad_select",
    "port lacp state", "actor partner state",
}
_KEY = re.compile(r"^\s*([^:]{1,60}?)\s*:\s*(.*)$")
_DRIVER = re.compile(r"^\s*(?:bonding: )?Ethernet Channel Bonding Driver:\s*(.*)$", re.I)


def mode_of(text: str) -> str | None:
    low = text.lower()
    return next((mode for key, mode in MODES if key in low), None)


def policy_of(text: str, r: Reading, n: int) -> str | None:
    """``layer3+4 (1)`` -> ``layer3+4``."""
    m = re.match(r"\s*([\w+.-]+)\s*(?:\((\d+)\))?", text)
    if not m:
        return None
    name, number = m.group(1).lower(), m.group(2)
    name = POLICY_ALIASES.get(name, name)
    if name in POLICIES:
        if number is not None and int(number) != POLICIES[name]:
            r.warnings.append(f"line {n}: Transmit Hash Policy {name} numbered {number} "
                              f"(it is {POLICIES[name]}); {name} taken")
        return name
    if number is not None and int(number) in _BY_NUMBER:
        r.warnings.append(f"line {n}: Transmit Hash Policy {text.strip()!r}: taken as "
                          f"{_BY_NUMBER[int(number)]} ({number})")
        return _BY_NUMBER[int(number)]
    r.warnings.append(f"line {n}: Transmit Hash Policy {text.strip()[:60]!r}: not one hashscope "
                      "knows; give --policy")
    return None


def read(text: Text, path: str) -> BondStatus:
    r = Reading(path, "linux")
    slave = None
    bonds = 0
    in_active_agg = False
    for n, line in text:
        s = line.strip()
        if not s:
            continue
        d = _DRIVER.match(s)
        if d:
            bonds += 1
            if bonds > 1:
                rest = [t for m, t in text if m >= n and t.strip()]
                r.warnings.append(f"line {n}: a second bond begins here; only the first is "
                                  f"read ({len(rest)} lines after it ignored)")
                r.ignored += [(m, t) for m, t in text if m >= n and t.strip()]
                break
            r.details["driver"] = d.group(1).strip()
            continue
        if re.match(r"bond \S+ has no active aggregator", s, re.I):
            r.details["active aggregator"] = "none"
            r.warnings.append(f"line {n}: {s}")
            continue
        m = _KEY.match(s)
        if not m:
            if s.lower() in KNOWN:
                continue
            r.ignore(n, line)
            continue
        key, value = m.group(1).lower(), m.group(2).strip()
        if key == "bonding mode":
            r.mode = mode_of(value)
            if r.mode is None:
                r.warnings.append(f"line {n}: Bonding Mode {value[:60]!r}: not a mode hashscope "
                                  "knows")
            r.details["bonding mode"] = value
        elif key == "transmit hash policy":
            r.policy = policy_of(value, r, n)
        elif key == "currently active slave":
            r.details["active"] = value
        elif key == "active aggregator info":
            in_active_agg = True
        elif key == "slave interface":
            in_active_agg = False
            slave = r.member(value, n) if value else None
            if not value:
                r.ignore(n, line)
        elif key == "aggregator id" and slave is None:
            if in_active_agg and value.isdigit():
                r.active_aggregator = int(value)
            else:
                r.ignore(n, line)
        elif slave is None:
            if key == "mii status":
                r.details["bond mii status"] = value
            elif key not in KNOWN:
                r.ignore(n, line)
        elif key == "mii status":
            slave.up = value.lower() == "up"
            if value.lower() not in ("up", "down"):
                slave.flags.append(f"mii {value.lower()}")
        elif key == "speed":
            slave.speed_bps = speed_bps(value)
        elif key == "aggregator id":
            if value.isdigit():
                slave.aggregator = int(value)
            else:
                slave.flags.append(f"aggregator {value}")
        elif key in ("actor churn state", "partner churn state"):
            who = key.split()[0]
            slave.flags.append(f"{who} churn {value.lower()}")
        elif key not in KNOWN:
            r.ignore(n, line)
    if r.mode is None:
        r.warnings.append("no Bonding Mode line: the mode is not known")
    _finish(r)
    return r.status()


def _finish(r: Reading) -> None:
    """Which slaves the bond does not send on; the active slave."""
    active = r.details.get("active")
    if active and active.lower() != "none":
        if not any(d.name == active for d in r.members):
            r.warnings.append(f"Currently Active Slave {active} is not among the slaves")
    for d in r.members:
        if d.up is None:
            r.warnings.append(f"slave {d.name} (line {d.line}) has no MII Status line (cut "
                              "off?): taken as up")
            d.up = True
        if active and active.lower() != "none" and r.mode in ("active-backup", "balance-tlb",
                                                             "balance-alb"):
            d.active = d.name == active
        if not d.up:
            d.out = "MII Status down"
    if r.mode != "802.3ad":
        return
    if r.active_aggregator is None:
        if r.members and r.details.get("active aggregator") != "none":
            r.warnings.append("802.3ad without an Active Aggregator Info Aggregator ID: "
                              "which slaves are in it is not known")
        return
    for d in r.members:
        if d.aggregator is None:
            r.warnings.append(f"slave {d.name} has no Aggregator ID (cut off?)")
            continue
        d.active = d.aggregator == r.active_aggregator
        if not d.active and not d.out:
            d.out = (f"aggregator {d.aggregator}, not the active aggregator "
                     f"{r.active_aggregator}")
    if not any(d.active for d in r.members):
        r.warnings.append(f"no slave is in the active aggregator {r.active_aggregator}")
