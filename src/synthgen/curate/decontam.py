"""Decontamination: drop generated examples that share word n-grams with a held-out set.

A model fine-tuned on text from its own evaluation set scores too well on it. Following the
GPT-3 paper (appendix C), an example is contaminated when one of its messages shares a word
13-gram with a held-out message, after the same normalisation dedup uses (NFKC, lower case,
no punctuation). Messages are compared one by one, system prompts never (a shared system
prompt would flag everything).

Held-out messages shorter than ``ngram`` words are indexed whole when they have at least
``min_words`` (8, as in GPT-3, which never went below 8): a held-out question of 9 words is
contamination when it appears verbatim inside a generated message, but a 4-word "Thank you
very much" is ordinary text, not a leak. Text that does not split into words (Chinese,
Japanese, Thai) is cut into characters instead, so a 13-gram is 13 characters there
(``synthgen.text.normalize.tokens``).

Memory: each distinct n-gram costs 12 bytes (an 8-byte blake2b hash in a sorted NumPy array
plus the 4-byte line it first appeared on), not the ~100 bytes of a Python set or dict entry:
10,000 held-out records of 330 words (3.1 million n-grams) keep 42 MB, with a peak of 170 MB
while they are sorted. Lookups are one vectorised ``searchsorted`` per example.
"""

from __future__ import annotations

import hashlib
import os
from array import array
from collections.abc import Iterable
from typing import TYPE_CHECKING

from synthgen.curate.drop import Drop
from synthgen.errors import ConfigError
from synthgen.text.normalize import tokens

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from synthgen.data.example import Example

__all__ = ["Decontaminator", "gram_hashes"]


def _hash(gram: list[str]) -> int:
    digest = hashlib.blake2b(" ".join(gram).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def gram_hashes(toks: list[str], n: int) -> list[int]:
    """The blake2b-64 hash of every ``n``-token window of ``toks``, in order."""
    return [_hash(toks[i : i + n]) for i in range(len(toks) - n + 1)]


class Decontaminator:
    """An index of a held-out set's n-grams; call it on an example to get a Drop or None."""

    def __init__(self, ngram: int = 13, *, min_words: int = 8, source: str | None = None) -> None:
        if ngram < 1:
            raise ConfigError(f"the decontamination n-gram must be at least 1 word (got {ngram})")
        if min_words < 1:
            raise ConfigError(f"min_words must be at least 1 (got {min_words})")
        self.ngram = ngram
        self.min_words = min_words
        self.source = source
        self.records = 0
        self._lengths: set[int] = set()
        self._pending_keys = array("Q")
        self._pending_lines = array("I")
        self._keys: NDArray[np.uint64] | None = None
        self._lines: NDArray[np.uint32] | None = None

    @classmethod
    def from_file(
        cls, path: str | os.PathLike[str], ngram: int = 13, *, min_words: int = 8
    ) -> Decontaminator:
        """Index every record of a dataset file (any format ``synthgen.data.seeds`` reads)."""
        from synthgen.data.seeds import read_records

        index = cls(ngram, min_words=min_words, source=os.path.basename(os.fspath(path)))
        for line, example in read_records(path):
            index.add_example(example, line)
        index._freeze()
        return index

    def add_example(self, example: Example, line: int) -> None:
        """Index the user and assistant messages of one held-out record."""
        self.records += 1
        for message in example.turns:
            self.add(message.content, line)

    def add(self, text: str, line: int) -> None:
        """Index one held-out text, remembering ``line`` for the drop detail."""
        toks = tokens(text)
        if len(toks) >= self.ngram:
            n = self.ngram
        elif len(toks) >= self.min_words:
            n = len(toks)
        else:
            return
        keys = gram_hashes(toks, n)
        self._lengths.add(n)
        self._pending_keys.extend(keys)
        self._pending_lines.extend([line] * len(keys))

    def __len__(self) -> int:
        """Distinct n-grams indexed."""
        self._freeze()
        return 0 if self._keys is None else int(self._keys.size)

    def _freeze(self) -> None:
        """Merge pending grams into the sorted arrays, keeping each gram's earliest line."""
        if not self._pending_keys:
            return
        import numpy as np

        keys = np.frombuffer(self._pending_keys, dtype=np.uint64)
        lines = np.frombuffer(self._pending_lines, dtype=f"u{self._pending_lines.itemsize}")
        if self._keys is not None and self._lines is not None:
            keys = np.concatenate((self._keys, keys))
            lines = np.concatenate((self._lines, lines))
        # Earlier entries come first, so the first occurrence is the earliest line.
        self._keys, first = np.unique(keys, return_index=True)
        self._lines = lines[first].astype(np.uint32)
        self._pending_keys = array("Q")
        self._pending_lines = array("I")

    def find(self, texts: Iterable[str]) -> tuple[int, int] | None:
        """``(held-out line, n)`` of the first n-gram ``texts`` share with the index, or None."""
        self._freeze()
        if self._keys is None or self._lines is None:
            return None
        import numpy as np

        keys: list[int] = []
        sizes: list[int] = []
        for text in texts:
            toks = tokens(text)
            for n in sorted(self._lengths, reverse=True):
                found = gram_hashes(toks, n)
                keys += found
                sizes += [n] * len(found)
        if not keys:
            return None
        query = np.array(keys, dtype=np.uint64)
        pos = np.minimum(np.searchsorted(self._keys, query), self._keys.size - 1)
        hits = np.flatnonzero(self._keys[pos] == query)
        if not hits.size:
            return None
        first = int(hits[0])
        return int(self._lines[pos[first]]), sizes[first]

    def __call__(self, example: Example) -> Drop | None:
        match = self.find(m.content for m in example.turns)
        if match is None:
            return None
        line, n = match
        where = f" ({self.source})" if self.source else ""
        return Drop("contaminated", f"shares a {n}-gram with held-out line {line}{where}")
