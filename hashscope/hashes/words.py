"""32-bit words as the kernels load them: byte swaps and the 32-bit mask, compiled.

The kernels hash *memory words*: a field stored in network order (an address, a port,
an EtherType) is loaded little-endian on x86. A decoded column holds the network-order
*value*, so the word the kernel sees is that value byte-swapped: ``le32(bytes of a) ==
bswap32(a)``. The hash code calls these where that happens, so a reader sees it.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: 32-bit arithmetic carried in uint64: every result is reduced with ``& M32``.
M32 = np.uint64(0xFFFFFFFF)


@njit(cache=True)
def bswap16(x):
    """The x86 load of a 2-byte network-order field (a port, an EtherType)."""
    x = np.uint64(x) & np.uint64(0xFFFF)
    return ((x & np.uint64(0xFF)) << np.uint64(8)) | (x >> np.uint64(8))


@njit(cache=True)
def bswap32(x):
    """The x86 load of 4 network-order bytes (an IPv4 address, a port pair, an SPI)."""
    x = np.uint32(x)
    return ((x & np.uint32(0xFF)) << np.uint32(24)) | ((x & np.uint32(0xFF00)) << np.uint32(8)) \
        | ((x >> np.uint32(8)) & np.uint32(0xFF00)) | (x >> np.uint32(24))


@njit(cache=True)
def bswap64(x):
    """The x86 load of 8 network-order bytes (half of an IPv6 address)."""
    x = np.uint64(x)
    return (np.uint64(bswap32(x & M32)) << np.uint64(32)) | np.uint64(bswap32(x >> np.uint64(32)))
