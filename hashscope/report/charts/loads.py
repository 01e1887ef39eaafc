"""``member-bytes``: the bytes each member carried, predicted next to observed, per direction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from matplotlib.figure import Figure
from matplotlib.patches import Patch

from . import _style

DIRECTIONS = (("transmit", "Transmit (sent by this host)"),
              ("receive", "Receive (arriving from the switch)"))
PREDICTED_ALPHA = 0.45
PREDICTED_HATCH = "///"


def draw_member_bytes(summary: Mapping[str, Any], palette: _style.Palette) -> Figure:
    """Two panels (transmit, receive): per member a bar of the predicted bytes (hatched,
    light) next to a bar of the observed bytes (solid), in the member's colour."""
    loads = summary.get("loads") or []
    names = palette.ordered([m.name for m in palette.members]
                            + [str(row.get("member")) for row in loads])
    fig = _style.figure()
    axes = fig.subplots(1, 2, squeeze=False)[0]
    shown_kinds: set[str] = set()
    for ax, (direction, heading) in zip(axes, DIRECTIONS, strict=True):
        rows = {str(row.get("member")): row for row in loads
                if row.get("direction") == direction}
        predicted = [_number(rows.get(n, {}).get("predicted_bytes")) for n in names]
        observed = [_number(rows.get(n, {}).get("observed_bytes")) for n in names]
        has_predicted = any(v is not None for v in predicted)
        has_observed = any(v is not None for v in observed)
        ax.set_title(heading)
        if not names or not (has_predicted or has_observed):
            _style.no_data(ax, "no bytes known in this direction")
            continue
        if not any(v for v in predicted + observed if v):
            _style.no_data(ax, f"no frames {'sent' if direction == 'transmit' else 'received'}"
                               " on the members")
            continue
        width = 0.4 if has_predicted and has_observed else 0.7
        offsets = {"predicted": -width / 2 if has_observed else 0.0,
                   "observed": width / 2 if has_predicted else 0.0}
        colors = [palette.color(n) for n in names]
        for kind, values in (("predicted", predicted), ("observed", observed)):
            if not any(v is not None for v in values):
                continue
            shown_kinds.add(kind)
            xs = [i + offsets[kind] for i, v in enumerate(values) if v is not None]
            heights = [v for v in values if v is not None]
            bar_colors = [c for c, v in zip(colors, values, strict=True) if v is not None]
            bars = ax.bar(xs, heights, width=width, color=bar_colors,
                          edgecolor=bar_colors, linewidth=0.8,
                          alpha=PREDICTED_ALPHA if kind == "predicted" else 1.0,
                          hatch=PREDICTED_HATCH if kind == "predicted" else None)
            ax.bar_label(bars, labels=[_style.format_bytes(v) for v in heights], padding=3,
                         fontsize=7, color="#333333", rotation=90)
        _style.member_ticks(ax, list(range(len(names))), [palette.label(n) for n in names])
        ax.yaxis.set_major_formatter(_style.BYTES)
        ax.set_ylabel("bytes")
        ax.set_ylim(0, max([v for v in predicted + observed if v is not None] + [1]) * 1.3)
        ax.grid(axis="x", visible=False)
    handles, labels = [], []
    if "predicted" in shown_kinds:
        handles.append(Patch(facecolor="#888888", edgecolor="#888888", alpha=PREDICTED_ALPHA,
                             hatch=PREDICTED_HATCH))
        labels.append("predicted (hash of each flow)")
    if "observed" in shown_kinds:
        handles.append(Patch(facecolor="#888888", edgecolor="#888888"))
        labels.append("observed (member captures)")
    if handles:
        _style.legend(fig, handles, labels, loc="outside lower center",
                      ncols=_style.legend_columns(labels))
    fig.suptitle("Bytes per member: predicted vs observed")
    return fig


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) \
        else None
