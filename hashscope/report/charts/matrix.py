"""``matrix``: which member each flow was predicted on against the member it was seen on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from . import _style

MAX_MEMBERS = 32
CMAP = "Blues"


def draw_matrix(summary: Mapping[str, Any], palette: _style.Palette) -> Figure:
    """Two annotated heatmaps, by flows and by bytes: rows the predicted member, columns the
    observed one; the diagonal (agreement) outlined."""
    matrix = summary["matrix"]
    names = [str(m) for m in matrix.get("members") or []][:MAX_MEMBERS]
    fig = _style.figure()
    axes = fig.subplots(1, 2, squeeze=False)[0]
    size = len(names)
    fontsize = 9 if size <= 6 else 7 if size <= 10 else 5
    shown = [palette.label(n) for n in names]
    for ax, (key, heading, fmt) in zip(
            axes, (("flows", "by flows", _count), ("bytes", "by bytes", _style.format_bytes)),
            strict=True):
        cells = _square(matrix.get(key), size)
        ax.set_title(heading)
        if not size or cells is None:
            _style.no_data(ax)
            continue
        top = max(max(row) for row in cells) or 1
        norm = Normalize(0, top)
        ax.pcolormesh(cells, cmap=CMAP, norm=norm, edgecolors="white", linewidth=1)
        if size <= 20:
            for r, row in enumerate(cells):
                for c, value in enumerate(row):
                    text = fmt(value)
                    if size > 4:  # narrow cells: the unit under the number
                        text = text.replace(" ", "\n")
                    ax.text(c + 0.5, r + 0.5, text, ha="center", va="center",
                            fontsize=fontsize,
                            color="white" if value > top * 0.55 else "#222222")
        for i in range(size):
            ax.add_patch(Rectangle((i, i), 1, 1, fill=False, edgecolor="#222222",
                                   linewidth=1.2))
        ax.set_xlim(0, size)
        ax.set_ylim(size, 0)
        ax.grid(False)
        _style.member_ticks(ax, [i + 0.5 for i in range(size)], shown, room_chars=30)
        ax.set_yticks([i + 0.5 for i in range(size)], shown)
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.set_xlabel("observed member (member captures)")
        ax.set_ylabel("predicted member (hash)")
    fig.suptitle("Predicted vs observed member of each flow (outlined diagonal: they agree)")
    return fig


def _count(value: float) -> str:
    return f"{value:g}"


def _square(rows: object, size: int) -> list[list[float]] | None:
    """The matrix as size x size numbers (missing cells 0), or None when absent."""
    if not isinstance(rows, Sequence):
        return None
    out = []
    for r in range(size):
        row = rows[r] if r < len(rows) and isinstance(rows[r], Sequence) else []
        out.append([float(row[c]) if c < len(row) and isinstance(row[c], int | float)
                    else 0.0 for c in range(size)])
    return out
