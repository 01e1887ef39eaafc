"""Many capture files on Dask: a ring buffer of 70 files whose flows cross file boundaries
gives the same flow table in process, on a local cluster of 1 and 2 workers, and on a real
``dask scheduler`` with a ``dask worker``; and the same flows as the unsplit capture.

The summary merge itself (associative, interfaces renumbered by name) is checked without
Dask.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import ROOT, run_cli

from hashscope.flows.read import file_summary, merge_all, merge_summaries, read_flows

CAPTURE = ROOT / "captures" / "two-links-backup.pcapng"
EDITCAP = shutil.which("editcap")
needs_editcap = pytest.mark.skipif(EDITCAP is None, reason="editcap (Wireshark) is not "
                                   "installed: it splits the capture into a ring buffer")
try:
    import distributed  # noqa: F401
    HAVE_DASK = True
except ImportError:
    HAVE_DASK = False
needs_dask = pytest.mark.skipif(not HAVE_DASK, reason="Dask is not installed "
                                "(pip install 'hashscope[dask]')")


@pytest.fixture(scope="module")
def ring(tmp_path_factory) -> list[Path]:
    """The capture split every 500 packets: 70 pcapng files, as a tshark ring buffer."""
    if EDITCAP is None:
        pytest.skip("editcap (Wireshark) is not installed")
    d = tmp_path_factory.mktemp("ring")
    subprocess.run([EDITCAP, "-c", "500", str(CAPTURE), str(d / "ring.pcapng")], check=True,
                   capture_output=True)
    files = sorted(d.glob("ring_*"))
    assert len(files) > 64
    return files


def csv(*args) -> bytes:
    r = run_cli("flows", *args, "--format", "csv")
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout


@pytest.fixture(scope="module")
def in_process(ring) -> bytes:
    return csv(*ring)


@needs_editcap
def test_ring_buffer_is_the_unsplit_capture(ring, in_process):
    # the same flows, packets, bytes, times and interfaces as the capture read whole
    assert in_process == csv(CAPTURE)
    parts = [file_summary(str(p)) for p in ring]
    seen: dict[tuple, int] = {}
    for s in parts:
        for k in map(tuple, s.keys.tolist()):
            seen[k] = seen.get(k, 0) + 1
    assert max(seen.values()) >= 50  # flows go on over 50 files: merged exactly
    assert sum(s.packets for s in parts) == read_flows([str(CAPTURE)]).packets


@needs_editcap
def test_merge_is_associative(ring):
    parts = [file_summary(str(p)) for p in ring[:9]]
    left = parts[0]
    for s in parts[1:]:
        left = merge_summaries(left, s)
    right = parts[-1]
    for s in reversed(parts[:-1]):
        right = merge_summaries(s, right)
    tree = merge_all(parts)
    for x in (right, tree):
        assert (x.keys == left.keys).all() and (x.stats == left.stats).all()
        assert (x.ifmask == left.ifmask).all()
        assert [i.name for i in x.interfaces] == [i.name for i in left.interfaces]
        assert x.packets == left.packets


def test_merge_renumbers_interfaces_by_name():
    import numpy as np

    from hashscope.capture.records import Interface
    from hashscope.flows.read import FlowSummary

    def summary(names, keys, masks, first):
        k = np.array([[x] * 8 for x in keys], np.uint64)
        stats = np.array([[1, 100, first, first + 5] for _ in keys], np.int64)
        return FlowSummary(k, stats, np.array([[m] for m in masks], np.uint64),
                           [Interface(n, 1, 65535, "f") for n in names], len(keys))

    a = summary(["eth0"], [7, 3], [1, 1], 10)
    b = summary(["eth1", "eth0"], [5, 3], [1, 3], 0)  # key 3 on both of b's interfaces
    m = merge_summaries(a, b)
    assert [i.name for i in m.interfaces] == ["eth0", "eth1"]
    assert m.keys[:, 0].tolist() == [7, 3, 5]  # in order of first appearance
    assert m.stats.tolist() == [[1, 100, 10, 15], [2, 200, 0, 15], [1, 100, 0, 5]]
    assert m.ifmask[:, 0].tolist() == [1, 3, 2]
    assert m.packets == 4


@needs_dask
@needs_editcap
@pytest.mark.parametrize("workers", ["1", "2"])
def test_local_cluster_is_in_process(ring, in_process, workers):
    assert csv(*ring, "--workers", workers) == in_process


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dask_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "distributed.cli.dask_" + args[0], *args[1:]]


@needs_dask
@needs_editcap
def test_real_scheduler_and_worker(ring, in_process, tmp_path):
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "NUMBA_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT),
                                                       os.environ.get("PYTHONPATH")]))}
    procs = []
    try:
        procs.append(subprocess.Popen(
            dask_command("scheduler", "--host", "127.0.0.1", "--port", str(port),
                         "--no-dashboard"),
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True))
        procs.append(subprocess.Popen(
            dask_command("worker", address, "--nthreads", "1", "--nworkers", "1",
                         "--no-dashboard", "--local-directory", str(tmp_path)),
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True))
        deadline = time.monotonic() + 60
        from distributed import Client

        while True:  # the worker is up
            try:
                with Client(address, timeout="5s") as c:
                    c.wait_for_workers(1, timeout=30)
                break
            except (OSError, TimeoutError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        assert csv(*ring, "--scheduler", address) == in_process
    finally:
        for p in procs:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


def test_without_dask_one_clear_line(tmp_path):
    (tmp_path / "distributed.py").write_text("raise ImportError('not installed')\n")
    r = run_cli("flows", CAPTURE, "--workers", "2", env={"PYTHONPATH": os.pathsep.join(
        [str(tmp_path), str(ROOT)])})
    assert r.returncode == 2
    assert b"pip install 'hashscope[dask]'" in r.stderr
