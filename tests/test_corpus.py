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
