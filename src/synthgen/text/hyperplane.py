"""Random-hyperplane LSH over unit vectors: the approximate-nearest-neighbour side of
:class:`~synthgen.text.semantic.SemanticIndex` once brute force grows slow.

A vector's bit per hyperplane is the sign of its dot product with it; two vectors at angle θ
agree on a bit with probability 1 − θ/π. ``tables`` bands of ``bits`` bits each: vectors
sharing a whole band are candidates, then confirmed by their exact cosine. ``bits`` is the
most that still finds a pair at the threshold cosine with probability ``recall`` in
``tables`` bands: fewer candidates, the same recall at the threshold (measured against brute
force in BENCHMARKS.md, "Semantic duplicates"). Pure numpy: no index library to build.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["HyperplaneLSH", "band_bits"]

TABLES = 32
RECALL = 0.995
MAX_BITS = 24


def band_bits(threshold: float, tables: int = TABLES, recall: float = RECALL) -> int:
    """The most bits per band for which a pair at cosine ``threshold`` shares a band in one
    of ``tables`` with probability >= ``recall``."""
    agree = 1.0 - math.acos(max(-1.0, min(1.0, threshold))) / math.pi
    per_table = 1.0 - (1.0 - recall) ** (1.0 / tables)  # what one band must catch
    bits = int(math.log(per_table) / math.log(agree)) if agree < 1.0 else MAX_BITS
    return max(1, min(MAX_BITS, bits))


class HyperplaneLSH:
    """Band tables of entry ids over ``dim``-dimensional unit vectors."""

    def __init__(self, dim: int, threshold: float, *, tables: int = TABLES, seed: int = 1):
        import numpy as np

        self.bits = band_bits(threshold, tables)
        self.tables = tables
        rng = np.random.default_rng(seed)
        self._planes = rng.standard_normal((dim, tables * self.bits)).astype(np.float32)
        self._weights = (1 << np.arange(self.bits, dtype=np.int64)).astype(np.int64)
        self._buckets: list[dict[int, list[int]]] = [{} for _ in range(tables)]

    def keys(self, vectors: NDArray[np.float32]) -> NDArray[np.int64]:
        """(n, tables) band keys of ``vectors`` (n, dim)."""
        import numpy as np

        signs = (vectors @ self._planes) > 0
        grouped = signs.reshape(len(vectors), self.tables, self.bits).astype(np.int64)
        keys: NDArray[np.int64] = grouped @ self._weights
        return keys

    def add(self, entry: int, keys: NDArray[np.int64]) -> None:
        for table, key in zip(self._buckets, keys.tolist(), strict=True):
            table.setdefault(key, []).append(entry)

    def candidates(self, keys: NDArray[np.int64]) -> NDArray[np.int64]:
        """Sorted distinct entries sharing a band with one vector's ``keys``."""
        import numpy as np

        found: list[int] = []
        for table, key in zip(self._buckets, keys.tolist(), strict=True):
            hit = table.get(key)
            if hit:
                found.extend(hit)
        return np.unique(np.asarray(found, dtype=np.int64))
