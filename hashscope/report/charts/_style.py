"""What every chart shares: the reproducible rc settings, safe labels, units and member colours.

This module imports matplotlib; only ``render_charts`` imports it (lazily).
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import is_color_like
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from hashscope.report.text import visible

DPI = 100
WIDTH = 9.0
HEIGHT = 4.5

# Everything that could make two renders differ, or make a label from a capture mean
# something to matplotlib, is fixed here.
RC: dict[str, Any] = {
    "svg.hashsalt": "hashscope-report-charts",
    "svg.fonttype": "none",
    "svg.image_inline": True,
    "text.parse_math": False,
    "text.usetex": False,
    "axes.formatter.use_mathtext": False,
    "font.family": ["DejaVu Sans"],
    "font.size": 9.0,
    "axes.titlesize": 10.0,
    "figure.titlesize": 12.0,
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "savefig.facecolor": "white",
    "figure.facecolor": "white",
    "axes.grid": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "axes.axisbelow": True,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "path.simplify": False,
}

# When a member's colour is missing or not a colour at all (tab10, then greys).
FALLBACK_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                   "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
UNKNOWN_COLOR = "#9a9a9a"
ELLIPSIS = "\u2026"


@contextmanager
def style() -> Iterator[None]:
    """The rc settings of every chart, for building and saving a figure alike (tick labels
    are made at draw time and read the settings then)."""
    with matplotlib.rc_context(RC):
        yield


def figure(width: float = WIDTH, height: float = HEIGHT) -> Figure:
    """A figure of a fixed size with its own Agg canvas (no pyplot, no global state)."""
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save(fig: Figure) -> tuple[bytes, bytes]:
    """The figure as PNG and SVG bytes, without dates or versions in the metadata."""
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=DPI, metadata={"Software": None})
    # The layout made for the PNG holds for the SVG (same size and dpi): not made twice.
    fig.set_layout_engine("none")
    svg = io.BytesIO()
    fig.savefig(svg, format="svg", dpi=DPI, metadata={"Date": None, "Creator": None})
    return png.getvalue(), svg.getvalue()


def label(text: object, limit: int = 24) -> str:
    """Text from a capture as a chart may show it: control and bidi characters written out,
    shortened with an ellipsis. (Math is off in ``RC``, so ``$`` is just a dollar; legends
    are given their labels explicitly, see ``legend``, so a leading ``_`` stays.)"""
    shown = visible("" if text is None else str(text))
    if len(shown) > limit:
        shown = shown[: max(1, limit - 1)] + ELLIPSIS
    return shown


def legend(owner: Any, handles: list[Any], labels: list[str], **kwargs: Any) -> Any:
    """A legend of exactly these entries: handles and labels are passed explicitly, so a
    label that starts with ``_`` (``_eth0``) is kept."""
    return owner.legend(handles, labels, **kwargs)


def _scaled(value: float, units: tuple[str, ...], base: float = 1000.0) -> str:
    if value is None or not math.isfinite(value):
        return ""
    if value == 0:
        return "0"
    magnitude = abs(value)
    index = 0
    while magnitude >= base and index < len(units) - 1:
        magnitude /= base
        index += 1
    number = f"{math.copysign(magnitude, value):.3g}"
    return f"{number} {units[index]}"


def format_bytes(value: float) -> str:
    """Bytes in decimal units: ``512 B``, ``1.29 MB``."""
    return _scaled(value, ("B", "kB", "MB", "GB", "TB", "PB"))


def format_bps(value: float) -> str:
    """Bits per second: ``48 Mb/s``, ``1 Gb/s``."""
    return _scaled(value, ("b/s", "kb/s", "Mb/s", "Gb/s", "Tb/s"))


def format_share(value: float) -> str:
    """A fraction as a percentage with a precision that suits it."""
    percent = value * 100
    if percent == 0 or percent >= 10 or percent == 100:
        return f"{percent:.0f}%" if percent == round(percent) else f"{percent:.1f}%"
    return f"{percent:.2g}%"


BYTES = FuncFormatter(lambda v, _pos: format_bytes(v))
BPS = FuncFormatter(lambda v, _pos: format_bps(v))
PERCENT = FuncFormatter(lambda v, _pos: f"{v * 100:.0f}%")


def time_unit(span_ns: float) -> tuple[str, float]:
    """The unit to show a span of time in, and nanoseconds per unit."""
    if span_ns < 2e6:
        return "µs", 1e3
    if span_ns < 2e9:
        return "ms", 1e6
    if span_ns < 600e9:
        return "s", 1e9
    return "min", 60e9


@dataclass(frozen=True)
class Member:
    name: str
    label: str
    color: str
    up: bool


class Palette:
    """Each member's one colour and label, from ``summary["members"]``; names met elsewhere
    (a load, a matrix row) that are not members get a neutral grey."""

    def __init__(self, summary: Mapping[str, Any]):
        self.members: list[Member] = []
        self._by_name: dict[str, Member] = {}
        for index, entry in enumerate(summary.get("members") or []):
            name = str(entry.get("name"))
            color = entry.get("color")
            if not (isinstance(color, str) and is_color_like(color)):
                color = FALLBACK_COLORS[index % len(FALLBACK_COLORS)]
            up = entry.get("up") is not False
            shown = label(name) + ("" if up else " (down)")
            member = Member(name, shown, color, up)
            self.members.append(member)
            self._by_name.setdefault(name, member)

    def color(self, name: object) -> str:
        member = self._by_name.get(str(name))
        return member.color if member else UNKNOWN_COLOR

    def label(self, name: object) -> str:
        member = self._by_name.get(str(name))
        return member.label if member else label(name)

    def ordered(self, names: Iterable[object]) -> list[str]:
        """These names, members first in their order, then the others as met."""
        wanted = [str(n) for n in names]
        known = [m.name for m in self.members if m.name in wanted]
        return known + [n for n in dict.fromkeys(wanted) if n not in known]


def no_data(ax: Any, text: str = "no data") -> None:
    """An empty panel that says why it is empty."""
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center",
            color="#777777")
    ax.set_xticks([])
    ax.set_yticks([])


def legend_columns(labels: list[str], width_chars: int = 140) -> int:
    """How many legend columns fit a figure of the standard width for these labels."""
    if not labels:
        return 1
    return max(1, min(len(labels), width_chars // (max(len(t) for t in labels) + 6)))


def member_ticks(ax: Any, positions: list[float], labels: list[str], axis: str = "x",
                 room_chars: int = 36) -> None:
    """Member names on an axis; slanted when they would not fit side by side."""
    if axis == "y":
        ax.set_yticks(positions, labels)
        return
    crowded = bool(labels) and max(len(t) for t in labels) * len(labels) > room_chars
    ax.set_xticks(positions, labels)
    if crowded:
        ax.tick_params(axis="x", labelrotation=30)
        for tick in ax.get_xticklabels():
            tick.set_horizontalalignment("right")
            tick.set_rotation_mode("anchor")
