"""``--cache DIR``: a growing ring buffer re-reads only its new files, and the cached run
is the uncached one, byte for byte."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import ROOT, run_cli

CAPTURE = ROOT / "captures" / "two-links-backup.pcapng"
EDITCAP = shutil.which("editcap")
pytestmark = pytest.mark.skipif(EDITCAP is None, reason="editcap (Wireshark) is not "
                                "installed: it splits the capture into a ring buffer")


@pytest.fixture
def ring(tmp_path) -> list[Path]:
    subprocess.run([EDITCAP, "-c", "2000", str(CAPTURE), str(tmp_path / "ring.pcapng")],
                   check=True, capture_output=True)
    return sorted(tmp_path.glob("ring_*"))


def out(*args) -> bytes:
    r = run_cli(*args)
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout


def spoil(path: Path) -> None:
    """Overwrite the file's frames with zeros, keeping its size and modification time:
    only a run that reads it again can tell."""
    st = path.stat()
    data = bytearray(path.read_bytes())
    data[200:] = bytes(len(data) - 200)
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


@pytest.mark.parametrize("command", [
    ["flows", "--format", "csv"],
    ["analyze", "-p", "lagg:l3,l4", "--links", "3", "--keys", "3", "--format", "json"],
])
def test_a_growing_ring_reads_only_its_new_files(ring, tmp_path, command):
    cache = tmp_path / "cache"
    whole = out(*command, *ring)
    old = ring[:10]
    out(*command, *old, "--cache", cache)  # the ring so far
    assert len(list(cache.glob("*.parquet"))) == len(old)
    first = old[0].read_bytes()
    for f in old:  # the old files are not read again: their cache entries stand for them
        spoil(f)
    assert out(*command, *ring, "--cache", cache) == whole
    assert len(list(cache.glob("*.parquet"))) == len(ring)
    assert not list(cache.glob(".entry-*"))  # no half-written entry left
    old[0].write_bytes(first)  # a file written anew (a new time) is read again
    assert out(*command, *ring, "--cache", cache) == whole
    assert len(list(cache.glob("*.parquet"))) == len(ring) + 1


def test_other_options_are_other_entries(ring, tmp_path):
    cache = tmp_path / "cache"
    a = out("analyze", *ring[:3], "--links", "2", "-f", "json", "--cache", cache)
    b = out("analyze", *ring[:3], "--links", "3", "-f", "json", "--cache", cache)
    assert a != b
    assert len(list(cache.glob("*.parquet"))) == 6
    assert out("analyze", *ring[:3], "--links", "3", "-f", "json") == b


def test_a_damaged_entry_is_read_again(ring, tmp_path):
    cache = tmp_path / "cache"
    first = out("flows", *ring[:2], "-f", "csv", "--cache", cache)
    for entry in cache.glob("*.parquet"):
        entry.write_bytes(b"not parquet")
    assert out("flows", *ring[:2], "-f", "csv", "--cache", cache) == first


def test_an_unusable_cache_folder_is_one_line(ring, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = run_cli("flows", ring[0], "--cache", blocker / "sub")
    assert r.returncode == 2
    lines = r.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "--cache" in lines[0]
