"""The post-mortem on disk: ``index.html`` (one self-contained page), ``charts/*.png`` and
``*.svg``, and ``summary.json``, all from one document (:mod:`.postmortem`)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hashscope.errors import HashscopeError

CHART_WORKERS = 2  #: processes drawing the charts at once


@dataclass(frozen=True)
class ReportFiles:
    page: Path
    summary: Path
    charts: tuple[Path, ...]


def _plain(value):
    """numpy scalars as Python numbers, for json."""
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON: {type(value).__name__}")


def document_json(doc: dict) -> str:
    return json.dumps(doc, indent=1, default=_plain, ensure_ascii=False, allow_nan=False)


def _write(path: Path, data: bytes) -> None:
    """Write a file whole or not at all (a temporary file renamed over it)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_report(doc: dict, out_dir: Path) -> ReportFiles:
    """Render the charts and the page of ``doc`` into ``out_dir`` (created); ``doc`` gains
    the list of its charts."""
    from .charts import render_charts  # matplotlib, only for a report
    from .html import render_html

    try:
        (out_dir / "charts").mkdir(parents=True, exist_ok=True)
        charts = render_charts(doc, workers=min(CHART_WORKERS, os.cpu_count() or 1))
        files = []
        for c in charts:
            for ext, data in (("png", c.png), ("svg", c.svg)):
                path = out_dir / "charts" / f"{c.id}.{ext}"
                _write(path, data)
                files.append(path)
        doc["charts"] = [{"id": c.id, "title": c.title, "png": f"charts/{c.id}.png",
                          "svg": f"charts/{c.id}.svg"} for c in charts]
        _write(out_dir / "summary.json", document_json(doc).encode())
        _write(out_dir / "index.html", render_html(doc, charts).encode())
    except OSError as exc:
        raise HashscopeError(f"{out_dir}: cannot write the report: {exc.strerror or exc}"
                             ) from exc
    return ReportFiles(out_dir / "index.html", out_dir / "summary.json", tuple(files))
