"""The odds (hashscope.plan.odds) against exact fractions, brute-force enumeration of
every assignment for small cases, and a seeded simulation (loose tolerance)."""

from __future__ import annotations

from fractions import Fraction
from itertools import product

import numpy as np
import pytest

from hashscope.plan.odds import (
    bucket_shares,
    exact_p_all_used,
    expected_busiest_share,
    odds_table,
    p_all_used,
    streams_for,
    uniform_shares,
)


def enumerate_all(k: int, shares: tuple[Fraction, ...]) -> tuple[Fraction, Fraction]:
    """(P(all used), E[busiest] / k) by enumerating every assignment of k flows."""
    n = len(shares)
    p_all, busiest = Fraction(0), Fraction(0)
    for combo in product(range(n), repeat=k):
        p = Fraction(1)
        for m in combo:
            p *= shares[m]
        counts = np.bincount(combo, minlength=n)
        p_all += p if (counts > 0).all() else 0
        busiest += p * int(counts.max())
    return p_all, busiest / k


@pytest.mark.parametrize("n", range(2, 9))
def test_exact_fractions(n):
    for k in (1, n - 1, n, n + 1, 2 * n, 40):
        assert p_all_used(k, uniform_shares(n)) == pytest.approx(
            float(exact_p_all_used(k, n)), abs=1e-12)


@pytest.mark.parametrize("n,k", [(2, 1), (2, 5), (3, 3), (3, 6), (4, 4), (4, 7), (5, 6)])
@pytest.mark.parametrize("kind", ["uniform", "buckets"])
def test_brute_force(n, k, kind):
    shares = tuple(Fraction(1, n) for _ in range(n)) if kind == "uniform" else tuple(
        Fraction(8 // n + (i < 8 % n), 8) for i in range(n))
    p_all, busiest = enumerate_all(k, shares)
    floats = tuple(float(s) for s in shares)
    assert floats == (uniform_shares(n) if kind == "uniform" else bucket_shares(n))
    assert p_all_used(k, floats) == pytest.approx(float(p_all), abs=1e-12)
    assert expected_busiest_share(k, floats) == pytest.approx(float(busiest), abs=1e-12)


def test_streams_for_is_the_first_count_reaching_the_level():
    for n in range(2, 9):
        for q in (0.5, 0.9, 0.95, 0.99):
            k = streams_for(q, uniform_shares(n))
            assert exact_p_all_used(k, n) >= Fraction(q).limit_denominator(100)
            assert k == n or exact_p_all_used(k - 1, n) < q
    assert streams_for(0.9, uniform_shares(4)) == 13
    assert streams_for(0.9, (0.5, 0.5, 0.0)) is None


@pytest.mark.parametrize("n", [2, 3, 5, 8])
def test_simulation(n):
    rng = np.random.default_rng(n)
    k, trials = 12, 20000
    for shares in (uniform_shares(n), bucket_shares(n)):
        draws = rng.choice(n, size=(trials, k), p=shares)
        counts = np.stack([(draws == m).sum(1) for m in range(n)], 1)
        assert (counts > 0).all(1).mean() == pytest.approx(p_all_used(k, shares), abs=0.02)
        assert counts.max(1).mean() / k == pytest.approx(
            expected_busiest_share(k, shares), abs=0.02)


def test_large_counts_are_fast_and_sane():
    share = expected_busiest_share(2000, uniform_shares(8))
    assert 0.125 < share < 0.15
    t = odds_table(64)
    assert [r["links"] for r in t["uniform"]] == list(range(2, 9))
    assert t["uniform"][-1] == t["8-buckets"][-1]  # 8 members: one bucket each
