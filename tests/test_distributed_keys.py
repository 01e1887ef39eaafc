"""The FreeBSD lagg key search split into pieces: run one part after another in process, and
on a real local Dask cluster of two worker processes, the keys and count are those of the
search in one piece; and ``infer`` with its key searches on the cluster gives the
in-process candidates.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_freebsd_keysearch import SCENARIOS, _flows
from test_infer import lagg_split

from hashscope import read_packets
from hashscope.api import infer
from hashscope.hashes.freebsd.keysearch import (
    merge_scans,
    plan_scan,
    scan_pieces,
    search_keys,
    split_pieces,
)
from hashscope.hashes.freebsd.mbufhash import lagg_hash

#: (variant, flows): hash32_buf over flows of one capture, scanned (not counted from its
#: intervals): many keys fit (some 370 000 and 11 million), so the smallest of each part
#: must be merged
CASES = [("djb", 40), ("djb", 12)]


@pytest.fixture(scope="module")
def scenario_flows() -> np.ndarray:
    return _flows(read_packets([str(SCENARIOS[0])]))


def observed(scenario_flows, variant: str, n_flows: int) -> tuple[np.ndarray, np.ndarray]:
    """The first flows and the member each takes under a lagg key, ports in another order."""
    rows = scenario_flows[:n_flows]
    h, _ = lagg_hash(rows, "l2,l3,l4", 0x2545F491, variant)
    return rows, np.array([2, 0, 1])[h % np.uint32(3)]


def same_search(a, b) -> None:
    assert a.count == b.count and a.keys.dtype == b.keys.dtype == np.uint32
    assert a.keys.tolist() == b.keys.tolist() and a.order.tolist() == b.order.tolist()
    assert (a.power_of_two, a.rows_used, a.note) == (b.power_of_two, b.rows_used, b.note)


@pytest.fixture(scope="module")
def cluster():
    """A real local cluster (``distributed.LocalCluster``): two worker processes of one
    thread each."""
    pytest.importorskip("distributed")
    from hashscope.distributed.cluster import Cluster

    cluster = Cluster(workers=2)
    try:
        assert cluster.local.processes and len(cluster.local.workers) == 2
        assert {w["nthreads"] for w in
                cluster.client.scheduler_info(n_workers=-1)["workers"].values()} == {1}
        yield cluster
    finally:
        cluster.close()


def counted(run, calls: list):
    def counting(plan, pieces):
        calls.append(len(pieces[0]))
        return run(plan, pieces)
    return counting


@pytest.mark.parametrize("limit", [1, 16, 1000])
def test_the_search_in_parts_is_the_search(scenario_flows, limit):
    """The value space in 7 parts, each scanned by itself in process, merged."""
    variant, n_flows = CASES[0]
    rows, member = observed(scenario_flows, variant, n_flows)
    whole = search_keys(rows, member, 3, variant=variant, limit=limit)
    parts = []

    def one_by_one(plan, pieces):
        split = split_pieces(*pieces, 7)
        assert len(split) == 7 and all(len(lo) for lo, _ in split)
        for k in (0, 1):  # every piece once, in order
            assert np.concatenate([s[k] for s in split]).tolist() == pieces[k].tolist()
        parts.extend(scan_pieces(plan, lo, hi) for lo, hi in split)
        return parts

    same_search(search_keys(rows, member, 3, variant=variant, limit=limit, run=one_by_one),
                whole)
    assert len(parts) == 7 and sum(c > 0 for c, _ in parts) > 1
    assert whole.count > limit and len(whole.keys) == limit


def test_fnv_pieces_merge_as_one_scan(scenario_flows):
    """FNV-1: some pieces of a plan scanned at once, or in parts merged (a sample: the whole
    value space takes seconds)."""
    from hashscope.hashes.freebsd.hashbytes import lagg_hash_bytes
    from hashscope.hashes.freebsd.keysearch import _unique_rows

    rows, member = observed(scenario_flows, "fnv", 7)
    b, length, _ = lagg_hash_bytes(rows, "l2,l3,l4", "fnv")
    plan = plan_scan(*_unique_rows(b, length, member), 3, True, 20)
    lo, hi = plan.pieces()
    assert lo[0] == 0 and hi[-1] == 1 << 32 and len(lo) == (1 << 32) // (hi[0] - lo[0])
    lo, hi = lo[::32], hi[::32]  # 32 pieces spread over the values (strided views)
    count, keys = scan_pieces(plan, lo, hi)
    assert count > 20 and len(keys) == 20
    merged = merge_scans([scan_pieces(plan, a, z) for a, z in split_pieces(lo, hi, 5)], 20)
    assert merged[0] == count and merged[1].tolist() == keys.tolist()


@pytest.mark.parametrize(("variant", "n_flows"), CASES)
def test_the_search_on_dask_is_the_search(cluster, scenario_flows, variant, n_flows):
    from hashscope.distributed.keys import TASKS_PER_THREAD, dask_scan

    rows, member = observed(scenario_flows, variant, n_flows)
    calls = []
    there = search_keys(rows, member, 3, variant=variant, limit=100,
                        run=counted(dask_scan(cluster), calls))
    same_search(there, search_keys(rows, member, 3, variant=variant, limit=100))
    # one scan, of enough pieces for TASKS_PER_THREAD tasks on each worker
    assert len(calls) == 1 and calls[0] >= 2 * TASKS_PER_THREAD


def plain(candidate) -> dict:
    """A candidate as plain values (its arrays as lists), to compare."""
    ev = {k: v.tolist() if isinstance(v, np.ndarray) else v
          for k, v in vars(candidate.evaluation).items()}
    return {**vars(candidate), "evaluation": ev}


def test_infer_with_the_key_search_on_dask(cluster, tmp_path, monkeypatch):
    """Three ports of a FreeBSD 14 lagg (FNV-1: a full 32-bit scan) from a real capture; only
    its lagghash set tried (each other set's FNV-1 search on these flows is one more full
    scan, both ways)."""
    from hashscope.analysis import candidates
    from hashscope.distributed import key_searcher

    monkeypatch.setattr(candidates, "FREEBSD_LAYERS", ("l3,l4",))
    files, _ = lagg_split(tmp_path, 3, "14.0", "l3,l4", 0x1234ABCD)
    [here] = infer(files, None)
    calls = []
    [there] = infer(files, None, key_search_run=counted(key_searcher(cluster), calls))
    assert here.explained and here.best.freebsd == "14.0" and here.best.seed is not None
    assert len(calls) == 1
    assert (there.explained, there.reason) == (here.explained, here.reason)
    assert [plain(c) for c in there.candidates] == [plain(c) for c in here.candidates]
