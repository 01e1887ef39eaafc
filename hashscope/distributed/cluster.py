"""A Dask cluster to read capture files on: a local one, or a running scheduler's workers.

Workers run one thread each (numba's too); one worker per host loads the compiled code
before the others get tasks, since parallel first compiles into numba's cache are known
to crash. Each file's task goes to the workers of the hosts that have the file (all of
them when the storage is shared). Progress comes as events from inside the tasks.

A local cluster (``--workers``) starts in a thread: its workers share this host's files
and numba's cache, so meanwhile the client stats and peeks at the files and runs the
warm-up itself. Parts sent between workers are a few arrays each
(:class:`hashscope.analysis.parts.Part`'s pickled form): a benchmark's 2-worker run used
no more CPU than a 1-worker one.
"""

from __future__ import annotations

import logging
import os
import struct
import tempfile
import threading
import time
from collections.abc import Callable, Sequence

from hashscope.capture.reader import ProgressHandler
from hashscope.errors import HashscopeError

INSTALL = "pip install 'hashscope[dask]'"
#: each local worker's memory limit: a file's read takes at most 500 MB, the worker
#: itself about 300 MB, and it holds the small summaries of its files until they merge
WORKER_MEMORY = "2GiB"
PROGRESS_TOPIC = "hashscope-progress"
#: Dask starts its workers with MALLOC_TRIM_THRESHOLD_=65536, which also fixes glibc's
#: mmap threshold: every large array is then mapped and unmapped anew, and a file's task
#: took 1.9 times the CPU of the same read in process (benchmarks/dask.py). Local workers
#: start without it (for others: MALLOC_MMAP_THRESHOLD_, README)
NO_TRIM = "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"
PRELOAD = "hashscope.distributed.worker"  #: what each worker imports as it starts
PROGRESS_EVERY = 0.5  #: seconds between a task's progress events


class DaskMissing(HashscopeError):
    """--workers or --scheduler without Dask installed."""

    def __init__(self) -> None:
        super().__init__(f"--workers and --scheduler need Dask: {INSTALL}")

    def __reduce__(self):
        return type(self), ()


def distributed_module():
    """``distributed``, imported now (DaskMissing if it is not installed)."""
    try:
        import distributed
    except ImportError:
        raise DaskMissing() from None
    return distributed


def one_thread() -> None:
    """One numba thread in this worker process: the cluster's processes are the cores.

    NUMBA_NUM_THREADS is set to 1 and numba's configuration read again, before numba
    launches its threads (a worker imports numba before its nanny's environment applies).
    Where they were launched already, the variable is set back to their number: numba
    reads it again at every compile and refuses a different one. Not on a worker (a
    task's function run by the client): nothing."""
    if _worker() is None:
        return
    os.environ["NUMBA_NUM_THREADS"] = "1"
    try:
        import numba
        from numba.core import config
    except ImportError:
        return
    if config.NUMBA_NUM_THREADS != 1:
        try:
            config.reload_config()
        except RuntimeError:  # threads running: keep them, and use one
            os.environ["NUMBA_NUM_THREADS"] = str(config.NUMBA_NUM_THREADS)
    numba.set_num_threads(1)


def _worker():
    """The Dask worker running this task (None: not on a worker)."""
    try:
        from distributed import get_worker

        return get_worker()
    except (ImportError, ValueError):
        return None


def tiny_pcap(path: str) -> None:
    """A pcap of one Ethernet/IPv4/UDP frame: enough to load every compiled function."""
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28, 0, 0, 64, 17, 0, bytes([10, 0, 0, 1]),
                     bytes([10, 0, 0, 2]))
    frame = bytes(6) + bytes([2, 0, 0, 0, 0, 1]) + b"\x08\x00" + ip + struct.pack(
        "!HHHH", 1000, 2000, 8, 0)
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        f.write(struct.pack("<IIII", 1, 0, len(frame), len(frame)) + frame)


def warm_up(work: Callable[[str], object]) -> bool:
    """Run ``work`` (a run's task, given a capture's path) on a one-frame capture: what
    loads (or compiles into numba's cache) the compiled code the run's tasks use."""
    one_thread()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "warm-up.pcap")
        tiny_pcap(path)
        work(path)
    return True


