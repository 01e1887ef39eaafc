"""``throughput``: each member's bits per second over time, one small panel per member."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from . import _style

MAX_MEMBERS = 24
LINK_COLOR = "#444444"
LINK_ON_SCALE = 10  #: the link-speed line is drawn when at most this many times the peak
# How each series is drawn (the colour is the member's).
SERIES = (("predicted", "transmit", "predicted transmit", "--", 1.3, 1.0),
          ("observed", "transmit", "observed transmit", "-", 1.6, 1.0),
          ("observed", "receive", "observed receive", ":", 1.6, 0.8))


def draw_throughput(summary: Mapping[str, Any], palette: _style.Palette) -> Figure:
    """Small multiples sharing both axes: per member the predicted and observed transmit and
    the observed receive throughput per bin (bytes * 8 / bin seconds), and the link speed."""
    timeline = summary["timeline"]
    bins = int(timeline.get("bins") or 0)
    bin_ns = float(timeline.get("bin_ns") or 1)
    predicted = timeline.get("predicted") or {}
    observed = timeline.get("observed") or {}
    link = summary.get("link_speed_bps")
    link = float(link) if isinstance(link, int | float) and link > 0 else None
    names = palette.ordered([m.name for m in palette.members] + list(predicted)
                            + list(observed))
    names = [n for n in names if n in predicted or n in observed] or names
    hidden = max(0, len(names) - MAX_MEMBERS)
    names = names[:MAX_MEMBERS]
    unit, per_unit = _style.time_unit(bins * bin_ns)
    edges = [i * bin_ns / per_unit for i in range(bins + 1)]
    to_bps = 8e9 / bin_ns

    rows = max(1, len(names))
    fig = _style.figure(height=min(max(_style.HEIGHT, 1.3 + 1.15 * rows), 24.0))
    axes = fig.subplots(rows, 1, sharex=True, sharey=True, squeeze=False)[:, 0]
    peak_all = 0.0
    used: set[int] = set()
    peaks: list[float] = []
    for ax, name in zip(axes, names, strict=False):
        color = palette.color(name)
        peak = 0.0
        for index, (source, direction, _text, style, width, alpha) in enumerate(SERIES):
            if source == "predicted":
                values = predicted.get(name) if direction == "transmit" else None
            else:
                values = (observed.get(name) or {}).get(direction)
            values = _fit(values, bins)
            if values is None:
                continue
            used.add(index)
            bps = [v * to_bps for v in values]
            peak = max([peak, *bps])
            ax.stairs(bps, edges, baseline=None, color=color, linestyle=style,
                      linewidth=width, alpha=alpha)
        peaks.append(peak)
        peak_all = max(peak_all, peak)
        ax.text(0.005, 0.96, palette.label(name), transform=ax.transAxes, ha="left",
                va="top", color=color, fontweight="bold",
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1.5})
    # The link-speed line where it fits the scale; far above the traffic (a 1 Gb/s link
    # carrying 5 Mb/s) the scale follows the traffic, and each panel says where the link is.
    on_scale = bool(link) and link <= LINK_ON_SCALE * max(peak_all, 1.0)
    for ax, peak in zip(axes, peaks, strict=False):
        if on_scale:
            ax.axhline(link, color=LINK_COLOR, linewidth=1.0, linestyle="-.")
        note = f"peak {_style.format_bps(peak)}"
        if link:
            note += (f" ({_style.format_share(peak / link)} of link)" if on_scale else
                     f" ({_style.format_share(peak / link)} of the {_style.format_bps(link)} "
                     "link, above this scale)")
        ax.text(0.995, 0.96, note, transform=ax.transAxes, ha="right", va="top",
                color="#333333", fontsize=8,
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1.5})
    top = max(peak_all, link if on_scale else 0.0) or 1.0
    axes[0].set_ylim(0, top * 1.25)
    axes[0].set_xlim(edges[0], edges[-1] if bins else 1)
    axes[0].yaxis.set_major_formatter(_style.BPS)
    axes[0].yaxis.get_major_locator().set_params(nbins=3)
    axes[-1].set_xlabel(f"time since {_start(timeline)} ({unit}); bins of "
                        f"{_bin_text(bin_ns)}")
    fig.supylabel("throughput (bits/s)")
    if not names:
        _style.no_data(axes[0])

    handles: list[Any] = []
    labels: list[str] = []
    for index, (_s, _d, text, style, width, _a) in enumerate(SERIES):
        if index in used:
            handles.append(Line2D([], [], color="#555555", linestyle=style, linewidth=width))
            labels.append(text)
    if on_scale:
        handles.append(Line2D([], [], color=LINK_COLOR, linestyle="-.", linewidth=1.0))
        labels.append(f"link speed {_style.format_bps(link)}")
    if handles:
        _style.legend(fig, handles, labels, loc="outside lower center",
                      ncols=_style.legend_columns(labels))
    title = "Throughput per member over time"
    if hidden:
        title += f" (first {MAX_MEMBERS} members; {hidden} more not drawn)"
    fig.suptitle(title)
    return fig


def _fit(values: Sequence[Any] | None, bins: int) -> list[float] | None:
    """A series of exactly ``bins`` numbers (missing ones 0), or None when there is none."""
    if not isinstance(values, list | tuple):
        return None
    numbers = [float(v) if isinstance(v, int | float) else 0.0 for v in values[:bins]]
    return numbers + [0.0] * (bins - len(numbers))


def _bin_text(bin_ns: float) -> str:
    unit, per_unit = _style.time_unit(bin_ns * 2)
    return f"{bin_ns / per_unit:g} {unit}"


def _start(timeline: Mapping[str, Any]) -> str:
    start = timeline.get("start_ns")
    if not isinstance(start, int):
        return "the first packet"
    moment = datetime.datetime.fromtimestamp(start / 1e9, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"
