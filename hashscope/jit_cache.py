"""numba's on-disk cache: whether a compiled function will be loaded or compiled anew.

The compiled loops are cached in ``__pycache__`` beside their sources (``cache=True``).
The first run after an install, or after a source file changed, compiles them, which
takes tens of seconds; :func:`compiling` tells that case apart beforehand, so that the
command can say so instead of seeming to hang.
"""

from __future__ import annotations

from collections.abc import Iterable


def is_cached(dispatcher) -> bool:
    """True if numba's cache holds a compilation of ``dispatcher`` for this source file and
    this machine (any signature). Unknown (a numba without these internals): True."""
    try:
        return bool(dispatcher._cache._cache_file._load_index())
    except Exception:  # noqa: BLE001 - numba's internals; never a reason to fail
        return True


def compiling(stages: Iterable[tuple[str, int, list]]) -> tuple[list[str], int]:
    """Of stages (name, seconds it takes to compile, dispatchers it surely compiles), those
    that will compile: their names, and their seconds in all."""
    names, seconds = [], 0
    for name, secs, dispatchers in stages:
        if not all(is_cached(d) for d in dispatchers):
            names.append(name)
            seconds += secs
    return names, seconds
