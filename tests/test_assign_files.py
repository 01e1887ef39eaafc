"""assign's files: Parquet holds what CSV holds; the compiled CSV writer quotes as csv does."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from helpers import ROOT, run_main

DEMO = ROOT / "captures" / "two-links-backup.pcapng"


@pytest.mark.parametrize("args", [
    ["-p", "layer3+4", "--links", "4"],
    ["-p", "layer2", "--links", "a,b,c", "--down", "b", "--mode", "broadcast"],
    ["-p", "lagg:l2,l3,l4", "--seed", "7", "--links", "3", "--local", "198.51.100.10"],
])
def test_parquet_holds_what_csv_holds(monkeypatch, capsys, tmp_path, args):
    code, text, err = run_main(monkeypatch, capsys, "assign", DEMO, *args)
    assert code == 0, err
    csv = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    out = tmp_path / "a.parquet"
    code, nothing, err = run_main(monkeypatch, capsys, "assign", DEMO, *args,
                                  "--format", "parquet", "-o", out)
    assert code == 0 and nothing == "", err
    pq = pd.read_parquet(out)
    assert list(pq.columns) == ["packet", "hash", "link", "member"]
    assert (pq["packet"].to_numpy() == np.arange(len(csv))).all()
    hexes = [f"{int(h):08x}" if pd.notna(h) else "" for h in pq["hash"]]
    assert hexes == list(csv["hash"])
    assert list(pq["link"].astype(str)) == list(csv["link"])
    assert list(pq["member"].astype(str)) == list(csv["member"])


def test_parquet_needs_a_file(monkeypatch, capsys):
    code, out, err = run_main(monkeypatch, capsys, "assign", DEMO, "-p", "layer2",
                              "--format", "parquet")
    assert code == 2 and err.strip() == "hashscope: error: --format parquet needs --output FILE"


def test_member_names_that_need_quotes(monkeypatch, capsys):
    code, text, err = run_main(monkeypatch, capsys, "assign", DEMO, "-p", "layer3+4",
                               "--links", 'eth"0,eth 1')
    assert code == 0, err
    got = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    assert set(got["member"]) == {'eth"0', "eth 1"}
    assert '"eth""0"' in text  # quoted and doubled, as Python's csv module writes it
