"""Every capture of the tcpdump test suite, many malformed on purpose: a result or one
clean error line, never a traceback. Runs the real CLI entry point in-process."""

from __future__ import annotations

import pytest
from helpers import SHARED_TCPDUMP, TCPDUMP, run_main


def check_one(monkeypatch, capsys, path) -> int:
    code, out, err = run_main(monkeypatch, capsys, "flows", str(path), "--format", "csv")
    assert code in (0, 2), (path, code, err)
    assert "Traceback" not in err and "internal error" not in err, (path, err)
    if code == 2:
        errors = [line for line in err.splitlines() if "error:" in line]
        assert len(errors) == 1 and str(path) in errors[0], (path, err)
    else:
        assert out.startswith("src,dst,sport,dport,proto,packets,bytes")
    return code


def test_copied_subset(monkeypatch, capsys):
    codes = [check_one(monkeypatch, capsys, p) for p in sorted(TCPDUMP.iterdir())]
    assert codes.count(0) >= 35 and codes.count(2) >= 4


@pytest.mark.skipif(not SHARED_TCPDUMP.is_dir(), reason="tcpdump corpus not beside the repo")
def test_whole_tcpdump_corpus(monkeypatch, capsys):
    codes = [check_one(monkeypatch, capsys, p) for p in sorted(SHARED_TCPDUMP.iterdir())]
    assert len(codes) >= 830
    assert codes.count(0) > 500


def check_members(monkeypatch, capsys, command: str, first, second) -> int:
    """``command`` with two corpus captures given as the bond's members."""
    extra = ["-p", "layer3+4"] if command == "analyze" else []
    code, out, err = run_main(monkeypatch, capsys, command, "--member", f"eth0={first}",
                              "--member", f"eth1={second}", *extra, "--format", "json")
    assert code in (0, 2), (first, second, code, err)
    assert "Traceback" not in err and "internal error" not in err, (first, second, err)
    if code == 2:
        errors = [line for line in err.splitlines() if "error:" in line]
        assert len(errors) == 1 and (str(first) in errors[0] or str(second) in errors[0])
    return code


@pytest.mark.parametrize("command", ["analyze", "infer"])
def test_copied_subset_as_member_captures(monkeypatch, capsys, command):
    files = sorted(TCPDUMP.iterdir())
    codes = [check_members(monkeypatch, capsys, command, a, b)
             for a, b in zip(files, files[1:] + files[:1], strict=True)]
    assert codes.count(0) >= 20


@pytest.mark.skipif(not SHARED_TCPDUMP.is_dir(), reason="tcpdump corpus not beside the repo")
@pytest.mark.parametrize("command", ["analyze", "infer"])
def test_whole_tcpdump_corpus_as_member_captures(monkeypatch, capsys, command):
    files = sorted(SHARED_TCPDUMP.iterdir())
    codes = [check_members(monkeypatch, capsys, command, a, b)
             for a, b in zip(files, files[1:] + files[:1], strict=True)]
    assert codes.count(0) > 300


def post_mortem_of(path) -> None:
    """The report's whole document for one capture, or the one clean error."""
    import hashscope
    from hashscope.analysis.postmortem import post_mortem
    from hashscope.errors import HashscopeError
    from hashscope.report.postmortem import summary
    from hashscope.report.write import document_json

    try:
        pm = post_mortem([str(path)], hashscope.get_policy("layer3+4"),
                         hashscope.make_setup(links="2"))
    except HashscopeError:
        return
    document_json(summary(pm, inputs=[str(path)], title="t", notes=[]))  # no NaN, no bytes


@pytest.mark.skipif(not SHARED_TCPDUMP.is_dir(), reason="tcpdump corpus not beside the repo")
def test_the_report_document_of_every_corpus_capture():
    for path in sorted(SHARED_TCPDUMP.iterdir()):
        post_mortem_of(path)


def test_report_pages_of_malformed_captures(monkeypatch, capsys, tmp_path):
    """The whole report, charts and page, of a few of the copied captures."""
    files = sorted(TCPDUMP.iterdir())[::8]
    for k, path in enumerate(files):
        code, out, err = run_main(monkeypatch, capsys, "report", str(path), "-o",
                                  str(tmp_path / str(k)))
        assert code in (0, 2), (path, code, err)
        assert "Traceback" not in err and "internal error" not in err, (path, err)
        if code == 0:
            assert (tmp_path / str(k) / "index.html").stat().st_size > 1000
