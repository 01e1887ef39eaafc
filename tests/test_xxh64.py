"""The compiled XXH64 used for flow keys is the xxhash package's xxh64, bit for bit."""

import numpy as np
import pytest
import xxhash

from hashscope.xxh64 import xxh64_words


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 9, 16])
@pytest.mark.parametrize("seed", [0, 1, 0xDEADBEEF])
def test_matches_the_xxhash_package(n, seed):
    rng = np.random.default_rng(n * 1000 + seed % 997)
    for _ in range(20):
        words = rng.integers(0, 2**64, n, dtype=np.uint64)
        expected = xxhash.xxh64(words.astype("<u8").tobytes(), seed=seed).intdigest()
        assert int(xxh64_words(words, seed)) == expected
