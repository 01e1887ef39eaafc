"""What the readers share: a builder of members, speeds, and the line bookkeeping."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .model import BondStatus, StatusMember

_SPEED = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgt]?)(?:b(?:it)?(?:/s|ps)?)?", re.I)
_UNIT = {"": 1e6, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12}


def speed_bps(text: str, default_unit: str = "m") -> int | None:
    """``10000 Mbps``, ``10000mbit``, ``25G`` as bit/s; None for ``Unknown`` or nothing."""
    m = _SPEED.match(text.strip())
    if not m or float(m.group(1)) <= 0:
        return None
    unit = m.group(2).lower() or default_unit
    return int(float(m.group(1)) * _UNIT[unit])


@dataclass
class Draft:
    """A member as it is read: fields filled in as their lines come."""

    name: str
    line: int
    up: bool | None = None
    speed_bps: int | None = None
    aggregator: int | None = None
    flags: list[str] = field(default_factory=list)
    active: bool | None = None
    out: str = ""
    buckets: list[tuple[int, int]] = field(default_factory=list)

    def done(self) -> StatusMember:
        return StatusMember(self.name, bool(self.up), self.speed_bps, self.aggregator,
                            tuple(self.flags), self.active, self.out, tuple(self.buckets))


@dataclass
class Reading:
    """What a reader gathers, made a :class:`BondStatus` at the end."""

    path: str
    kind: str
    name: str | None = None
    mode: str | None = None
    policy: str | None = None
    members: list[Draft] = field(default_factory=list)
    active_aggregator: int | None = None
    ignored: list[tuple[int, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    details: dict[str, str] = field(default_factory=dict)

    def member(self, name: str, line: int) -> Draft | None:
        """A new member ``name`` (None, with a warning, if it is listed twice)."""
        if any(d.name == name for d in self.members):
            self.warnings.append(f"line {line}: member {name} listed twice; the second "
                                 "ignored")
            return None
        d = Draft(name, line)
        self.members.append(d)
        return d

    def ignore(self, n: int, text: str) -> None:
        if text.strip():
            self.ignored.append((n, text))

    def status(self) -> BondStatus:
        if not self.members:
            self.warnings.append("no member is listed (cut off before the first one?)")
        return BondStatus(self.path, self.kind, self.name, self.mode, self.policy,
                          tuple(d.done() for d in self.members), self.active_aggregator,
                          tuple(self.ignored), tuple(self.warnings),
                          tuple(self.details.items()))
