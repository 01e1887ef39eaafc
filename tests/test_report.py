"""``hashscope report``: the post-mortem on disk (page, charts, summary.json) from real
bonds' member captures, the same numbers as analyze, reproducible byte for byte."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT, run_main

IPERF = ROOT / "captures" / "scenarios" / "iperf3-P4-lacp"
MEMBERS = [str(IPERF / f"ens1f{i}.pcap") for i in range(4)]


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "iperf3"
    proc = subprocess.run([sys.executable, "-m", "hashscope", "report", *MEMBERS,
                           "--link-speed", "1G", "-o", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    (out / "stdout.txt").write_text(proc.stdout)
    return out


def test_report_writes_the_page_the_charts_and_the_summary(report_dir):
    doc = json.loads((report_dir / "summary.json").read_text())
    assert doc["schema_version"] == 1
    ids = [c["id"] for c in doc["charts"]]
    assert ids == ["member-bytes", "throughput", "flow-timeline", "policies", "streams",
                   "matrix", "flow-sizes"]
    for c in doc["charts"]:
        png, svg = (report_dir / c["png"]).read_bytes(), (report_dir / c["svg"]).read_bytes()
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
        assert svg.lstrip().startswith(b"<?xml") and b"<svg" in svg
    page = (report_dir / "index.html").read_text()
    assert page.count("data:image/png;base64,") == len(ids)
    assert 'id="summary"' in page and "Content-Security-Policy" in page
    for f in doc["findings"]:
        assert f["title"].split(" ")[0] in page
    out = (report_dir / "stdout.txt").read_text()
    assert "findings:" in out and "consecutive source ports" in out
    assert str(report_dir / "index.html") in out


def test_report_numbers_are_analyze_numbers(report_dir, monkeypatch, capsys):
    doc = json.loads((report_dir / "summary.json").read_text())
    code, out, err = run_main(monkeypatch, capsys, "analyze", *MEMBERS, "--format", "json",
                              "--link-speed", "1G")
    assert code == 0, err
    a = json.loads(out)
    assert [f["title"] for f in a["findings"]] == [f["title"] for f in doc["findings"]]
    pol = a["policies"][0]
    tx = [x for x in doc["loads"] if x["direction"] == "transmit"]
    assert [m["bytes"] for m in pol["members"]] == [x["predicted_bytes"] for x in tx]
    assert [m["packets"] for m in pol["members"]] == [x["predicted_packets"] for x in tx]
    info = json.loads((IPERF / "scenario.json").read_text())
    assert {x["member"]: x["observed_packets"] for x in tx} == info["packets_per_slave"]
    assert a["packets"] == doc["packets"] and a["flows"] == doc["flows"]


def test_two_runs_give_identical_bytes(report_dir, tmp_path):
    again = tmp_path / "again"
    proc = subprocess.run([sys.executable, "-m", "hashscope", "report", *MEMBERS,
                           "--link-speed", "1G", "-o", str(again)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    for name in ["summary.json", "index.html", *(
            p.relative_to(report_dir).as_posix() for p in (report_dir / "charts").iterdir())]:
        assert (again / name).read_bytes() == (report_dir / name).read_bytes(), name


def test_analyze_prints_the_findings_above_its_tables(monkeypatch, capsys):
    code, out, err = run_main(monkeypatch, capsys, "analyze", *MEMBERS)
    assert code == 0, err
    assert out.index("findings:") < out.index("┏")
    assert "warning: 2 pairs of consecutive source ports share a member" in out


def test_report_on_a_bad_capture_is_one_line(tmp_path, monkeypatch, capsys):
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"not a capture at all")
    code, out, err = run_main(monkeypatch, capsys, "report", str(bad), "-o",
                              str(tmp_path / "r"))
    assert code == 2
    assert err.count("\n") == 1 and "bad.pcap" in err


def test_report_into_an_unwritable_place_is_one_line(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, out, err = run_main(monkeypatch, capsys, "report", MEMBERS[0], "-o",
                              str(blocker / "sub"))
    assert code == 2, err
    assert err.count("\n") == 1 and "cannot write the report" in err


def test_other_commands_do_not_import_matplotlib():
    code = ("import sys\nfrom hashscope import cli\n"
            f"sys.argv = ['hashscope', 'analyze', {MEMBERS[0]!r}]\n"
            "try:\n    cli.main()\nexcept SystemExit as e:\n    assert e.code in (0, None)\n"
            "print(sorted(m for m in sys.modules if m.startswith('matplotlib')))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"
