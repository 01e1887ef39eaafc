"""``policies``: how evenly each hash policy spreads the flows; ``streams``: how many random
flows it takes to use every member."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from . import _style

MAX_POLICIES = 40
CURRENT_COLOR = "#3b3b3b"
OTHER_COLOR = "#b9b9b9"
INFERRED_HATCH = "//"
IDEAL_COLOR = "#2a7a2a"


def member_count(summary: Mapping[str, Any]) -> int:
    """n: the members the traffic is spread over."""
    streams = summary.get("streams") or {}
    if isinstance(streams.get("members"), int) and streams["members"] > 0:
        return streams["members"]
    return max(1, len(summary.get("members") or []))


def draw_policies(summary: Mapping[str, Any], palette: _style.Palette) -> Figure:
    """Per policy the busiest member's share of the bytes (ideal 1/n) and Jain's fairness
    index (ideal 1), the current policy dark, the inferred one hatched."""
    policies = [p for p in summary["policies"] if isinstance(p, Mapping)][:MAX_POLICIES]
    n = member_count(summary)
    fig = _style.figure(height=min(max(_style.HEIGHT, 1.6 + 0.3 * len(policies)), 14.0))
    axes = fig.subplots(1, 2, sharey=True, squeeze=False)[0]
    rows = range(len(policies))
    labels = []
    for policy in policies:
        text = _style.label(policy.get("policy"), 28)
        accuracy = policy.get("accuracy")
        if accuracy and accuracy != "exact":
            text += f" ({_style.label(accuracy, 16)})"
        roles = [r for r in ("current", "inferred") if policy.get(r) is True]
        if roles:
            text += " · " + ", ".join(roles)
        labels.append(text)
    colors = [CURRENT_COLOR if p.get("current") is True else OTHER_COLOR for p in policies]
    hatches = [INFERRED_HATCH if p.get("inferred") is True else None for p in policies]
    panels = (("busiest_share", "Busiest member's share of the bytes (lower is better)",
               1.0 / n),
              ("jain", "Jain's fairness index (higher is better)", 1.0))
    for ax, (key, heading, ideal) in zip(axes, panels, strict=True):
        values = [p.get(key) if isinstance(p.get(key), int | float) else None
                  for p in policies]
        for row, value, color, hatch in zip(rows, values, colors, hatches, strict=True):
            if value is None:
                ax.text(0.01, row, "n/a", va="center", color="#777777")
                continue
            ax.barh(row, value, height=0.65, color=color, hatch=hatch,
                    edgecolor="white" if hatch else color, linewidth=0)
            ax.text(value + 0.01, row, _style.format_share(value) if key == "busiest_share"
                    else f"{value:.2f}", va="center", fontsize=8)
        ax.axvline(ideal, color=IDEAL_COLOR, linestyle="--", linewidth=1.2)
        ax.set_title(heading)
        ax.set_xlim(0, 1.15)
        ax.grid(axis="y", visible=False)
        if key == "busiest_share":
            ax.xaxis.set_major_formatter(_style.PERCENT)
        ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0])
    axes[0].set_yticks(list(rows), labels)
    for tick, policy in zip(axes[0].get_yticklabels(), policies, strict=True):
        if policy.get("current") is True:
            tick.set_fontweight("bold")
    axes[0].set_ylim(len(policies) - 0.5, -0.5)
    if not policies:
        _style.no_data(axes[0])
    handles = [Patch(facecolor=CURRENT_COLOR), Patch(facecolor=OTHER_COLOR,
                                                     hatch=INFERRED_HATCH, edgecolor="white"),
               Patch(facecolor=OTHER_COLOR),
               Line2D([], [], color=IDEAL_COLOR, linestyle="--")]
    texts = ["current policy", "inferred from the captures (hatched)", "other policies",
             f"perfect balance (1/n = {_style.format_share(1.0 / n)}; Jain 1)"]
    _style.legend(fig, handles, texts, loc="outside lower center",
                  ncols=_style.legend_columns(texts))
    fig.suptitle(f"How evenly each hash policy would spread these flows over {n} members")
    return fig


def draw_streams(summary: Mapping[str, Any], palette: _style.Palette) -> Figure:
    """P(k random flows use all n members) against k, with the current traffic and the
    numbers of flows for a 50/90/95/99% chance."""
    streams = summary["streams"]
    n = member_count(summary)
    curve = [(int(k), float(p)) for k, p in (streams.get("curve") or [])
             if isinstance(k, int | float) and isinstance(p, int | float)]
    fig = _style.figure()
    ax = fig.add_subplot()
    fig.suptitle(f"How many flows it takes to use all {n} members (each flow hashed at random)")
    if not curve:
        _style.no_data(ax, "no curve")
        return fig
    ks = [k for k, _ in curve]
    ps = [p for _, p in curve]
    ax.plot(ks, ps, color="#1a6fa3", marker="o", markersize=3, linewidth=1.6)
    at = dict(curve)
    lines = []
    thresholds = streams.get("streams_for") or {}
    for key in sorted(thresholds, key=_as_float):
        k = thresholds[key]
        if not isinstance(k, int | float):
            continue
        share = _as_float(key)
        y = at.get(int(k), share)
        ax.plot([k, k], [0, y], color="#888888", linestyle=":", linewidth=1)
        ax.plot([k], [y], marker="o", markersize=6, color="#1a6fa3", markeredgecolor="white")
        lines.append(f"{_style.format_share(share)} chance: {int(k)} flows")
    current = streams.get("current_streams")
    used = streams.get("current_members_used")
    right = max(ks)
    if isinstance(current, int | float) and current > 0:
        right = max(right, current)
        ax.axvline(current, color="#c0392b", linewidth=1.4)
        if int(current) in at:
            ax.plot([current], [at[int(current)]], marker="o", markersize=7, color="#c0392b")
        text = f"now: {int(current)} flows"
        if isinstance(used, int):
            text += f", {used} of {n} members used"
        ax.text(current, 1.02, " " + text, transform=ax.get_xaxis_transform(), ha="left",
                va="bottom", color="#c0392b", fontweight="bold")
    if lines:
        ax.text(0.98, 0.05, "flows for a chance that\nall members are used\n"
                + "\n".join(lines), transform=ax.transAxes, ha="right", va="bottom",
                bbox={"facecolor": "white", "edgecolor": "#bbbbbb", "pad": 4})
    ax.set_xlim(0, right + 1)
    ax.set_ylim(0, 1.01)
    ax.yaxis.set_major_formatter(_style.PERCENT)
    ax.set_xlabel("k: number of flows (streams)")
    ax.set_ylabel(f"P(k flows use all {n} members)")
    return fig


def _as_float(key: object) -> float:
    try:
        return float(key)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0
