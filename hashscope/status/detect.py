"""Which kind of status a text is, from the lines only that kind has."""

from __future__ import annotations

import re

from .text import Text

#: kind -> patterns of its lines; the kind with most matching lines wins.
MARKS = {
    "linux": [r"^\s*(bonding: )?Ethernet Channel Bonding Driver", r"^\s*Bonding Mode:",
              r"^\s*Slave Interface:", r"^\s*Transmit Hash Policy:",
              r"^\s*Currently Active Slave:", r"^\s*802\.3ad info"],
    "freebsd": [r"^\s*laggproto\s", r"^\s*laggport:\s*\S+\s+flags="],
    "ovs": [r"^\s*bond_mode:", r"^\s*(slave|member)\s+\S+:\s*(enabled|disabled)",
            r"^\s*(slave|member):\s*\S+:\s*\w", r"^\s*lacp_status:", r"^\s*sys_id:",
            r"^\s*bond-hash-basis:", r"^\s*hash\s+\d+:\s*\d+\s*kB\s+load"],
    "teamd": [r"^\s*kernel team mode:", r"^setup:\s*$", r"^\s*link summary:",
              r'"runner_name"\s*:', r'"runner"\s*:\s*\{', r'"link_watch"\s*:',
              r"^\s*runner:\s*(lacp|loadbalance|activebackup|roundrobin|broadcast|random)"],
}
_COMPILED = {k: [re.compile(p, re.I) for p in v] for k, v in MARKS.items()}


def detect(text: Text) -> str | None:
    """``linux``, ``freebsd``, ``ovs`` or ``teamd``; None when no line is one of theirs."""
    score = {k: 0 for k in MARKS}
    for _, line in text:
        for kind, pats in _COMPILED.items():
            if any(p.search(line) for p in pats):
                score[kind] += 1
    best = max(score, key=score.get)
    return best if score[best] else None
