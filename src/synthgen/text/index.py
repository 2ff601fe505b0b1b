"""A growing index of texts that answers "is this a copy or a near copy of one already in?".

Exact duplicates share a blake2b hash of the normalised text; near duplicates share an LSH
band of their MinHash signatures (``synthgen.text.minhash``) and are then confirmed with the
exact Jaccard of the two shingle sets.

The band tables are plain dicts rather than ``datasketch.MinHashLSH``, whose dict storage
keeps a set per bucket and builds a bytes key per band on every query and insert: slower and
larger at the sizes a run reaches (figures in BENCHMARKS.md, "Dedup").
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, NamedTuple, Protocol

from synthgen.text.minhash import Sketcher, hash_shingles, jaccard
from synthgen.text.normalize import normalize, normalized_shingles

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    U32 = NDArray[np.uint32]

__all__ = ["DedupIndex", "Features", "Index", "Match", "sketch"]


@dataclass(frozen=True)
class Match:
    """Why a text was judged a duplicate, and of which indexed entry."""

    reason: Literal["exact_duplicate", "near_duplicate"]
    key: str
    tag: str
    jaccard: float


class Features(NamedTuple):
    """The sketch of one text: what the index compares and stores."""

    digest: bytes
    shingles: U32
    band_keys: list[int]


def sketch(sketcher: Sketcher, text: str) -> Features:
    """The :class:`Features` of ``text`` under ``sketcher``'s threshold."""
    norm = normalize(text)
    digest = hashlib.blake2b(norm.encode(), digest_size=16).digest()
    hashes = hash_shingles(normalized_shingles(norm))
    keys = sketcher.band_keys(sketcher.signature(hashes))
    return Features(digest, hashes, keys)


class Index(Protocol):
    """What curation needs of a dedup index: this in-memory one, or the one shared by the
    workers of a job (``synthgen.text.redis_index``)."""

    def check(self, text: str) -> Match | None: ...
    def add(self, key: str, text: str, tag: str = "accepted") -> None: ...
    def add_many(self, items: list[tuple[str, str, str]]) -> None: ...
    def features(self, text: str) -> Features: ...
    def check_features(self, features: Features) -> Match | None: ...
    def check_and_add_features(
        self, key: str, features: Features, tag: str = "accepted"
    ) -> Match | None: ...


class DedupIndex:
    """Texts indexed under unique keys, each with a tag (``"seed"``, ``"accepted"``, ...).

    ``threshold`` is the Jaccard similarity of shingle sets at or above which a text counts as
    a near duplicate. Built for streaming: one ``check_and_add`` per candidate (throughput and
    memory in BENCHMARKS.md, "Dedup").
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
        return self.check_features(self.features(text))

    def add(self, key: str, text: str, tag: str = "accepted") -> None:
        """Index ``text`` under ``key`` (unique) without checking it."""
        self.add_features(key, self.features(text), tag)

    def add_many(self, items: list[tuple[str, str, str]]) -> None:
        """:meth:`add` of each (key, text, tag)."""
        for key, text, tag in items:
            self.add(key, text, tag)

    def check_and_add(self, key: str, text: str, tag: str = "accepted") -> Match | None:
        """``check(text)``; if it matched nothing, also ``add(key, text, tag)``."""
        return self.check_and_add_features(key, self.features(text), tag)

    def features(self, text: str) -> Features:
        """The sketch of ``text``, to :meth:`check_features` and then :meth:`add_features`
        without computing it twice (a check and an add are the hot path of curation)."""
        return sketch(self._sketcher, text)

    def check_and_add_features(
        self, key: str, features: Features, tag: str = "accepted"
    ) -> Match | None:
        """:meth:`check_and_add` of a text already sketched."""
        match = self.check_features(features)
        if match is None:
            self.add_features(key, features, tag)
        return match

    def check_features(self, features: Features) -> Match | None:
        """:meth:`check` of a text already sketched."""
        entry = self._exact.get(features.digest)
        if entry is not None:
            return Match("exact_duplicate", self._keys[entry], self._tags[entry], 1.0)
        candidates = self._candidates(features.band_keys)
        if not candidates:
            return None
        import numpy as np

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

    def _candidates(self, band_keys: list[int]) -> set[int]:
        """Entries sharing at least one band with ``band_keys``."""
        found: set[int] = set()
        for table, band_key in zip(self._tables, band_keys, strict=True):
            hit = table.get(band_key)
            if hit is None:
                continue
            if isinstance(hit, int):
                found.add(hit)
            else:
                found.update(hit)
        return found

    def add_features(self, key: str, features: Features, tag: str = "accepted") -> None:
        """:meth:`add` of a text already sketched."""
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
