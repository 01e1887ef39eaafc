"""libteam ``teamdctl TEAM state`` (the text view), and its JSON (``state dump``,
``config dump``).

Read: the runner (-> ``--mode``: lacp 802.3ad, loadbalance balance-xor, activebackup
active-backup, roundrobin balance-rr, broadcast), the ports in order with their link,
speed, LACP aggregator and selection, the active port, and ``tx_hash`` where the config
shows it. teamd hashes with its own BPF function over tx_hash: no hashscope policy is it.
"""

from __future__ import annotations

import json
import re

from .common import Reading, speed_bps
from .model import BondStatus
from .text import Text

RUNNERS = {"lacp": "802.3ad", "loadbalance": "balance-xor", "activebackup": "active-backup",
           "roundrobin": "balance-rr", "broadcast": "broadcast"}
_KEY = re.compile(r"^([^:]+):\s*(.*)$")


def _runner(r: Reading, name: str, n: int | None = None) -> None:
    r.details["runner"] = name
    r.mode = RUNNERS.get(name.lower())
    if r.mode is None:
        where = f"line {n}: " if n else ""
        r.warnings.append(f"{where}runner {name}: no bonding mode is it")


def read(text: Text, path: str) -> BondStatus:
    body = "\n".join(t for _, t in text).strip()
    if body.startswith("{"):
        return _json(body, text, path)
    r = Reading(path, "teamd")
    section = None
    port = None
    port_indent = None
    sub = None
    for n, line in text:
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        s = line.strip()
        m = _KEY.match(s)
        if indent == 0:
            if s.rstrip(":") in ("setup", "ports", "runner") and s.endswith(":"):
                section, port, port_indent, sub = s.rstrip(":"), None, None, None
            else:
                r.ignore(n, line)
            continue
        if section == "setup":
            if m and m.group(1) == "runner":
                _runner(r, m.group(2).strip(), n)
            elif m and m.group(1) == "kernel team mode":
                r.details["kernel team mode"] = m.group(2).strip()
            elif not m:
                r.ignore(n, line)
        elif section == "ports":
            if port_indent is None or indent <= port_indent:
                if m:
                    r.ignore(n, line)
                    continue
                port_indent = indent
                port = r.member(s, n)
                sub = None
                continue
            if port is None:
                continue
            if m and not m.group(2):
                sub = m.group(1)
                continue
            if not m:
                r.ignore(n, line)
                continue
            key, value = m.group(1), m.group(2).strip()
            if key == "link summary":
                port.up = value == "up"
            elif key == "ethtool link":
                parts = value.split("/")
                port.speed_bps = speed_bps(parts[0])
                if port.up is None and parts[-1] in ("up", "down"):
                    port.up = parts[-1] == "up"
            elif key == "aggregator ID":
                agg, _, sel = value.partition(",")
                if agg.strip().isdigit():
                    port.aggregator = int(agg)
                if sel.strip():
                    port.flags.append(sel.strip().lower())
            elif key == "selected" and sub == "runner":
                port.flags.append("selected" if value == "yes" else "not selected")
            elif key == "state" and sub == "runner":
                port.flags.append(value)
        elif section == "runner":
            if m and m.group(1) == "active port":
                r.details["active"] = m.group(2).strip()
            elif not m:
                r.ignore(n, line)
        else:
            r.ignore(n, line)
    if "runner" not in r.details:
        r.warnings.append("no setup runner line: the mode is not known")
    _finish(r)
    return r.status()


def _json(body: str, text: Text, path: str) -> BondStatus:
    from hashscope.errors import HashscopeError

    try:
        doc = json.loads(body)
    except json.JSONDecodeError as exc:
        raise HashscopeError(f"{path}: teamd JSON that does not parse (cut off?): {exc.msg} "
                             f"at line {exc.lineno}") from None
    if not isinstance(doc, dict):
        raise HashscopeError(f"{path}: JSON, but not a teamd state or config")
    r = Reading(path, "teamd")
    setup, runner = doc.get("setup") or {}, doc.get("runner") or {}
    name = setup.get("runner_name") or runner.get("name")
    if name:
        _runner(r, str(name))
    else:
        r.warnings.append("no runner name: the mode is not known")
    if setup.get("kernel_team_mode_name"):
        r.details["kernel team mode"] = str(setup["kernel_team_mode_name"])
    r.name = (doc.get("team_device") or {}).get("ifinfo", {}).get("ifname") or doc.get("device")
    if runner.get("tx_hash"):
        r.details["tx_hash"] = ",".join(map(str, runner["tx_hash"]))
    if runner.get("active_port"):
        r.details["active"] = str(runner["active_port"])
    config_only = "setup" not in doc
    for pname, port in (doc.get("ports") or {}).items():
        d = r.member(str(pname), 0)
        if d is None or not isinstance(port, dict):
            continue
        link = port.get("link") or {}
        watches = port.get("link_watches") or {}
        if "up" in watches:
            d.up = bool(watches["up"])
        elif "up" in link:
            d.up = bool(link["up"])
        if link.get("speed"):
            d.speed_bps = int(link["speed"]) * 1_000_000
        pr = port.get("runner") or {}
        agg = pr.get("aggregator") or {}
        if isinstance(agg, dict) and agg.get("id") is not None:
            d.aggregator = int(agg["id"])
        if "selected" in pr:
            d.flags.append("selected" if pr["selected"] else "not selected")
        if pr.get("state"):
            d.flags.append(str(pr["state"]))
    if config_only and r.members:
        r.warnings.append("a teamd config, not its state: the ports' links are not shown "
                          "(taken as up)")
    _finish(r, config_only)
    return r.status()


def _finish(r: Reading, config_only: bool = False) -> None:
    if r.details.get("tx_hash") or r.mode in ("802.3ad", "balance-xor"):
        r.warnings.append("teamd hashes with its own BPF function over tx_hash "
                          f"({r.details.get('tx_hash', 'eth,ipv4,ipv6 by default')}): no "
                          "hashscope policy reproduces it (give --policy)")
    active = r.details.get("active")
    for d in r.members:
        if d.up is None:
            if not config_only:
                r.warnings.append(f"port {d.name} has no link state (cut off?): taken as up")
            d.up = True
        if active:
            d.active = d.name == active
        if not d.up:
            d.out = "link down"
        elif r.mode == "802.3ad" and "not selected" in d.flags:
            d.out = "not selected by LACP"
