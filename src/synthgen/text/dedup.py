"""Exact and near-duplicate detection (DESIGN.md §6).

Texts are normalised (NFKC, lower case, punctuation and symbols dropped, whitespace collapsed)
and cut into shingles: word 3-grams, or character 5-grams for texts that do not split into
words (short texts, Chinese or Japanese without spaces). Exact duplicates share a blake2b hash
of the normalised text. Near duplicates are found with MinHash signatures (datasketch's
``affine32`` permutations; the shingle hash is CRC-32 of the UTF-8 shingle) and banded LSH,
with bands and rows chosen so that a pair at the threshold becomes a candidate with
probability ≥ 0.99. Candidates are confirmed with the exact Jaccard of the two shingle sets, so
a report never rests on a noisy estimate.

The band tables are plain dicts rather than ``datasketch.MinHashLSH``: its dict storage keeps a
set per bucket and builds a bytes key per band on every query and insert. For 100,000 entries
at 16 bands x 6 rows it measured 550 MB and ≈70 µs per document; these tables take ≈150 MB and
≈7 µs. Signatures still come from datasketch's permutations (see ``Sketcher``).
"""

from __future__ import annotations

import hashlib
import math
import unicodedata
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Literal, NamedTuple

from synthgen.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from synthgen.data.example import Example

    U32 = NDArray[np.uint32]

__all__ = [
    "DedupIndex",
    "Match",
    "Sketcher",
    "dedup",
    "jaccard",
    "lsh_params",
    "normalize",
    "shingle_hashes",
    "shingles",
]

WORD_NGRAM = 3
CHAR_NGRAM = 5
# Mean characters per "word" above which the text is treated as unsegmented (CJK, Thai...):
# English averages about 6 including the space.
_MAX_MEAN_WORD = 15


class _StripTable(dict[int, "int | None"]):
    """A ``str.translate`` table that deletes punctuation (P*), symbols (S*) and invisible format
    characters (Cf: soft hyphen, zero-width space). Filled on demand: building it up front
    would scan all 1.1 million code points on import."""

    def __missing__(self, codepoint: int) -> int | None:
        category = unicodedata.category(chr(codepoint))
        value = None if category[0] in "PS" or category == "Cf" else codepoint
        self[codepoint] = value
        return value


_STRIP = _StripTable()


def normalize(text: str) -> str:
    """NFKC, lower case, punctuation and symbols dropped, whitespace collapsed to one space."""
    folded = unicodedata.normalize("NFKC", text).lower().translate(_STRIP)
    return " ".join(folded.split())


def _shingles_of(norm: str) -> list[str]:
    words = norm.split(" ")
    if len(words) >= WORD_NGRAM and len(norm) <= _MAX_MEAN_WORD * len(words):
        return list(map(" ".join, zip(words, words[1:], words[2:], strict=False)))
    if len(norm) >= CHAR_NGRAM:
        return [norm[i : i + CHAR_NGRAM] for i in range(len(norm) - CHAR_NGRAM + 1)]
    return [norm]


def shingles(text: str) -> list[str]:
    """Shingles of ``normalize(text)``: word 3-grams; character 5-grams when the text has fewer
    than 3 words or does not split into words; the whole text when shorter than 5 characters."""
    return _shingles_of(normalize(text))


def _hash_shingles(items: list[str]) -> U32:
    """CRC-32 of each shingle's UTF-8, in order, duplicates kept."""
    import numpy as np

    return np.array(list(map(zlib.crc32, map(str.encode, items))), dtype=np.uint32)


