"""The post-mortem report's charts: drawn from the summary dict alone, reproducible to the
byte, safe with hostile names from captures, matplotlib imported only when rendering."""

from __future__ import annotations

import copy
import html
import io
import json
import os
import pathlib
import subprocess
import sys

import pytest

from hashscope.report.charts import CHARTS, Chart, render_charts

EXAMPLE = pathlib.Path(__file__).parent / "data" / "report" / "summary-example.json"
ROOT = pathlib.Path(__file__).resolve().parent.parent
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HOSTILE = {"ens1f0": "</script><img src=x onerror=alert(1)>", "ens1f1": "$\\frac{1}{$",
           "ens1f2": "_eth0", "ens1f3": "eth\u202e1"}


def example() -> dict:
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))


def only(summary: dict, *keep: str) -> dict:
    """The summary with the data of all charts but these null (a faster render)."""
    data = ("loads", "timeline", "heaviest_flows", "policies", "streams", "matrix",
            "flow_sizes")
    return {k: (None if k in data and k not in keep else v) for k, v in summary.items()}


def renamed(summary: dict, names: dict[str, str]) -> dict:
    """The summary with members renamed everywhere a member name appears."""
    def rename(value: object) -> object:
        if isinstance(value, str):
            if value in names:
                return names[value]
            if "," in value and all(part in names for part in value.split(",")):
                return ",".join(names[part] for part in value.split(","))
        return value

    out = copy.deepcopy(summary)
    for member in out["members"]:
        member["name"] = rename(member["name"])
    for row in out["loads"]:
        row["member"] = rename(row["member"])
    timeline = out["timeline"]
    timeline["predicted"] = {rename(k): v for k, v in timeline["predicted"].items()}
    timeline["observed"] = {rename(k): v for k, v in timeline["observed"].items()}
    for flow in out["heaviest_flows"]:
        flow["predicted"] = rename(flow["predicted"])
        flow["observed"] = rename(flow["observed"])
    out["matrix"]["members"] = [rename(m) for m in out["matrix"]["members"]]
    return out


@pytest.fixture(scope="module")
def charts() -> list[Chart]:
    return render_charts(example())


@pytest.fixture(scope="module")
def hostile() -> list[Chart]:
    # Only the charts that show member names or addresses (a faster render).
    summary = only(renamed(example(), HOSTILE), "loads", "timeline", "heaviest_flows", "matrix")
    summary["heaviest_flows"][0]["src"] = "10.0.0.1\x1b[2J"
    summary["heaviest_flows"][0]["observed"] = f"{HOSTILE['ens1f0']},{HOSTILE['ens1f2']}"
    return render_charts(summary)


def test_every_chart_renders_png_and_svg(charts: list[Chart]) -> None:
    from matplotlib.image import imread

    assert [c.id for c in charts] == [chart_id for chart_id, _ in CHARTS]
    assert [c.title for c in charts] == [title for _, title in CHARTS]
    for chart in charts:
        assert chart.png.startswith(PNG_SIGNATURE), chart.id
        pixels = imread(io.BytesIO(chart.png), format="png")
        height, width = pixels.shape[:2]
        assert width == 900 and height >= 450, chart.id
        assert pixels.min() < pixels.max(), chart.id  # something is drawn
        svg = chart.svg.decode("utf-8")
        assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "</svg>" in svg
        assert "<text" in svg, chart.id  # svg.fonttype none: text stays text
        assert "<dc:date>" not in svg


def test_member_names_shown(charts: list[Chart]) -> None:
    by_id = {c.id: c.svg.decode() for c in charts}
    for chart_id in ("member-bytes", "throughput", "matrix"):
        for name in ("ens1f0", "ens1f1", "ens1f2", "ens1f3"):
            assert f">{name}<" in by_id[chart_id], (chart_id, name)
    assert "1 Gb/s" in by_id["throughput"]  # the link speed
    assert "Mb/s" in by_id["throughput"] and "MB" in by_id["member-bytes"]


def test_renders_are_identical(charts: list[Chart]) -> None:
    again = render_charts(example())
    assert [(c.id, c.png, c.svg) for c in again] == [(c.id, c.png, c.svg) for c in charts]


def test_render_in_a_subprocess_is_identical(charts: list[Chart], tmp_path: pathlib.Path) -> None:
    code = ("import json, pathlib, sys\n"
            "from hashscope.report.charts import render_charts\n"
            "summary = json.loads(pathlib.Path(sys.argv[1]).read_text(encoding='utf-8'))\n"
            "render_charts(summary, pathlib.Path(sys.argv[2]))\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", code, str(EXAMPLE), str(tmp_path)], check=True,
                   env=env, cwd=tmp_path, timeout=120)
    for chart in charts:
        assert (tmp_path / f"{chart.id}.png").read_bytes() == chart.png, chart.id
        assert (tmp_path / f"{chart.id}.svg").read_bytes() == chart.svg, chart.id


