"""Vectorized address text equals the standard library's."""

import ipaddress

import numpy as np

from hashscope.flows.addresses import format_addresses, format_macs, mac_text


def test_addresses_and_macs_match_the_standard_library():
    rng = np.random.default_rng(3)
    n = 2000
    ver = rng.choice(np.array([0, 4, 6], np.uint8), n)
    hi = rng.integers(0, 2**64, n, dtype=np.uint64)
    lo = rng.integers(0, 2**64, n, dtype=np.uint64)
    lo[::7] = 0  # runs of zeros for IPv6 compression
    got = format_addresses(ver, hi, lo)
    for v, h, low, text in zip(ver, hi, lo, got, strict=True):
        if v == 4:
            assert text == str(ipaddress.IPv4Address(int(low) & 0xFFFFFFFF))
        elif v == 6:
            assert text == str(ipaddress.IPv6Address((int(h) << 64) | int(low)))
        else:
            assert text == ""
    macs = rng.integers(0, 2**48, n, dtype=np.uint64)
    present = rng.random(n) < 0.9
    for m, p, text in zip(macs, present, format_macs(macs, present), strict=True):
        assert text == (mac_text(int(m)) if p else "")


def test_ipv6_zero_compression_for_every_pattern_of_zero_groups():
    """All 256 patterns of zero and non-zero groups (runs, ties, all zero, none), with
    non-zero groups of 1 to 4 hex digits: the text equals ipaddress's."""
    rng = np.random.default_rng(5)
    values = []
    for pattern in range(256):
        for _ in range(4):
            groups = [0 if pattern >> g & 1 else int(rng.choice([1, 0xA, 0xFF, 0x1000, 0xFFFF]))
                      for g in range(8)]
            values.append(sum(v << (16 * (7 - g)) for g, v in enumerate(groups)))
    hi = np.array([v >> 64 for v in values], np.uint64)
    lo = np.array([v & (2**64 - 1) for v in values], np.uint64)
    got = format_addresses(np.full(len(values), 6, np.uint8), hi, lo)
    assert list(got) == [str(ipaddress.IPv6Address(v)) for v in values]
