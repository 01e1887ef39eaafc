"""Load-imbalance measures over the members of a bond, and what they cost in throughput.

All take the load per member (bytes, or packets) of the members that are up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Imbalance:
    """How unevenly a load is spread over n members."""

    max_mean: float  #: busiest member / mean member (1 = perfect, n = all on one)
    cv: float  #: coefficient of variation (population standard deviation / mean)
    jain: float  #: Jain's fairness index, 1/n (all on one) .. 1 (even)
    busiest: int  #: index (among the given loads) of the busiest member
    busiest_share: float  #: its share of the total

    def as_dict(self) -> dict:
        return {"max_mean": self.max_mean, "cv": self.cv, "jain": self.jain,
                "busiest_share": self.busiest_share}


def imbalance(load: np.ndarray) -> Imbalance:
    """Imbalance of per-member loads; an empty load counts as perfectly even."""
    x = np.asarray(load, dtype=np.float64)
    total = x.sum()
    if len(x) == 0 or total <= 0:
        return Imbalance(1.0, 0.0, 1.0, 0, 0.0)
    mean = total / len(x)
    busiest = int(np.argmax(x))
    return Imbalance(float(x.max() / mean), float(x.std() / mean),
                     float(total * total / (len(x) * (x * x).sum())), busiest,
                     float(x[busiest] / total))


def best_aggregate(load_bytes: np.ndarray, link_bps: float) -> float:
    """The best aggregate rate (bit/s) the hash allows for this traffic mix.

    Each member carries its share at most at ``link_bps``, and a flow never spreads over
    members, so moving all of it takes at least busiest-member bytes / link speed; the
    aggregate is then total / that time = link_bps * n / max_mean.
    """
    x = np.asarray(load_bytes, dtype=np.float64)
    if len(x) == 0 or x.max() <= 0:
        return 0.0
    return float(link_bps * x.sum() / x.max())


_UNITS = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12}


def parse_speed(text: str) -> float:
    """``1G``, ``10g``, ``2.5Gbit``, ``100M``, ``1e9`` -> bits per second."""
    import re

    from hashscope.errors import SetupError

    m = re.fullmatch(r"\s*([0-9.]+(?:e[0-9]+)?)\s*([kmgt]?)(?:b|bit|bps|bit/s)?\s*", text,
                     re.IGNORECASE)
    if not m:
        raise SetupError("link_speed", f"{{option}} {text!r}: expected e.g. 1G, 10G, 100M")
    value = float(m.group(1)) * _UNITS[m.group(2).lower()]
    if value <= 0:
        raise SetupError("link_speed", f"{{option}} {text!r}: must be positive")
    return value


def format_rate(bps: float) -> str:
    for unit, scale in (("Tbit/s", 1e12), ("Gbit/s", 1e9), ("Mbit/s", 1e6), ("kbit/s", 1e3)):
        if bps >= scale:
            return f"{bps / scale:.3g} {unit}"
    return f"{bps:.3g} bit/s"
