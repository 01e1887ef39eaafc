"""Turning address columns into the text people read, vectorized (no Python per flow)."""

from __future__ import annotations

import numpy as np
from numba import njit

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_DECIMAL = np.array([str(i) for i in range(256)])


def _octets(values: np.ndarray, count: int) -> np.ndarray:
    """(N, count) big-endian bytes of integer values."""
    shifts = np.arange(count - 1, -1, -1, dtype=np.uint64) * np.uint64(8)
    return ((values.astype(np.uint64)[:, None] >> shifts) & np.uint64(0xFF)).astype(np.uint8)


def format_ipv4(values: np.ndarray) -> np.ndarray:
    """Dotted-quad text of IPv4 addresses held as integers."""
    parts = _DECIMAL[_octets(values, 4)]
    text = parts[:, 0]
    for i in range(1, 4):
        text = np.strings.add(np.strings.add(text, "."), parts[:, i])
    return text


def format_addresses(ip_ver: np.ndarray, hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """IPv4/IPv6 addresses as text; empty for packets that are not IP.

    IPv6 text as Python's ``ipaddress`` writes it (3.11: the longest run of two or more
    zero groups, the first of equal runs, becomes ``::``; no dotted IPv4 tail).
    """
    out = np.full(len(ip_ver), "", dtype=object)
    v4 = ip_ver == 4
    out[v4] = format_ipv4(lo[v4] & np.uint64(0xFFFFFFFF))
    v6 = ip_ver == 6
    if v6.any():
        chars = np.zeros((int(v6.sum()), 39), dtype=np.uint8)
        _ipv6_text(hi[v6], lo[v6], chars)
        out[v6] = chars.view("S39").ravel().astype("U39").astype(object)
    return out


@njit(cache=True)
def _ipv6_text(hi, lo, chars):
    """Write each address's text into a row of ``chars`` (zero-padded ASCII)."""
    hexd = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    groups = np.empty(8, np.int64)
    for i in range(hi.shape[0]):
        for g in range(4):
            groups[g] = np.int64((hi[i] >> np.uint64(48 - 16 * g)) & np.uint64(0xFFFF))
            groups[4 + g] = np.int64((lo[i] >> np.uint64(48 - 16 * g)) & np.uint64(0xFFFF))
        best, best_len, run, run_len = -1, 0, -1, 0
        for g in range(8):
            if groups[g] == 0:
                if run_len == 0:
                    run = g
                run_len += 1
                if run_len > best_len:
                    best, best_len = run, run_len
            else:
                run_len = 0
        if best_len < 2:
            best = -1
        k = 0
        g = 0
        while g < 8:
            if g == best:
                chars[i, k] = 58  # ':'
                chars[i, k + 1] = 58
                k += 2
                g += best_len
                continue
            if g > 0 and g != best + best_len:
                chars[i, k] = 58
                k += 1
            v = groups[g]
            started = False
            for shift in range(12, -1, -4):
                d = (v >> shift) & 0xF
                if d or started or shift == 0:
                    chars[i, k] = hexd[d]
                    k += 1
                    started = True
            g += 1


def mac_text(value: int) -> str:
    s = f"{value:012x}"
    return ":".join(s[i : i + 2] for i in range(0, 12, 2))


def format_macs(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    """MAC addresses as ``aa:bb:cc:dd:ee:ff``; empty where the link type has none."""
    octets = _octets(values, 6)
    chars = np.full((len(values), 17), ord(":"), dtype=np.uint8)
    chars[:, 0::3] = _HEX[octets >> 4]
    chars[:, 1::3] = _HEX[octets & 0x0F]
    text = chars.view("S17").ravel().astype("U17").astype(object)
    text[~present] = ""
    return text
