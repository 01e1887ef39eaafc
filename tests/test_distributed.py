"""Many capture files on Dask: a ring buffer of 70 files whose flows cross file boundaries
gives the same flow table and analysis in process, on a local cluster of 1 and 2 workers,
and on a real ``dask scheduler`` with a ``dask worker``; and the same as the unsplit
capture, balance-rr's counter and OVS balance-slb's buckets and rebalancing included.

The merges themselves (associative, interfaces renumbered by name) are checked without
Dask.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
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


def split(capture: Path, d: Path) -> list[Path]:
    """``capture`` split every 500 packets into pcapng files, as a tshark ring buffer."""
    subprocess.run([EDITCAP, "-c", "500", str(capture), str(d / "ring.pcapng")], check=True,
                   capture_output=True)
    files = sorted(d.glob("ring_*"))
    assert len(files) > 64
    return files


@pytest.fixture(scope="module")
def ring(tmp_path_factory) -> list[Path]:
    """The capture split every 500 packets: 70 pcapng files."""
    if EDITCAP is None:
        pytest.skip("editcap (Wireshark) is not installed")
    return split(CAPTURE, tmp_path_factory.mktemp("ring"))


@pytest.fixture(scope="module")
def in_time(tmp_path_factory) -> tuple[Path, list[Path]]:
    """The capture in time order (536 of its frames are not: two interfaces' frames
    merged), and that split into 70 files: a ring buffer whose files follow each other,
    as tcpdump and tshark write them."""
    if EDITCAP is None or shutil.which("reordercap") is None:
        pytest.skip("editcap and reordercap (Wireshark) are not installed")
    d = tmp_path_factory.mktemp("in-time")
    whole = d / "whole.pcapng"
    subprocess.run(["reordercap", str(CAPTURE), str(whole)], check=True, capture_output=True)
    parts = d / "ring"
    parts.mkdir()
    return whole, split(whole, parts)


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


@contextmanager
def real_cluster(tmp_path: Path, workers: list[tuple[str, Path]]):
    """A ``dask scheduler`` on 127.0.0.1 and a ``dask worker`` per (host, working folder),
    as subprocesses, always stopped; yields the scheduler's address."""
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
        for k, (host, cwd) in enumerate(workers):
            procs.append(subprocess.Popen(
                dask_command("worker", address, "--host", host, "--nthreads", "1",
                             "--nworkers", "1", "--no-dashboard",
                             "--preload", "hashscope.distributed.worker",  # as README says
                             "--local-directory", str(tmp_path / f"worker{k}")),
                env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True))
        deadline = time.monotonic() + 60
        from distributed import Client

        while True:  # the workers are up
            try:
                with Client(address, timeout="5s") as c:
                    c.wait_for_workers(len(workers), timeout=30)
                break
            except (OSError, TimeoutError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        yield address
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


@needs_dask
@needs_editcap
def test_real_scheduler_and_worker(ring, in_process, tmp_path):
    with real_cluster(tmp_path, [("127.0.0.1", tmp_path)]) as address:
        assert csv(*ring, "--scheduler", address) == in_process
        policy = ["-p", "lagg:l3,l4", "--links", "3", "--keys", "4"]
        assert analysis(*ring, *policy, "--scheduler", address) == analysis(*ring, *policy)


@needs_dask
@needs_editcap
def test_files_on_one_host_are_read_by_its_workers(ring, in_process, tmp_path):
    # two "hosts" (127.0.0.2 and 127.0.0.1); the ring is only where the first one's worker
    # runs (its working folder, the paths relative): every file must go to that worker
    here, elsewhere = ring[0].parent, tmp_path / "empty"
    elsewhere.mkdir()
    with real_cluster(tmp_path, [("127.0.0.2", here), ("127.0.0.1", elsewhere)]) as address:
        names = [p.name for p in ring]
        r = run_cli("flows", *names, "--format", "csv", "--scheduler", address)
        assert r.returncode == 0, r.stderr.decode()
        assert r.stdout == in_process


def test_without_dask_one_clear_line(tmp_path):
    (tmp_path / "distributed.py").write_text("raise ImportError('not installed')\n")
    r = run_cli("flows", CAPTURE, "--workers", "2", env={"PYTHONPATH": os.pathsep.join(
        [str(tmp_path), str(ROOT)])})
    assert r.returncode == 2
    assert b"pip install 'hashscope[dask]'" in r.stderr


def analysis(*args) -> dict:
    """``hashscope analyze ... -f json``, without the findings about the capture's own
    statistics (pcapng ISBs: editcap does not copy them into the files it splits)."""
    r = run_cli("analyze", *args, "--format", "json")
    assert r.returncode == 0, r.stderr.decode()
    doc = json.loads(r.stdout)
    doc["findings"] = [f for f in doc["findings"] if f["id"] != "data-quality-drops"]
    return doc


@needs_dask
@needs_editcap
@pytest.mark.parametrize("policy", [
    ["-p", "layer3+4", "--links", "3"],  # hashed frame by frame
    ["-p", "lagg:l3,l4", "--links", "3", "--keys", "4"],  # by signature, random keys
    ["-p", "layer2", "--mode", "balance-rr", "--links", "3"],  # a counter over the frames
    ["-p", "ovs:balance-slb", "--links", "3", "--rebalance-interval", "1000"],  # buckets
])
def test_analysis_across_files_is_one_pass(in_time, policy):
    # each file read apart and merged (in process, and on 2 workers) is the unsplit
    # capture read in one pass; the order-dependent policies carry their state over
    whole, files = in_time
    one_pass = analysis(whole, *policy)
    assert analysis(*files, *policy) == one_pass
    assert analysis(*files, *policy, "--workers", "2") == one_pass
    moved = one_pass["policies"][0]["members"]
    assert sum(m["packets"] for m in moved) == one_pass["sent_packets"]


@needs_dask
@needs_editcap
def test_files_out_of_time_order_are_warned_once(ring):
    # frames of two interfaces merged out of order: the files overlap in time
    r = run_cli("analyze", *ring, "-p", "layer2", "--mode", "balance-rr", "--links", "3")
    assert r.returncode == 0, r.stderr.decode()
    said = [x for x in r.stderr.decode().splitlines() if "overlap the one before" in x]
    assert len(said) == 1 and "of the stream's 70 files" in said[0]


@needs_dask
def test_member_captures_on_workers():
    # captures taken on the members: one task joins them in time order
    files = sorted((ROOT / "captures" / "scenarios" / "iperf3-P4-lacp").glob("ens*.pcap*"))
    assert len(files) == 4
    here = analysis(*files, "-p", "layer3+4")
    assert analysis(*files, "-p", "layer3+4", "--workers", "2") == here
    assert here["policies"][0]["observed_vs_predicted"]["agreement"]["flows"] > 0.9


def test_part_merge_is_associative(ring):
    from hashscope.analysis.parts import merge_all_parts, merge_parts
    from hashscope.analysis.reading import file_read
    from hashscope.analysis.run import plan_run
    from hashscope.api import get_policy, make_setup
    from hashscope.capture.interfaces import survey

    files = [str(p) for p in ring[:7]]
    peeked = survey(files)
    plan = plan_run(peeked, [get_policy("layer3+4"), get_policy("lagg:l3,l4")],
                    make_setup(links="3"), keys=24, timeline=True)
    parts = [file_read(plan, p, None)[0] for p in peeked.peeks]
    left = parts[0]
    for x in parts[1:]:
        left = merge_parts(left, x)
    right = parts[-1]
    for x in reversed(parts[:-1]):
        right = merge_parts(x, right)
    # as it travels between workers: its loads stacked into a few buffers, and back
    buffers: list = []
    sent = pickle.dumps(left, protocol=5, buffer_callback=buffers.append)
    assert len(buffers) < 40 and sum(len(la) for la in left.loads) == 25  # not 2 a key
    travelled = pickle.loads(sent, buffers=buffers)
    for x in (right, merge_all_parts(parts, plan.empty()), travelled):
        assert (x.flows.keys == left.flows.keys).all()
        for la, lb in zip(x.loads, left.loads, strict=True):
            for a, b in zip(la, lb, strict=True):
                assert (a.bytes == b.bytes).all() and (a.packets == b.packets).all()
                assert (a.unknown_packets, a.unknown_bytes) == (b.unknown_packets,
                                                                b.unknown_bytes)
                assert (a.flow_links is None) == (b.flow_links is None)
                if a.flow_links is not None:
                    assert (a.flow_links == b.flow_links).all()
        assert (x.bins.timeline().bytes == left.bins.timeline().bytes).all()
        assert x.observed[1].tolist() == left.observed[1].tolist()


@needs_dask
@needs_editcap
@pytest.mark.parametrize("policy", [["-p", "layer3+4"], ["-p", "layer2", "--mode",
                                                         "balance-rr"]])
def test_assign_on_workers_is_in_process(ring, tmp_path, policy):
    args = [*ring, *policy, "--links", "3"]
    rows = {}
    for name, more in (("here", []), ("workers", ["--workers", "2"])):
        r = run_cli("assign", *args, "-o", tmp_path / f"{name}.csv", *more)
        assert r.returncode == 0, r.stderr.decode()
        rows[name] = (tmp_path / f"{name}.csv").read_bytes()
    assert rows["here"] == rows["workers"]
    assert rows["here"].count(b"\n") == 34975  # the header and every packet
    assert not list(tmp_path.glob(".hashscope-parts-*"))  # the parts are removed


@needs_dask
def test_progress_comes_from_inside_a_task():
    # a file's task (here: one that sleeps 3 s) is reported while it runs, from the
    # events a task sends (as the reader's progress handler does), then in full when done
    from hashscope.distributed.cluster import Cluster, TaskProgress

    said = []
    with Cluster(workers=2) as cluster:
        c = cluster.client
        running = c.submit(time.sleep, 3, pure=False)
        stop = cluster.progress([running], [1000], said.append)
        c.submit(TaskProgress(0), 123, pure=False).result()  # "123 bytes read"
        deadline = time.monotonic() + 3
        while not said and time.monotonic() < deadline:
            time.sleep(0.05)
        during = list(said)
        running.result()
        time.sleep(0.5)
        stop()
    assert during == [123]
    assert said[-1] == 1000


@needs_dask
def test_report_on_workers_is_in_process(tmp_path):
    # the post-mortem of member captures: analysis on the cluster, infer's key search too
    files = sorted((ROOT / "captures" / "scenarios" / "iperf3-P4-lacp").glob("ens*.pcap"))
    docs = []
    for name, more in (("here", []), ("workers", ["--workers", "2"])):
        r = run_cli("report", *files, "-o", tmp_path / name, *more)
        assert r.returncode == 0, r.stderr.decode()
        docs.append((tmp_path / name / "summary.json").read_bytes())
    assert docs[0] == docs[1]
    assert json.loads(docs[0])["findings"]
