"""Telling a compile from a cache hit, on a compiled function of a real file."""

from __future__ import annotations

import importlib.util

from hashscope.jit_cache import compiling, is_cached


def test_a_function_is_cached_once_compiled(tmp_path):
    src = tmp_path / "tiny.py"
    src.write_text("from numba import njit\n\n\n@njit(cache=True)\n"
                   "def twice(x):\n    return 2 * x\n")
    spec = importlib.util.spec_from_file_location("tiny", src)
    tiny = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tiny)
    assert not is_cached(tiny.twice)
    assert compiling([("tiny", 3, [tiny.twice])]) == (["tiny"], 3)
    assert tiny.twice(21) == 42
    assert is_cached(tiny.twice)
    assert compiling([("tiny", 3, [tiny.twice])]) == ([], 0)
