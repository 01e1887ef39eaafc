"""Turning address columns into the text people read, once per distinct value."""

from __future__ import annotations

import ipaddress

import numpy as np


def _by_unique(values: np.ndarray, fmt) -> np.ndarray:
    """Apply ``fmt`` to each distinct value only, then spread the results back."""
    if len(values) == 0:
        return np.array([], dtype=object)
    uniq, inverse = np.unique(values, return_inverse=True, axis=0)
    text = np.array([fmt(u) for u in uniq], dtype=object)
    return text[inverse.reshape(-1)]


def format_addresses(ip_ver: np.ndarray, hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """IPv4/IPv6 addresses as text; empty for packets that are not IP."""
    rows = np.stack([ip_ver.astype(np.uint64), hi, lo], axis=1)

    def fmt(row) -> str:
        v, h, low = (int(x) for x in row)
        if v == 4:
            return str(ipaddress.IPv4Address(low & 0xFFFFFFFF))
        if v == 6:
            return str(ipaddress.IPv6Address((h << 64) | low))
        return ""

    return _by_unique(rows, fmt)


def mac_text(value: int) -> str:
    s = f"{value:012x}"
    return ":".join(s[i : i + 2] for i in range(0, 12, 2))


def format_macs(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    """MAC addresses as ``aa:bb:cc:dd:ee:ff``; empty where the link type has none."""
    text = _by_unique(values, lambda v: mac_text(int(v)))
    return np.where(present, text, "") if len(values) else text
