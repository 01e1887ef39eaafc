"""The odds of a hash: how many random flows it takes before every member carries one.

A flow's member is, for a good hash, a draw from the members with fixed shares: equal
(``1/n`` each) for Linux's and FreeBSD's hashes modulo n, unequal for a switch that
hashes into 8 buckets dealt round the members (:func:`bucket_shares`). The figures are
exact: inclusion-exclusion for "every member used", and the multinomial distribution of
flows per member for the busiest member's share.
"""

from __future__ import annotations

from fractions import Fraction
from itertools import combinations
from math import exp, factorial, lgamma, log

import numpy as np

LEVELS = (0.5, 0.9, 0.95, 0.99)  #: the probabilities streams_for is asked for
MAX_STREAMS = 4096  #: streams_for gives up beyond (with a share near zero)


def uniform_shares(n: int) -> tuple[float, ...]:
    return (1.0 / n,) * n


def bucket_shares(n: int, buckets: int = 8) -> tuple[float, ...]:
    """Shares of n members when ``buckets`` hash buckets are dealt round them (Cisco-style
    port-channel load balancing: 3 members get 3, 3 and 2 buckets of 8)."""
    return tuple((buckets // n + (i < buckets % n)) / buckets for i in range(n))


def p_all_used(streams: int, shares: tuple[float, ...]) -> float:
    """The probability that ``streams`` independent flows use every member
    (inclusion-exclusion over the members left unused)."""
    n = len(shares)
    total = 0.0
    for j in range(n + 1):
        for left_out in combinations(range(n), j):
            rest = 1.0 - sum(shares[i] for i in left_out)
            total += (-1) ** j * max(rest, 0.0) ** streams
    return min(max(total, 0.0), 1.0)


def streams_for(p: float, shares: tuple[float, ...]) -> int | None:
    """The fewest streams that use every member with probability at least ``p`` (None when
    a member's share is zero or beyond :data:`MAX_STREAMS`)."""
    if min(shares) <= 0:
        return None
    k = len(shares)
    while k <= MAX_STREAMS:
        if p_all_used(k, shares) >= p:
            return k
        k += 1
    return None


def expected_busiest_share(streams: int, shares: tuple[float, ...]) -> float:
    """E[most flows on one member] / streams, for ``streams`` flows of equal size.

    E[max] = sum over c >= 0 of P(max > c). P(max <= c) comes from Poissonisation: with
    independent N_i ~ Poisson(k p_i), the counts given sum N_i = k are the multinomial, so
    P(max <= c) = P(every N_i <= c, sum N_i = k) / P(sum N_i = k): a convolution of
    truncated Poisson distributions (numpy, well scaled), for the c where it is not 0 or
    1 (c from ceil(k / n) - 1 until it reaches 1)."""
    if streams <= 0:
        return 0.0
    k, n = streams, len(shares)
    j = np.arange(k + 1)
    logfact = np.array([lgamma(x + 1.0) for x in j])
    pmfs = []
    for p in shares:
        lam = k * p
        pmfs.append(np.exp(j * log(lam) - lam - logfact) if lam > 0
                    else (j == 0).astype(float))
    at_k = exp(k * log(k) - k - lgamma(k + 1.0))  # P(Poisson(k) = k)
    expected = float(-(-k // n) - 1)  # P(max > c) = 1 below ceil(k / n)
    for c in range(-(-k // n) - 1, k):
        total = np.zeros(k + 1)
        total[0] = 1.0
        for pmf in pmfs:
            total = np.convolve(total, np.where(j <= c, pmf, 0.0))[: k + 1]
        below = min(total[k] / at_k, 1.0)
        expected += 1.0 - below
        if below > 1.0 - 1e-15:
            break
    return float(expected / k)


def odds_row(streams: int, shares: tuple[float, ...]) -> dict:
    """The odds of ``streams`` flows over members with these shares: P(every member used),
    the busiest member's expected share, and the streams needed for each of LEVELS."""
    return {"links": len(shares), "p_all_used": p_all_used(streams, shares),
            "expected_busiest_share": expected_busiest_share(streams, shares),
            "streams_for": {str(q): streams_for(q, shares) for q in LEVELS}}


def odds_table(streams: int, links: range = range(2, 9)) -> dict[str, list[dict]]:
    """:func:`odds_row` for each member count, for a uniform hash and for a switch's 8
    hash buckets dealt round the members (:func:`bucket_shares`)."""
    return {"uniform": [odds_row(streams, uniform_shares(n)) for n in links],
            "8-buckets": [odds_row(streams, bucket_shares(n)) for n in links]}


def curve(shares: tuple[float, ...], up_to: int) -> list[tuple[int, float]]:
    """(streams, P(every member used)) for 1..up_to streams."""
    return [(k, p_all_used(k, shares)) for k in range(1, up_to + 1)]


def exact_p_all_used(streams: int, n: int) -> Fraction:
    """:func:`p_all_used` for equal shares, in exact fractions (for checking)."""
    return sum((Fraction((-1) ** j * factorial(n), factorial(j) * factorial(n - j))
                * Fraction(n - j, n) ** streams for j in range(n + 1)), Fraction(0))