def shingle_hashes(text: str) -> U32:
    """The shingle set of ``text`` as sorted, unique CRC-32 values (uint32)."""
    import numpy as np

    return np.unique(_hash_shingles(shingles(text)))


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
    that comes closest."""
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
        # MurmurHash3 fmix32 constants, made once: numpy scalars cost ~100 ns each to build.
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


@dataclass(frozen=True)
class Match:
    """Why a text was judged a duplicate, and of which indexed entry."""

    reason: Literal["exact_duplicate", "near_duplicate"]
    key: str
    tag: str
    jaccard: float


class _Features(NamedTuple):
    digest: bytes
    shingles: U32
    band_keys: list[int]


class DedupIndex:
    """A growing index of texts answering "is this a copy or near copy of one already in?".

    ``threshold`` is the Jaccard similarity of shingle sets at or above which a text counts as
    a near duplicate. Built for streaming: one ``check_and_add`` per candidate, ≈60 µs each
    for a 60-word text; 100,000 entries take ≈220 MB.
    """

    def __init__(self, threshold: float = 0.8, num_perm: int = 128, seed: int = 1) -> None:
        self.threshold = threshold
        self._sketcher = Sketcher(threshold, num_perm=num_perm, seed=seed)
        self._keys: list[str] = []
        self._tags: list[str] = []
        # Shingle hashes as raw uint32 bytes (a tenth of the memory of sets); made unique
        # only when a candidate is confirmed, which is rare, to keep np.unique off the hot path.
        self._shingles: list[bytes] = []
        self._ids: dict[str, int] = {}
        self._exact: dict[bytes, int] = {}
        # band key -> entry id, or a list of ids once two entries share the key
        self._tables: list[dict[int, int | list[int]]] = [{} for _ in range(self._sketcher.bands)]

    @property
    def params(self) -> tuple[int, int]:
        """The LSH (bands, rows) in use."""
        return self._sketcher.bands, self._sketcher.rows

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: object) -> bool:
        return key in self._ids

    def check(self, text: str) -> Match | None:
        """The entry ``text`` duplicates (exact first, else the most similar near one), or None."""
        return self._match(self._features(text))

    def add(self, key: str, text: str, tag: str = "accepted") -> None:
        """Index ``text`` under ``key`` (unique) without checking it."""
        self._add(key, tag, self._features(text))

    def check_and_add(self, key: str, text: str, tag: str = "accepted") -> Match | None:
        """``check(text)``; if it matched nothing, also ``add(key, text, tag)``."""
        features = self._features(text)
        match = self._match(features)
        if match is None:
            self._add(key, tag, features)
        return match

    def features(self, text: str) -> _Features:
        """The sketch of ``text``, to :meth:`check_features` and then :meth:`add_features`
        without computing it twice (a check and an add are the hot path of curation)."""
        return self._features(text)

    def check_features(self, features: _Features) -> Match | None:
        return self._match(features)

    def add_features(self, key: str, features: _Features, tag: str = "accepted") -> None:
        self._add(key, tag, features)

    def _features(self, text: str) -> _Features:
        norm = normalize(text)
        digest = hashlib.blake2b(norm.encode(), digest_size=16).digest()
        hashes = _hash_shingles(_shingles_of(norm))
        keys = self._sketcher.band_keys(self._sketcher.signature(hashes))
        return _Features(digest, hashes, keys)

    def _match(self, features: _Features) -> Match | None:
        import numpy as np

        entry = self._exact.get(features.digest)
        if entry is not None:
            return Match("exact_duplicate", self._keys[entry], self._tags[entry], 1.0)
        candidates: set[int] = set()
        for table, band_key in zip(self._tables, features.band_keys, strict=True):
            hit = table.get(band_key)
            if hit is None:
                continue
            if isinstance(hit, int):
                candidates.add(hit)
            else:
                candidates.update(hit)
        if not candidates:
            return None
        mine = np.unique(features.shingles)
        best: tuple[float, int] | None = None
        for cand in sorted(candidates):
            other = np.unique(np.frombuffer(self._shingles[cand], dtype=np.uint32))
            similarity = jaccard(mine, other)
            if similarity >= self.threshold and (best is None or similarity > best[0]):
                best = (similarity, cand)
        if best is None:
            return None
        return Match("near_duplicate", self._keys[best[1]], self._tags[best[1]], best[0])

    def _add(self, key: str, tag: str, features: _Features) -> None:
        if key in self._ids:
            raise ValueError(f"key {key!r} is already in the dedup index")
        entry = len(self._keys)
        self._keys.append(key)
        self._tags.append(tag)
        self._shingles.append(features.shingles.tobytes())
        self._ids[key] = entry
        self._exact.setdefault(features.digest, entry)
        for table, band_key in zip(self._tables, features.band_keys, strict=True):
            hit = table.get(band_key)
            if hit is None:
                table[band_key] = entry
            elif isinstance(hit, int):
                table[band_key] = [hit, entry]
            else:
                hit.append(entry)


def dedup(
    examples: Iterable[Example],
    *,
    threshold: float = 0.8,
    against: Iterable[Example] = (),
) -> tuple[list[Example], list[tuple[Example, Match]]]:
    """Keep the first of every group of exact or near duplicates, in input order.

    Examples that copy one in ``against`` (the seeds, say) are dropped too; their matches carry
    tag ``"seed"`` and key ``"seed:<i>"``; matches of earlier examples have key ``"example:<i>"``.
    Returns (kept, [(dropped example, match), ...]).
    """
    index = DedupIndex(threshold=threshold)
    for i, seed in enumerate(against):
        index.add(f"seed:{i}", seed.dedup_text(), tag="seed")
    kept: list[Example] = []
    dropped: list[tuple[Example, Match]] = []
    for i, example in enumerate(examples):
        match = index.check_and_add(f"example:{i}", example.dedup_text(), tag="accepted")
        if match is None:
            kept.append(example)
        else:
            dropped.append((example, match))
    return kept, dropped
