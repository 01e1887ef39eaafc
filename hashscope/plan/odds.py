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
from math import factorial

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

    E[max] = sum over c >= 0 of P(max > c), and P(max <= c) = streams! [x^streams]
    prod_i sum_{j <= c} (p_i x)^j / j! (the multinomial, member by member)."""
    if streams <= 0:
        return 0.0
    k = streams
    fact = [factorial(j) for j in range(k + 1)]
    expected = 0.0
    for c in range(k):
        poly = [1.0] + [0.0] * k
        for p in shares:
            term = [p ** j / fact[j] if j <= c else 0.0 for j in range(k + 1)]
            poly = [sum(poly[a] * term[d - a] for a in range(d + 1)) for d in range(k + 1)]
        expected += 1.0 - min(poly[k] * fact[k], 1.0)
    return expected / k


def curve(shares: tuple[float, ...], up_to: int) -> list[tuple[int, float]]:
    """(streams, P(every member used)) for 1..up_to streams."""
    return [(k, p_all_used(k, shares)) for k in range(1, up_to + 1)]


def exact_p_all_used(streams: int, n: int) -> Fraction:
    """:func:`p_all_used` for equal shares, in exact fractions (for checking)."""
    return sum((Fraction((-1) ** j * factorial(n), factorial(j) * factorial(n - j))
                * Fraction(n - j, n) ** streams for j in range(n + 1)), Fraction(0))