def test_writes_files(tmp_path: pathlib.Path) -> None:
    summary = only(example(), "loads", "matrix")
    out = tmp_path / "charts"
    charts = render_charts(summary, out)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{c.id}.{ext}" for c in charts for ext in ("png", "svg"))
    assert [c.id for c in charts] == ["member-bytes", "matrix"]
    for chart in charts:
        assert (out / f"{chart.id}.svg").read_bytes() == chart.svg


def test_hostile_names(hostile: list[Chart]) -> None:
    assert [c.id for c in hostile] == ["member-bytes", "throughput", "flow-timeline", "matrix"]
    svgs = {c.id: c.svg.decode("utf-8") for c in hostile}
    everything = "".join(svgs.values())
    assert "\u202e" not in everything and "\x1b" not in everything
    assert "<script" not in everything and "<img" not in everything
    assert html.escape("</script>", quote=False) in everything
    for chart_id in ("member-bytes", "throughput", "flow-timeline", "matrix"):
        svg = svgs[chart_id]
        assert "_eth0" in svg, chart_id
        assert "$\\frac{1}{$" in svg, chart_id
        if chart_id != "flow-timeline":  # no heavy flow took ens1f3
            assert "eth\\u202e1" in svg, chart_id
    assert "10.0.0.1\\x1b[2J" in svgs["flow-timeline"]
    for chart in hostile:
        assert chart.png.startswith(PNG_SIGNATURE)


def test_underscore_name_stays_in_the_legend(hostile: list[Chart]) -> None:
    # The flow-timeline legend lists the members drawn; ens1f2 (renamed _eth0) is one.
    svg = next(c for c in hostile if c.id == "flow-timeline").svg.decode()
    legend = svg[svg.index('id="legend_1"'):]
    assert "_eth0" in legend


def test_long_names_are_shortened() -> None:
    long_name = "bond0-member-with-a-very-long-interface-name-0123456789"
    (chart,) = render_charts(only(renamed(example(), {"ens1f0": long_name}), "loads"))
    svg = chart.svg.decode()
    assert long_name not in svg and long_name[:20] in svg and "\u2026" in svg


def test_null_data_are_skipped() -> None:
    summary = example()
    for key in ("timeline", "matrix", "streams", "flow_sizes", "policies"):
        summary[key] = None
    summary["heaviest_flows"] = []
    assert [c.id for c in render_charts(summary)] == ["member-bytes"]
    summary["loads"] = []
    assert render_charts(summary) == []


def test_without_member_captures() -> None:
    summary = example()
    for row in summary["loads"]:
        row["observed_packets"] = row["observed_bytes"] = None
    summary["timeline"]["observed"] = None
    summary["matrix"] = None
    summary["link_speed_bps"] = None
    summary = only(summary, "loads", "timeline", "heaviest_flows")
    for flow in summary["heaviest_flows"]:
        flow["observed"] = flow["agrees"] = None
    charts = {c.id: c for c in render_charts(summary)}
    assert set(charts) == {"member-bytes", "throughput", "flow-timeline"}
    assert "observed transmit" not in charts["throughput"].svg.decode()
    assert "observed (member captures)" not in charts["member-bytes"].svg.decode()


def test_import_does_not_import_matplotlib() -> None:
    code = ("import sys\n"
            "import hashscope.report.charts as charts\n"
            "assert charts.CHARTS\n"
            "bad = [m for m in sys.modules if m == 'matplotlib' or m.startswith('matplotlib.')]\n"
            "assert not bad, bad\n"
            "import json, pathlib\n"
            "summary = json.loads(pathlib.Path(sys.argv[1]).read_text(encoding='utf-8'))\n"
            "summary = {'members': summary['members'], 'loads': summary['loads']}\n"
            "assert charts.render_charts(summary)\n"
            "assert 'matplotlib' in sys.modules\n"
            "assert 'matplotlib.pyplot' not in sys.modules\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", code, str(EXAMPLE)], check=True, env=env,
                   timeout=120)


def test_rc_settings_are_restored() -> None:
    import matplotlib

    before = dict(matplotlib.rcParams)
    assert render_charts(only(example(), "streams"))
    assert dict(matplotlib.rcParams) == before


def test_charts_drawn_in_forked_workers_are_the_same_bytes():
    summary = json.loads(EXAMPLE.read_text())
    one = render_charts(summary)
    two = render_charts(summary, workers=2)
    assert [(c.id, c.png, c.svg) for c in two] == [(c.id, c.png, c.svg) for c in one]
