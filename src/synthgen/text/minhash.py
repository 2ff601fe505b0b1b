"""MinHash sketches of shingle sets, and the banded-LSH parameters that find near duplicates.

A shingle's hash is CRC-32 of its UTF-8 (stable across processes, unlike ``hash``).
Signatures use datasketch's ``affine32`` permutations; bands and rows are chosen so that a
pair at the threshold becomes a candidate with probability >= 0.99. Exact Jaccard of two
hash sets (``jaccard``) confirms a candidate, so a report never rests on a noisy estimate.
"""

from __future__ import annotations

import math
import zlib
from functools import lru_cache
from typing import TYPE_CHECKING

from synthgen.errors import ConfigError
from synthgen.text.normalize import shingles

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    U32 = NDArray[np.uint32]

__all__ = ["Sketcher", "hash_shingles", "jaccard", "lsh_params", "shingle_hashes"]


def hash_shingles(items: list[str]) -> U32:
    """CRC-32 of each shingle's UTF-8, in order, duplicates kept."""
    import numpy as np

    hashes = map(zlib.crc32, map(str.encode, items))
    return np.fromiter(hashes, dtype=np.uint32, count=len(items))


def shingle_hashes(text: str) -> U32:
    """The shingle set of ``text`` as sorted, unique CRC-32 values (uint32)."""
    import numpy as np

    return np.unique(hash_shingles(shingles(text)))


def jaccard(a: U32, b: U32) -> float:
    """Jaccard similarity of two hash sets given as arrays of unique values (any order), as
    ``shingle_hashes`` returns them."""
    import numpy as np

    both = np.concatenate((a, b))
    both.sort()
    inter = int(np.count_nonzero(both[1:] == both[:-1]))
    union = a.size + b.size - inter
    return inter / union if union else 1.0


def _candidate_probability(similarity: float, bands: int, rows: int) -> float:
    """The LSH S-curve: chance that a pair with this Jaccard shares at least one band."""
    return 1.0 - (1.0 - similarity**rows) ** bands


@lru_cache(maxsize=64)
def lsh_params(threshold: float, num_perm: int, recall: float = 0.99) -> tuple[int, int]:
    """(bands, rows) with bands * rows <= num_perm such that a pair with Jaccard ``threshold``
    becomes a candidate with probability >= ``recall``, minimising the false-positive area
    (the S-curve integrated over [0, threshold]). If no split reaches ``recall``, the split
    that comes closest.

    Not datasketch's ``MinHashLSH`` choice: that one weighs false positives against false
    negatives, where a dedup report needs a floor on recall."""
    if not 0.0 < threshold <= 1.0:
        raise ConfigError(f"similarity threshold must be in (0, 1], got {threshold}")
    if not 0.0 < recall < 1.0:
        raise ConfigError(f"LSH recall must be in (0, 1), got {recall}")
    if num_perm < 1:
        raise ConfigError(f"num_perm must be at least 1, got {num_perm}")
    steps = 200
    grid = [(k + 0.5) * threshold / steps for k in range(steps)]
    best: tuple[float, int, int] | None = None
    for rows in range(1, num_perm + 1):
        p_band = threshold**rows
        if p_band >= 1.0:
            bands = 1
        else:
            needed = math.log(1.0 - recall) / math.log1p(-p_band) if p_band > 0.0 else math.inf
            if needed * rows > num_perm + 1:
                break  # more rows only need more bands
            bands = max(1, math.ceil(needed))
            while _candidate_probability(threshold, bands, rows) < recall:
                bands += 1  # guards against rounding in the logarithms
        if bands * rows > num_perm:
            continue
        area = sum(_candidate_probability(s, bands, rows) for s in grid) / steps
        if best is None or area < best[0]:
            best = (area, bands, rows)
    if best is not None:
        return best[1], best[2]
    splits = [(num_perm // rows, rows) for rows in range(1, num_perm + 1)]
    return max(splits, key=lambda br: _candidate_probability(threshold, *br))


class Sketcher:
    """MinHash signatures and LSH band keys for one threshold.

    Signatures equal those of ``datasketch.MinHash(num_perm, seed, hashfunc=crc32_of_utf8)``
    updated with the shingles, truncated to the ``bands * rows`` permutations the bands use;
    computing them here with numpy skips building a MinHash object per document.
    """

    def __init__(
        self, threshold: float, num_perm: int = 128, seed: int = 1, recall: float = 0.99
    ) -> None:
        import numpy as np
        from datasketch import MinHash

        self.threshold = threshold
        self.num_perm = num_perm
        self.bands, self.rows = lsh_params(threshold, num_perm, recall)
        used = self.bands * self.rows
        template = MinHash(num_perm=num_perm, seed=seed, scheme="affine32")
        a, b = template.permutations
        self._a: U32 = np.ascontiguousarray(a[:used], dtype=np.uint32)
        self._b: U32 = np.ascontiguousarray(b[:used], dtype=np.uint32)
        # Random odd multipliers: a band's key is a multiply-add hash of its rows (mod 2**64).
        mult = np.random.default_rng(seed).integers(0, 2**62, size=self.rows, dtype=np.uint64)
        self._mult = mult * np.uint64(2) + np.uint64(1)
        # MurmurHash3 fmix32 constants (datasketch keeps its own private), made once: numpy
        # scalars cost ~100 ns each to build.
        self._fmix = tuple(np.uint32(c) for c in (16, 0x85EBCA6B, 13, 0xC2B2AE35))

    @property
    def width(self) -> int:
        """Number of signature values the bands use."""
        return self.bands * self.rows

    def signature(self, hashes: U32) -> U32:
        """MinHash signature (uint32[width]) of a non-empty array of shingle hashes
        (duplicates allowed)."""
        # MurmurHash3's fmix32, the pre-mix of datasketch's affine32 scheme, done in place.
        s16, m1, s13, m2 = self._fmix
        mixed = hashes >> s16
        mixed ^= hashes
        mixed *= m1
        mixed ^= mixed >> s13
        mixed *= m2
        mixed ^= mixed >> s16
        permuted = mixed[:, None] * self._a  # uint32 arithmetic wraps: that is the mod 2**32
        permuted += self._b
        result: U32 = permuted.min(axis=0)
        return result

    def band_keys(self, signature: U32) -> list[int]:
        """One integer per band; equal keys mean equal bands (up to ~2**-32 odds)."""
        import numpy as np

        rows = signature.reshape(self.bands, self.rows).astype(np.uint64)
        result: list[int] = (rows @ self._mult).tolist()  # integer matmul wraps mod 2**64
        return result

    def band_key_matrix(self, signatures: NDArray[np.uint32]) -> NDArray[np.uint64]:
        """Band keys of many signatures at once: (n, width) -> (n, bands), equal to
        ``band_keys`` row by row; worked out band by band to bound the temporary memory."""
        import numpy as np

        out = np.empty((signatures.shape[0], self.bands), dtype=np.uint64)
        for band in range(self.bands):
            rows = signatures[:, band * self.rows : (band + 1) * self.rows].astype(np.uint64)
            out[:, band] = rows @ self._mult
        return out
