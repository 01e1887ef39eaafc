"""The background reader thread: order kept, errors handed over, early exit stops it."""

import threading

import pytest

from hashscope.pipeline import background


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
