"""``flow-timeline``: the heaviest flows from first to last packet, coloured by member; and
``flow-sizes``: the flow-size distribution."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import NullFormatter

from . import _style

MAX_FLOWS = 30
DISAGREE_HATCH = "xxx"
MAX_CDF_POINTS = 2000


def draw_flow_timeline(summary: Mapping[str, Any], palette: _style.Palette) -> Figure:
    """One bar per flow (heaviest on top) from its first to its last packet, in the colour of
    the member it was seen on (split when seen on several; else the predicted member);
    hatched where prediction and observation disagree, a diamond where the flow moved."""
    flows = [f for f in summary["heaviest_flows"] if isinstance(f, Mapping)][:MAX_FLOWS]
    starts = [f.get("first_ns") for f in flows if isinstance(f.get("first_ns"), int)]
    ends = [f.get("last_ns") for f in flows if isinstance(f.get("last_ns"), int)]
    timeline = summary.get("timeline") or {}
    origin = timeline.get("start_ns") if isinstance(timeline.get("start_ns"), int) else None
    origin = min([*starts, *([origin] if origin is not None else [])], default=0)
    span = max([*ends, *starts, origin]) - origin or 1
    unit, per_unit = _style.time_unit(span)
    minimum = span / per_unit * 0.008

    fig = _style.figure(height=min(max(_style.HEIGHT, 1.9 + 0.27 * len(flows)), 12.0))
    ax = fig.add_subplot()
    used: list[str] = []
    marks: set[str] = set()
    right_labels: list[str] = []
    for row, flow in enumerate(flows):
        first = flow.get("first_ns") if isinstance(flow.get("first_ns"), int) else origin
        last = flow.get("last_ns") if isinstance(flow.get("last_ns"), int) else first
        left = (first - origin) / per_unit
        width = max((last - first) / per_unit, minimum)
        seen = list(dict.fromkeys(s for s in str(flow.get("observed") or "").split(",") if s))
        members = seen or ([str(flow["predicted"])] if flow.get("predicted") else [])
        disagrees = flow.get("agrees") is False
        height = 0.72 / max(1, len(members))
        for part, member in enumerate(members or [None]):
            color = palette.color(member) if member else _style.UNKNOWN_COLOR
            if member and member not in used:
                used.append(member)
            ax.barh(row - 0.36 + height * (part + 0.5), width, height=height, left=left,
                    color=color, edgecolor="#222222" if disagrees else color,
                    linewidth=0.6, hatch=DISAGREE_HATCH if disagrees else None)
        if disagrees:
            marks.add("disagree")
        if flow.get("moved") is True:
            marks.add("moved")
            ax.plot([left + width], [row], marker="D", markersize=6, color="black",
                    markeredgecolor="white", linestyle="none", zorder=5)
        right_labels.append(_right_label(flow, palette, members, disagrees))

    ax.set_yticks(range(len(flows)), [_flow_label(f) for f in flows], fontsize=8,
                  fontfamily="DejaVu Sans Mono")
    ax.set_ylim(len(flows) - 0.5, -0.5)
    twin = ax.twinx()
    twin.set_ylim(ax.get_ylim())
    twin.set_yticks(range(len(flows)), right_labels, fontsize=8)
    twin.grid(False)
    twin.tick_params(axis="y", length=0)
    ax.tick_params(axis="y", length=0)
    ax.grid(axis="y", visible=False)
    ax.set_xlim(0, span / per_unit * 1.02)
    ax.set_xlabel(f"time since the first packet ({unit})")

    handles: list[Any] = [Patch(facecolor=palette.color(m), edgecolor=palette.color(m))
                          for m in palette.ordered(used)]
    labels = [palette.label(m) for m in palette.ordered(used)]
    if "disagree" in marks:
        handles.append(Patch(facecolor="white", edgecolor="#222222", hatch=DISAGREE_HATCH))
        labels.append("observed member ≠ predicted (hatched)")
    if "moved" in marks:
        handles.append(Line2D([], [], marker="D", color="black", linestyle="none"))
        labels.append("flow moved between members")
    if handles:
        _style.legend(fig, handles, labels, loc="outside lower center",
                      ncols=_style.legend_columns(labels))
    total = len(summary["heaviest_flows"])
    title = f"The {len(flows)} heaviest flows over time, coloured by member"
    if total > len(flows):
        title += f" (of {total} listed)"
    fig.suptitle(title)
    return fig


def _address(address: object, port: object) -> str:
    shown = _style.label(address, 22)
    if not isinstance(port, int):
        return shown
    return f"[{shown}]:{port}" if ":" in shown else f"{shown}:{port}"


def _flow_label(flow: Mapping[str, Any]) -> str:
    proto = _style.label(flow.get("proto") or "", 8)
    text = (f"{_address(flow.get('src'), flow.get('sport'))} → "
            f"{_address(flow.get('dst'), flow.get('dport'))} {proto}")
    return text


def _right_label(flow: Mapping[str, Any], palette: _style.Palette, members: list[str],
                 disagrees: bool) -> str:
    size = flow.get("bytes")
    text = _style.format_bytes(size) if isinstance(size, int | float) else "?"
    text += "  " + ("+".join(palette.label(m) for m in members) if members else "no member")
    if disagrees and flow.get("predicted"):
        text += f" ≠ pred. {palette.label(flow['predicted'])}"
    if flow.get("moved") is True:
        text += ", moved"
    return _style.label(text, 52)


def draw_flow_sizes(summary: Mapping[str, Any], palette: _style.Palette) -> Figure:
    """The fraction of flows and the fraction of bytes in flows of at most x bytes (log x),
    with the share of the bytes the largest flows carried."""
    sizes = summary["flow_sizes"]
    points = [p for p in sizes.get("cdf") or []
              if isinstance(p, list | tuple) and len(p) >= 3 and p[0] and p[0] > 0]
    if len(points) > MAX_CDF_POINTS:
        step = len(points) / MAX_CDF_POINTS
        points = [points[int(i * step)] for i in range(MAX_CDF_POINTS)] + [points[-1]]
    fig = _style.figure()
    ax = fig.add_subplot()
    if not points:
        _style.no_data(ax, "no flows")
        fig.suptitle("Flow-size distribution")
        return fig
    xs = [float(p[0]) for p in points]
    end = xs[-1] * 1.5
    handles = []
    for column, text, color, style in ((1, "fraction of flows", "#222222", "-"),
                                       (2, "fraction of bytes", "#1a6fa3", "--")):
        ys = [float(p[column]) for p in points]
        (line,) = ax.step([xs[0], *xs, end], [0.0, *ys, ys[-1]], where="post", color=color,
                          linestyle=style, linewidth=1.8)
        handles.append((line, text))
    ax.set_xscale("log")
    ax.set_xlim(xs[0] / 1.5, end)
    ax.set_ylim(0, 1.04)
    ax.xaxis.set_major_formatter(_style.BYTES)
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_major_formatter(_style.PERCENT)
    ax.set_xlabel("flow size (bytes, log scale)")
    ax.set_ylabel("share in flows of at most this size")
    _style.legend(ax, [h for h, _ in handles], [t for _, t in handles], loc="lower right")
    shares = []
    top = sizes.get("top_share") or {}
    for key in sorted(top, key=lambda k: int(k) if str(k).isdigit() else 0):
        value = top[key]
        if not isinstance(value, int | float):
            continue
        who = "largest flow" if str(key) == "1" else f"largest {_style.label(key, 8)} flows"
        shares.append(f"{who}: {_style.format_share(value)} of bytes")
    if shares:
        ax.text(0.02, 0.96, "\n".join(shares), transform=ax.transAxes, ha="left", va="top",
                bbox={"facecolor": "white", "edgecolor": "#bbbbbb", "pad": 4})
    flows = summary.get("flows")
    suffix = f" ({flows} flows)" if isinstance(flows, int) else ""
    fig.suptitle(f"Flow-size distribution{suffix}: how much of the traffic the big flows are")
    return fig
