"""A growing index of sentence embeddings that answers "is this a paraphrase of one already
in?" (``--semantic-dedup``): MinHash (``synthgen.text.index``) catches reworded copies, not
"What's the capital of France?" / "Which city is France's capital?".

Vectors are L2-normalised, so the cosine is a dot product. Up to ``exact_up_to`` entries a
check is brute force over one float32 matrix (exact, and a few milliseconds at tens of
thousands); past that it compares only the candidates of a random-hyperplane LSH
(``synthgen.text.hyperplane``). Figures in BENCHMARKS.md, "Semantic duplicates".
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from synthgen.text.hyperplane import HyperplaneLSH

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from synthgen.text.encoder import Encoder

    F32 = NDArray[np.float32]

__all__ = ["SPLIT_MARGIN", "SemanticIndex", "SemanticMatch"]

EXACT_UP_TO = 32768
# The split joins examples this much below the dedup threshold into one cluster: what is
# accepted is already below the threshold, and leakage is worse than a smaller eval set
# (as MinHash dedups at 0.8 and clusters at 0.5).
SPLIT_MARGIN = 0.1
_MEMO = 4096  # embeddings of recent texts kept: the judge's pre-check and curation share them
_EXACT_PAIRS_UP_TO = 4096  # all-pairs by brute force up to this many texts, then LSH
_BLOCK = 1024
_WINDOW = 64  # in an LSH bucket, each member is compared with this many predecessors


class SemanticMatch(NamedTuple):
    key: str
    tag: str
    cosine: float


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


class SemanticIndex:
    """Embeddings under unique keys, each with a tag (``"seed"``, ``"accepted"``)."""

    def __init__(self, threshold: float, encoder: Encoder, *, exact_up_to: int = EXACT_UP_TO):
        import numpy as np

        self.threshold = threshold
        self.encoder = encoder
        self.exact_up_to = exact_up_to
        self._vectors: F32 = np.zeros((256, encoder.dim), dtype=np.float32)
        self._keys: list[str] = []
        self._tags: list[str] = []
        self._rows: dict[bytes, int] = {}  # text digest -> row, to reuse in the split
        self._memo: dict[str, F32] = {}
        self._lsh: HyperplaneLSH | None = None

    def __len__(self) -> int:
        return len(self._keys)

    def embed(self, texts: Sequence[str]) -> F32:
        """Vectors of ``texts``, one batch through the model for those not seen lately."""
        import numpy as np

        todo = list(dict.fromkeys(t for t in texts if t not in self._memo))
        if todo:
            if len(self._memo) + len(todo) > _MEMO:
                self._memo = {}
            self._memo.update(zip(todo, self.encoder.encode(todo), strict=True))
        if not texts:
            return np.zeros((0, self.encoder.dim), dtype=np.float32)
        return np.stack([self._memo[t] for t in texts])

    def check(self, vector: F32) -> SemanticMatch | None:
        """The most similar entry at or above the threshold, or None."""
        n = len(self._keys)
        if n == 0:
            return None
        if self._lsh is None:
            sims = self._vectors[:n] @ vector
            best = int(sims.argmax())
            cosine = float(sims[best])
        else:
            rows = self._lsh.candidates(self._lsh.keys(vector[None, :])[0])
            if rows.size == 0:
                return None
            sims = self._vectors[rows] @ vector
            at = int(sims.argmax())
            best, cosine = int(rows[at]), float(sims[at])
        if cosine < self.threshold:
            return None
        return SemanticMatch(self._keys[best], self._tags[best], cosine)

    def add(self, key: str, vector: F32, tag: str = "accepted", text: str | None = None) -> None:
        import numpy as np

        row = len(self._keys)
        if row == len(self._vectors):
            grown = np.zeros((2 * row, self._vectors.shape[1]), dtype=np.float32)
            grown[:row] = self._vectors
            self._vectors = grown
        self._vectors[row] = vector
        self._keys.append(key)
        self._tags.append(tag)
        if text is not None:
            self._rows.setdefault(_digest(text), row)
        if self._lsh is not None:
            self._lsh.add(row, self._lsh.keys(vector[None, :])[0])
        elif row + 1 >= self.exact_up_to:
            self._lsh = HyperplaneLSH(self._vectors.shape[1], self.threshold)
            for i, keys in enumerate(self._lsh.keys(self._vectors[: row + 1])):
                self._lsh.add(i, keys)

    def add_many(self, items: Sequence[tuple[str, str, str]]) -> None:
        """:meth:`add` of each (key, text, tag), embedded in batches (a resume re-embeds what
        the journal accepted: nothing is stored but the texts)."""
        for start in range(0, len(items), _BLOCK):
            chunk = items[start : start + _BLOCK]
            vectors = self.encoder.encode([text for _, text, _ in chunk])
            for (key, text, tag), vector in zip(chunk, vectors, strict=True):
                self.add(key, vector, tag, text=text)

    def vectors(self, texts: Sequence[str]) -> F32:
        """Vectors of ``texts``: the stored ones where indexed, the rest embedded."""
        import numpy as np

        out = np.zeros((len(texts), self.encoder.dim), dtype=np.float32)
        missing = []
        for i, text in enumerate(texts):
            row = self._rows.get(_digest(text))
            if row is None:
                missing.append(i)
            else:
                out[i] = self._vectors[row]
        if missing:
            out[missing] = self.encoder.encode([texts[i] for i in missing])
        return out

    def neighbours(self, texts: Sequence[str]) -> list[tuple[int, int]]:
        """(i, j), i < j, of ``texts`` whose cosine is at least the split's threshold
        (``threshold - SPLIT_MARGIN``): pairs the split keeps on one side."""
        return similar_pairs(self.vectors(texts), self.threshold - SPLIT_MARGIN)


def similar_pairs(vectors: F32, threshold: float) -> list[tuple[int, int]]:
    """(i, j), i < j, of unit ``vectors`` with cosine >= ``threshold``: every pair by brute
    force up to a few thousand, else the pairs sharing an LSH band (a window per bucket)."""
    import numpy as np

    n = len(vectors)
    found: list[tuple[int, int]] = []
    if n <= _EXACT_PAIRS_UP_TO:
        for start in range(0, n, _BLOCK):
            sims = vectors[start : start + _BLOCK] @ vectors.T
            rows, cols = np.nonzero(sims >= threshold)
            rows = rows + start
            keep = rows < cols
            found.extend(zip(rows[keep].tolist(), cols[keep].tolist(), strict=True))
        return found
    lsh = HyperplaneLSH(vectors.shape[1], threshold)
    keys = lsh.keys(vectors)
    codes: set[int] = set()
    for band in range(lsh.tables):
        order = np.argsort(keys[:, band], kind="stable")
        ordered = keys[order, band]
        for offset in range(1, _WINDOW + 1):
            same = np.nonzero(ordered[offset:] == ordered[:-offset])[0]
            if same.size == 0:
                break
            a, b = order[same], order[same + offset]
            lo, hi = np.minimum(a, b), np.maximum(a, b)
            close = np.einsum("ij,ij->i", vectors[lo], vectors[hi]) >= threshold
            codes.update((lo[close].astype(np.int64) * n + hi[close]).tolist())
    return [(code // n, code % n) for code in sorted(codes)]
