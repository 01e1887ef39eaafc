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
