"""Reading big-endian (network order) header fields from a byte buffer, compiled.

The readers return int64 (uint64 for 48 and 64 bits) so that every branch of a
decoder returns the same types (numba would otherwise unify mixed integer types
to float).
"""

import numpy as np
from numba import njit


@njit(cache=True)
def be16(b, p):
    return (np.int64(b[p]) << 8) | np.int64(b[p + 1])


@njit(cache=True)
def be32(b, p):
    return (np.int64(b[p]) << 24) | (np.int64(b[p + 1]) << 16) | (np.int64(b[p + 2]) << 8) | \
        np.int64(b[p + 3])


@njit(cache=True)
def be48(b, p):
    return (np.uint64(be16(b, p)) << np.uint64(32)) | np.uint64(be32(b, p + 2))


@njit(cache=True)
def be64(b, p):
    return (np.uint64(be32(b, p)) << np.uint64(32)) | np.uint64(be32(b, p + 4))
