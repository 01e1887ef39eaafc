"""``assign`` on a Dask cluster (:class:`~.cluster.Cluster`): every packet's member, in
capture order, the same rows as in process.

One task per file hashes its packets and writes their members (hash, whether it has one,
link) as a Parquet part of about 5 bytes a packet into a folder beside the output, which
the workers must share with the client; the client then writes the output from the parts
in file order, through the same writers as in process, which number the packets. A policy
whose members depend on the order of the frames (balance-rr) passes its state from file
to file: its tasks run one after the other.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from hashscope.analysis.analyze import assigned_batches, packet_assigner
from hashscope.analysis.direction import LocalHost
from hashscope.capture.interfaces import files, settings
from hashscope.capture.reader import CaptureReader, WarningHandler
from hashscope.errors import HashscopeError
from hashscope.hashes.policy import Assigner, Assignment, Policy, Setup

from .cluster import Cluster, no_stdin, one_thread


def assign_task(assigner: Assigner, path, extra, local: LocalHost | None, part: str,
                after=None) -> tuple[Assigner, list]:
    """The worker's task for one file: its members into ``part``; (the assigner as it
    is after the file, the file's warnings). ``after``: the task before (ordered
    policies wait for it, and take its assigner)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    one_thread()
    if after is not None:
        assigner = after[0]
    reader = CaptureReader([path, *extra])
    schema = pa.schema([("hash", pa.uint32()), ("has_hash", pa.bool_()), ("link", pa.int8())])
    with pq.ParquetWriter(part, schema) as writer:
        for _, a in assigned_batches(reader, assigner, local):
            writer.write_table(pa.table({"hash": a.hash.astype(np.uint32),
                                         "has_hash": a.has_hash,
                                         "link": a.link.astype(np.int8)}, schema=schema))
    return assigner, reader.warnings


def _batches(parts: list[Path]) -> Iterator[tuple[None, Assignment]]:
    """The parts' members, batch by batch, in order."""
    import pyarrow.parquet as pq

    for part in parts:
        for b in pq.ParquetFile(part).iter_batches(batch_size=1 << 20):
            yield None, Assignment(b.column(0).to_numpy(zero_copy_only=False),
                                   b.column(1).to_numpy(zero_copy_only=False),
                                   b.column(2).to_numpy(zero_copy_only=False).astype(np.int64))


@contextmanager
def assign_dask(cluster: Cluster, paths: Sequence, policy: Policy, setup: Setup,
                local: LocalHost | None, output: Path | None,
                on_warning: WarningHandler | None = None
                ) -> Iterator[Iterator[tuple[None, Assignment]]]:
    """Context manager: every packet's member, batch by batch in capture order (as
    :func:`hashscope.analysis.analyze.assign` gives them, without the packet tables), the
    files hashed on ``cluster`` into parts beside ``output``, removed on leaving."""
    capture_files = files(paths)
    no_stdin(capture_files)
    if output is None and not cluster.here:
        raise HashscopeError("assign --scheduler writes through storage the workers share: "
                             "give --output FILE there")
    assigner = packet_assigner(policy, setup)  # SetupError here, not on a worker
    base = output.parent if output is not None else None
    try:
        folder = Path(tempfile.mkdtemp(prefix=".hashscope-parts-", dir=base))
    except OSError as exc:
        raise HashscopeError(f"{output}: cannot write beside it: {exc.strerror or exc}"
                             ) from None
    try:
        where, _ = cluster.placement(capture_files)
        client = cluster.client
        extra = settings(paths)
        parts = [folder / f"{k:06d}.parquet" for k in range(len(capture_files))]
        tasks, before = [], None
        for p, w, part in zip(capture_files, where, parts, strict=True):
            before = client.submit(assign_task, assigner, p, extra, local, str(part),
                                   before if assigner.ordered else None, workers=w,
                                   pure=False)
            tasks.append(before)
        for _, warnings in client.gather(tasks):
            for x in warnings:
                if on_warning:
                    on_warning(x)
        yield _batches(parts)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
