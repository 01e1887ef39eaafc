"""Turning address columns into the text people read, vectorized (no Python per flow)."""

from __future__ import annotations

import ipaddress

import numpy as np

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

    IPv6 text (with its zero compression) is made once per distinct address.
    """
    out = np.full(len(ip_ver), "", dtype=object)
    v4 = ip_ver == 4
    out[v4] = format_ipv4(lo[v4] & np.uint64(0xFFFFFFFF))
    v6 = np.flatnonzero(ip_ver == 6)
    if len(v6):
        pairs = np.stack([hi[v6], lo[v6]], axis=1)
        uniq, inverse = np.unique(pairs, axis=0, return_inverse=True)
        text = np.array([str(ipaddress.IPv6Address((int(h) << 64) | int(low)))
                         for h, low in uniq], dtype=object)
        out[v6] = text[inverse.reshape(-1)]
    return out


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
