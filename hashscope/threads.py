"""Running a producer generator in a background thread, a few items ahead.

The compiled walkers and decoders release the GIL, so reading and decoding
batch k+1 overlaps with what the caller does with batch k. Exceptions raised
by the producer are raised again in the caller, at the point it would have
received the next item.
"""

from __future__ import annotations

import functools
import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

import numba
import numpy as np
from numba import njit, prange

T = TypeVar("T")


@njit(cache=True, parallel=True)
def _probe(a):
    total = 0
    for i in prange(a.shape[0]):
        total += a[i]
    return total


@functools.cache
def threads_may_share_kernels() -> bool:
    """Whether two threads may run compiled parallel loops at the same time.

    numba's OpenMP and TBB layers allow it; its workqueue layer, which numba falls back
    to where neither is installed (a slim container without libgomp1), aborts the whole
    process. A tiny parallel loop makes numba choose its layer."""
    _probe(np.zeros(1, np.int64))
    return numba.threading_layer() != "workqueue"

_DONE = object()


class _Failure:
    def __init__(self, exc: BaseException):
        self.exc = exc


def background(items: Iterator[T], depth: int = 4) -> Iterator[T]:
    """Yield what ``items`` yields, produced in a thread at most ``depth`` items ahead
    (in the caller's thread where threads may not share compiled parallel loops)."""
    if not threads_may_share_kernels():
        yield from items
        return
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            put(_Failure(exc))
        finally:
            close = getattr(items, "close", None)
            if close:
                close()

    thread = threading.Thread(target=produce, name="hashscope-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item
    finally:
        stop.set()
        thread.join()
