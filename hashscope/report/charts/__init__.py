"""The post-mortem report's charts, drawn only from a report summary dict (schema 1).

``render_charts(summary)`` gives every chart whose data are present as PNG and SVG bytes,
the same bytes for the same summary. matplotlib is imported only when charts are rendered
(object API and the Agg canvas, never pyplot); importing this package does not import it.

Modules: ``_style`` (rc settings, labels, units, member colours), ``loads`` (member-bytes),
``throughput``, ``flows`` (flow-timeline, flow-sizes), ``balance`` (policies, streams),
``matrix``.
"""

from __future__ import annotations

import importlib
import multiprocessing
import pathlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["CHARTS", "Chart", "render_charts"]

CHARTS: tuple[tuple[str, str], ...] = (
    ("member-bytes", "Bytes per member, predicted and observed"),
    ("throughput", "Throughput per member over time"),
    ("flow-timeline", "The heaviest flows over time, by member"),
    ("policies", "Balance under each hash policy"),
    ("streams", "How many flows it takes to use every member"),
    ("matrix", "Predicted vs observed member"),
    ("flow-sizes", "Flow-size distribution"),
)


@dataclass(frozen=True)
class Chart:
    """One rendered chart: its fixed id (the file name stem), its title, PNG and SVG bytes."""

    id: str
    title: str
    png: bytes
    svg: bytes


def _present(key: str) -> Callable[[Mapping[str, Any]], bool]:
    def check(summary: Mapping[str, Any]) -> bool:
        value = summary.get(key)
        return value is not None and value != [] and value != {}
    return check


def _loads_present(summary: Mapping[str, Any]) -> bool:
    return any(isinstance(row, Mapping) and (row.get("predicted_bytes") is not None
                                             or row.get("observed_bytes") is not None)
               for row in summary.get("loads") or [])


def _sizes_present(summary: Mapping[str, Any]) -> bool:
    sizes = summary.get("flow_sizes")
    return isinstance(sizes, Mapping) and bool(sizes.get("cdf"))


# id -> (module, function, whether the summary has its data)
_DRAWERS: dict[str, tuple[str, str, Callable[[Mapping[str, Any]], bool]]] = {
    "member-bytes": ("loads", "draw_member_bytes", _loads_present),
    "throughput": ("throughput", "draw_throughput", _present("timeline")),
    "flow-timeline": ("flows", "draw_flow_timeline", _present("heaviest_flows")),
    "policies": ("balance", "draw_policies", _present("policies")),
    "streams": ("balance", "draw_streams", _present("streams")),
    "matrix": ("matrix", "draw_matrix", _present("matrix")),
    "flow-sizes": ("flows", "draw_flow_sizes", _sizes_present),
}


def _render(summary: Mapping[str, Any], ids: list[str]) -> list[Chart]:
    """The charts ``ids`` (all present), in this process."""
    style = importlib.import_module(f"{__name__}._style")
    palette = style.Palette(summary)
    titles = dict(CHARTS)
    charts = []
    with style.style():
        for chart_id in ids:
            module_name, function, _ = _DRAWERS[chart_id]
            module = importlib.import_module(f"{__name__}.{module_name}")
            fig = getattr(module, function)(summary, palette)
            png, svg = style.save(fig)
            charts.append(Chart(chart_id, titles[chart_id], png, svg))
    return charts


_SHARED: Mapping[str, Any] = {}  #: the summary, for forked workers (copied, not pickled)


def _render_one(chart_id: str) -> Chart:
    return _render(_SHARED, [chart_id])[0]


def render_charts(summary: Mapping[str, Any], out_dir: pathlib.Path | None = None,
                  workers: int = 1) -> list[Chart]:
    """Every chart of ``CHARTS`` whose data the summary has, in that order, as PNG and SVG
    bytes; charts whose data are null are skipped. With ``out_dir``, also written there as
    ``<id>.png`` and ``<id>.svg`` (the directory is created).

    ``workers`` > 1: the charts are drawn in that many forked processes at once (each
    chart's bytes are the same wherever it is drawn); where processes cannot be forked,
    in this one."""
    global _SHARED
    ids = [chart_id for chart_id, _ in CHARTS if _DRAWERS[chart_id][2](summary)]
    workers = min(workers, len(ids))
    if workers > 1 and "fork" in multiprocessing.get_all_start_methods():
        _SHARED = summary
        try:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                charts = pool.map(_render_one, ids, chunksize=1)
        finally:
            _SHARED = {}
    else:
        charts = _render(summary, ids)
    if out_dir is not None:
        out_dir = pathlib.Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        for chart in charts:
            (out_dir / f"{chart.id}.png").write_bytes(chart.png)
            (out_dir / f"{chart.id}.svg").write_bytes(chart.svg)
    return charts
