"""The background reader thread: order kept, errors handed over, early exit stops it."""

import threading

import pytest
from helpers import ROOT, run_cli

from hashscope.threads import background


def test_items_in_order():
    assert list(background(iter(range(1000)), depth=3)) == list(range(1000))


def test_producer_error_reaches_the_consumer_after_earlier_items():
    def gen():
        yield 1
        yield 2
        raise ValueError("bad capture")

    got = []
    with pytest.raises(ValueError, match="bad capture"):
        for x in background(gen()):
            got.append(x)
    assert got == [1, 2]


def test_consumer_leaving_early_stops_the_producer():
    produced = []

    def gen():
        for i in range(10**6):
            produced.append(i)
            yield i

    for x in background(gen(), depth=2):
        if x == 5:
            break
    assert len(produced) < 20
    assert not any(t.name == "hashscope-reader" for t in threading.enumerate())


def test_commands_run_on_numbas_workqueue_layer():
    """Where neither OpenMP nor TBB is installed numba falls back to its workqueue layer,
    which aborts the process if two threads run parallel loops at once (analyze's reader
    and hash stages would): the stages then run in one thread, with the same results."""
    demo = ROOT / "captures" / "two-links-backup.pcapng"
    for cmd in (["analyze", demo, "--policy", "layer3+4", "--format", "json"],
                ["flows", demo, "--format", "csv"]):
        ref = run_cli(*cmd)
        fallback = run_cli(*cmd, env={"NUMBA_THREADING_LAYER": "workqueue"})
        assert ref.returncode == 0, ref.stderr
        assert fallback.returncode == 0, fallback.stderr
        assert fallback.stdout == ref.stdout
