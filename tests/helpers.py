"""Shared paths and helpers for the tests (imported by name: `from helpers import ...`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
TCPDUMP = DATA / "tcpdump"
MADE = DATA / "made"
VECTORS = DATA / "vectors"
#: The full tcpdump test-suite corpus, beside the repository in the workplace (not in a
#: user's checkout): the tests over the whole folder run only where it exists.
SHARED_TCPDUMP = ROOT.parent / "shared" / "captures" / "tcpdump-tests"

TSHARK = shutil.which("tshark")
needs_tshark = pytest.mark.skipif(TSHARK is None, reason="tshark is not installed")


def run_cli(*args: str, stdin: bytes | None = None, env: dict | None = None
            ) -> subprocess.CompletedProcess:
    """Run the real ``hashscope`` command in a subprocess."""
    return subprocess.run([sys.executable, "-m", "hashscope", *map(str, args)],
                          input=stdin, capture_output=True, timeout=600,
                          env={**os.environ, **(env or {})})


def run_main(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """Run the real CLI entry point in-process: (exit status, stdout, stderr)."""
    from hashscope import cli

    monkeypatch.setattr(sys, "argv", ["hashscope", *map(str, args)])
    monkeypatch.delenv("HASHSCOPE_DEBUG", raising=False)
    with pytest.raises(SystemExit) as info:
        cli.main()
        sys.exit(0)
    out, err = capsys.readouterr()
    return info.value.code or 0, out, err


def real_packets(*first: Path) -> tuple[np.ndarray, int]:
    """The given captures, then every readable one of the copied tcpdump subset, as one
    packet table; and how many files were read (unreadable corpus files are skipped: they
    are other tests' business)."""
    from hashscope import read_packets

    tables = []
    for p in [*first, *sorted(TCPDUMP.glob("*.pcap*"))]:
        try:
            tables.append(read_packets([str(p)]))
        except Exception:  # noqa: BLE001
            continue
    return np.concatenate(tables), len(tables)
