"""The FreeBSD lagg key search's scan on a Dask cluster (``infer(key_search_run=...)``).

:func:`dask_scan` is a ``run`` for :func:`~hashscope.hashes.freebsd.keysearch.search_keys`:
the search is planned in process, its value space cut in order into about
:data:`TASKS_PER_THREAD` tasks per worker thread, each task scanning its pieces on one
numba thread; the answers merge as in process (counts add up, the smallest keys of all),
so the keys and count are the in-process ones exactly.
"""

from __future__ import annotations

import numpy as np

from hashscope.hashes.freebsd.hashbytes import MAX_BYTES
from hashscope.hashes.freebsd.keyscan import BLOCK
from hashscope.hashes.freebsd.keysearch import Run, ScanPlan, plan_scan, scan_pieces, split_pieces

from .cluster import Cluster, one_thread

TASKS_PER_THREAD = 4  #: tasks per worker thread (the last ones to finish wait less)


def _warm(path: str) -> int:
    """What loads (or compiles into numba's cache) the compiled scan: a plan of two made-up
    rows, one block of its values (:meth:`Cluster.warm`'s capture is not needed)."""
    b = np.arange(2 * MAX_BYTES, dtype=np.uint8).reshape(2, MAX_BYTES)
    plan = plan_scan(b, np.array([12, 14]), np.array([0, 1]), 3, True, 1)
    lo, _ = plan.pieces()
    return scan_pieces(plan, lo[:1], lo[:1] + BLOCK)[0]


def scan_task(plan: ScanPlan, lo: np.ndarray, hi: np.ndarray) -> tuple[int, np.ndarray]:
    """The worker's task: the pieces [lo, hi) of the plan, on one numba thread."""
    one_thread()
    return scan_pieces(plan, lo, hi)


def dask_scan(cluster: Cluster) -> Run:
    """A ``run`` scanning on ``cluster``'s workers (see the module); the compiled scan is
    warmed up first (:meth:`~.cluster.Cluster.warm`) before the first search's tasks."""
    def run(plan: ScanPlan, pieces) -> list[tuple[int, np.ndarray]]:
        cluster.warm("keys", _warm)
        client = cluster.client
        workers = client.scheduler_info(n_workers=-1)["workers"].values()
        threads = sum(int(w.get("nthreads", 1)) for w in workers) or 1
        shared = client.scatter(plan, broadcast=True, hash=False)
        tasks = [client.submit(scan_task, shared, lo, hi, pure=False)
                 for lo, hi in split_pieces(*pieces, TASKS_PER_THREAD * threads)]
        return client.gather(tasks)

    return run