def _probe(paths: list[str]) -> list[int]:
    """On a worker: each path's size on this host, -1 where it has no such file."""
    out = []
    for p in paths:
        try:
            out.append(os.path.getsize(p) if p != "-" else -1)
        except OSError:
            out.append(-1)
    return out


class TaskProgress:
    """Inside a task: the reader's progress, sent as events every PROGRESS_EVERY s."""

    def __init__(self, token: int):
        self.token, self.last = token, 0.0

    def __call__(self, done: int) -> None:
        now = time.monotonic()
        if now - self.last < PROGRESS_EVERY:
            return
        self.last = now
        worker = _worker()
        if worker is not None:
            worker.log_event(PROGRESS_TOPIC, (self.token, int(done)))


class Cluster:
    """A client to a new local cluster of ``workers`` processes of one thread each, or
    to the scheduler at ``scheduler`` (tcp://HOST:PORT). A context manager: leaving it
    closes the client (and the local cluster)."""

    def __init__(self, workers: int | None = None, scheduler: str | None = None):
        distributed = distributed_module()
        self._warm: set = set()
        self._client = self._local = self._failed = None
        #: whether the workers run on this host, with its files and numba's cache: the
        #: client then peeks, stats and warms up itself while the cluster starts
        self.here = scheduler is None
        if scheduler is not None:
            try:
                self._client = distributed.Client(scheduler, timeout="20s")
            except (OSError, TimeoutError) as exc:
                raise HashscopeError(f"--scheduler {scheduler}: cannot connect: {exc}"
                                     ) from None
            self._starting = None
        else:
            if workers is None or workers < 1:
                raise HashscopeError("--workers must be at least 1")
            self._starting = threading.Thread(target=self._start, args=(distributed, workers),
                                              name="hashscope-cluster", daemon=True)
            self._starting.start()

    def _start(self, distributed, workers: int) -> None:
        """In a thread: the local cluster and its client."""
        import dask

        try:
            with dask.config.set({NO_TRIM: None}):
                self._local = distributed.LocalCluster(
                    n_workers=workers, threads_per_worker=1, processes=True,
                    host="127.0.0.1", dashboard_address="127.0.0.1:0",
                    memory_limit=WORKER_MEMORY,
                    silence_logs=logging.CRITICAL,  # errors: ours
                    env={"NUMBA_NUM_THREADS": "1"}, preload=[PRELOAD])
            self._client = distributed.Client(self._local)
        except Exception as exc:  # told by the first use of the client
            self._failed = exc

    def _started(self) -> None:
        if self._starting is not None:
            self._starting.join()
            self._starting = None
        if self._failed is not None:
            raise HashscopeError(f"--workers: the local Dask cluster did not start: "
                                 f"{self._failed}")

    @property
    def client(self):
        """The Dask client (waiting for a local cluster to be up)."""
        self._started()
        return self._client

    @property
    def local(self):
        """The LocalCluster (None with --scheduler)."""
        self._started()
        return self._local

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._starting is not None:
            self._starting.join()
        if self._client is not None:
            self._client.close()
        if self._local is not None:
            self._local.close()

    def hosts(self) -> dict[str, list[str]]:
        """{host: its workers' addresses}, waiting for a first worker if none is up."""
        for _ in range(2):
            found: dict[str, list[str]] = {}
            for address, info in self.client.scheduler_info(n_workers=-1)["workers"].items():
                found.setdefault(info.get("host", address), []).append(address)
            if found:
                return found
            self.client.wait_for_workers(1, timeout=60)
        raise HashscopeError("the Dask cluster has no worker")

    def warm(self, name: str, work: Callable[[str], object]) -> None:
        """:func:`warm_up` with ``work`` on one worker of each host, once per ``name``
        (on this host: here, while the cluster may still be starting)."""
        if name in self._warm:
            return
        if self.here:
            warm_up(work)
        else:
            self.client.gather([self.client.submit(warm_up, work, workers=[ws[0]],
                                                   pure=False)
                                for ws in self.hosts().values()])
        self._warm.add(name)

    def placement(self, paths: Sequence) -> tuple[list[list[str] | None], list[int]]:
        """Where each file's task may run (None: anywhere: every host has it; else the
        workers of the hosts that have it), and its size (0 where no host has it: its
        read then says what is wrong)."""
        names = [str(p) for p in paths]
        if self.here:
            return [None] * len(names), [max(n, 0) for n in _probe(names)]
        hosts = self.hosts()
        sizes = self.client.gather({h: self.client.submit(_probe, names, workers=[ws[0]],
                                                          pure=False)
                                    for h, ws in hosts.items()})
        where, size = [], []
        for k in range(len(names)):
            have = [h for h in hosts if sizes[h][k] >= 0]
            size.append(max([sizes[h][k] for h in have], default=0))
            where.append(None if len(have) in (0, len(hosts))
                         else [w for h in have for w in hosts[h]])
        return where, size

    def map_chunks(self, work: Callable[[list], list], items: Sequence,
                   where: Sequence[list[str] | None]) -> list:
        """``work`` over ``items`` in a few tasks, not one each: the items that may run on
        the same workers (``where``, as :meth:`placement` gives) cut in order into one
        chunk per such worker. ``work(chunk)`` gives a result per item; all of them in
        ``items``' order. On this host: here, in one go."""
        if self.here:
            return list(work(list(items)))
        groups: dict[tuple | None, list[int]] = {}
        for k, w in enumerate(where):
            groups.setdefault(tuple(w) if w is not None else None, []).append(k)
        everyone = sum(len(ws) for ws in self.hosts().values())
        tasks = []
        for w, ks in groups.items():
            n = min(len(ks), len(w) if w is not None else everyone)
            for c in range(n):
                chunk = ks[c * len(ks) // n:(c + 1) * len(ks) // n]
                tasks.append((chunk, self.client.submit(
                    work, [items[k] for k in chunk], workers=list(w) if w else None,
                    pure=False)))
        out: list = [None] * len(items)
        for chunk, results in zip((c for c, _ in tasks),
                                  self.client.gather([f for _, f in tasks]), strict=True):
            for k, r in zip(chunk, results, strict=True):
                out[k] = r
        return out

    def tree(self, futures: list, merge: Callable):
        """The futures' results merged pairwise on the workers, neighbours only (their
        order kept): a balanced tree of ``merge`` tasks; the last future (None if none)."""
        level = list(futures)
        while len(level) > 1:
            pairs = [self.client.submit(merge, level[i], level[i + 1], pure=False)
                     for i in range(0, len(level) - 1, 2)]
            level = pairs + level[len(level) - len(level) % 2:]
        return level[0] if level else None

    def progress(self, futures: list, sizes: list[int], on_progress: ProgressHandler | None
                 ) -> Callable[[], None]:
        """Report bytes read to ``on_progress`` as the tasks run: the finished files' sizes
        plus what the running ones said (:class:`TaskProgress`, token = index). Returns
        a function that stops it."""
        if on_progress is None:
            return lambda: None
        lock, partial = threading.Lock(), [0] * len(sizes)

        def tell(k: int, n: int) -> None:
            with lock:
                partial[k] = max(partial[k], min(n, sizes[k]))
                on_progress(sum(partial))

        def event(ev) -> None:
            k, n = ev[1]
            if 0 <= k < len(sizes):
                tell(k, n)

        self.client.subscribe_topic(PROGRESS_TOPIC, event)
        index = {f.key: k for k, f in enumerate(futures)}

        def finished(f) -> None:
            tell(index[f.key], sizes[index[f.key]])

        for f in futures:
            f.add_done_callback(finished)

        def stop() -> None:
            self.client.unsubscribe_topic(PROGRESS_TOPIC)

        return stop


def no_stdin(paths: Sequence) -> None:
    """Standard input cannot be sent to a worker."""
    if any(str(p) == "-" for p in paths):
        raise HashscopeError("standard input (-) cannot be read on --workers or --scheduler")
