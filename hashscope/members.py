"""The member links of a bond: names in enslave/port order, and which of them are up.

``--links 4`` gives members named 0..3; ``--links eth0,eth1,eth2`` names them, in the
order the bond lists them (enslave order: the order of the ``Slave Interface:`` blocks in
/proc/net/bonding/bondX, of the ``laggport:`` lines of ``ifconfig lagg0``). ``--down``
marks members that have no link; how a down member changes the choice is the bond's own
rule (the usable-slave array, a walk to the next usable member, ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .errors import SetupError

MAX_LINKS = 64

#: Link codes in an assignment besides member indices.
LINK_UNKNOWN = -1  #: sent, but the member cannot be predicted (or no member is up)
LINK_ALL = -2  #: sent on every member that is up (broadcast)
LINK_NOT_SENT = -3  #: not transmitted by the bonded host (see --local)


@dataclass(frozen=True)
class Members:
    """The member links, in the bond's order."""

    names: tuple[str, ...]
    down: frozenset[int] = frozenset()

    @property
    def count(self) -> int:
        return len(self.names)

    @property
    def up(self) -> np.ndarray:
        """Bool per member: has link."""
        return np.array([i not in self.down for i in range(self.count)], dtype=bool)

    @property
    def usable(self) -> np.ndarray:
        """Indices of the members that are up, in order (Linux's usable-slave array)."""
        return np.flatnonzero(self.up)

    def label(self, index: int) -> str:
        return self.names[index]


def parse_links(links: str | int | None, down: Sequence[str] = (), default: int = 2
                ) -> Members:
    """Members from ``--links`` (a count or comma-separated names) and ``--down``.

    ``down`` entries are member names or 0-based indices.
    """
    if links is None or str(links).strip() == "":
        names = tuple(str(i) for i in range(default))
    elif str(links).strip().isdigit():
        n = int(str(links).strip())
        if not 1 <= n <= MAX_LINKS:
            raise SetupError("links", f"{{option}} {links}: a bond has 1 to {MAX_LINKS} members")
        names = tuple(str(i) for i in range(n))
    else:
        names = tuple(part.strip() for part in str(links).split(","))
        if any(not name for name in names):
            raise SetupError("links", f"{{option}} {links!r}: an empty member name")
        if len(set(names)) != len(names):
            raise SetupError("links", f"{{option}} {links!r}: a member is named twice")
        if len(names) > MAX_LINKS:
            raise SetupError("links", f"{{option}}: a bond has at most {MAX_LINKS} members")
    index = {name: i for i, name in enumerate(names)}
    marked = set()
    for item in down:
        for name in str(item).split(","):
            name = name.strip()
            if name in index:
                marked.add(index[name])
            elif name.isdigit() and int(name) < len(names):
                marked.add(int(name))
            else:
                raise SetupError("down", f"{{option}} {name!r}: not a member of "
                                         f"{','.join(names)}")
    return Members(names, frozenset(marked))


def parse_link_events(texts: Sequence[str], members: Members
                      ) -> tuple[tuple[int, int, bool], ...]:
    """``NAME:down@TIME`` / ``NAME:up@TIME`` (repeatable) as (ts_ns, member index, up),
    in time order. TIME: Unix seconds (``1796128935.809``) or ISO 8601 in UTC
    (``2026-12-01T12:42:15.809Z``), the clock the captures are stamped with."""
    index = {name: i for i, name in enumerate(members.names)}
    out = []
    for text in texts:
        name, _, rest = str(text).partition(":")
        state, _, when = rest.partition("@")
        if name not in index or state not in ("down", "up") or not when:
            raise SetupError("link_event", f"{{option}} {text!r}: MEMBER:down@TIME or "
                                           f"MEMBER:up@TIME with a member of "
                                           f"{','.join(members.names)}")
        out.append((_time_ns(when, text), index[name], state == "up"))
    return tuple(sorted(out))


def _time_ns(when: str, text: str) -> int:
    try:
        return round(float(when) * 1e9)
    except ValueError:
        pass
    try:
        t = np.datetime64(when.rstrip("Zz"), "ns")
    except ValueError:
        raise SetupError("link_event", f"{{option}} {text!r}: the time is neither Unix "
                                       "seconds nor ISO 8601") from None
    return int(t.astype(np.int64))
