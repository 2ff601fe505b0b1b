"""How varied a generated set is, in numbers a dataset card can show.

- distinct-1 / distinct-2 (Li et al., 2016): unique unigrams and bigrams over all of them, on
  the assistant turns, after dedup's normalisation (characters for Chinese or Japanese).
  Computed over every example in linear time: tokens and bigrams become 64-bit hashes in NumPy
  arrays, deduplicated in chunks, so no Python set of word tuples grows with the data (its
  memory and time at scale are measured in BENCHMARKS.md, the finishing phase of ``expand``).
- Mean pairwise Jaccard of word 3-gram shingles (dedup's ``shingles``) over the user and
  assistant text, on a random sample: all pairs of up to ``sample`` examples.
- How many accepted examples each seed inspired: every example records the seeds shown in its
  request (``metadata["seeds"]``); each shown seed is credited once per example.
"""

from __future__ import annotations

import random
from array import array
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from synthgen.text.normalize import shingles, tokens

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from synthgen.data.example import Example

    U64 = NDArray[np.uint64]

__all__ = ["distinct_n", "diversity_report", "inspired", "mean_pairwise_jaccard"]

_COMPACT_AT = 4_000_000  # token hashes buffered before deduplicating them
_MIX = 0x9E3779B97F4A7C15  # odd 64-bit multiplier (golden ratio) combining two token hashes


def diversity_report(
    examples: Sequence[Example], seeds: Sequence[Example], *, sample: int = 500, seed: int = 0
) -> dict[str, Any]:
    """Distinct-n, mean pairwise Jaccard and seed usage of ``examples`` (see module doc)."""
    d1, d2 = distinct_n(_assistant_texts(examples))
    s1, s2 = distinct_n(_assistant_texts(seeds))
    mean, top, size = mean_pairwise_jaccard(examples, sample=sample, seed=seed)
    return {
        "examples": len(examples),
        "distinct_1": d1,
        "distinct_2": d2,
        "seeds_distinct_1": s1,
        "seeds_distinct_2": s2,
        "mean_pairwise_jaccard": mean,
        "max_pairwise_jaccard": top,
        "jaccard_sample": size,
        "inspired": inspired(examples, len(seeds)),
    }


def _assistant_texts(examples: Iterable[Example]) -> Iterable[str]:
    for ex in examples:
        for m in ex.turns:
            if m.role == "assistant":
                yield m.content


def distinct_n(texts: Iterable[str]) -> tuple[float | None, float | None]:
    """(distinct-1, distinct-2) over ``texts``; None where there is nothing to count. Bigrams do
    not cross from one text to the next."""
    import numpy as np

    uni = np.empty(0, dtype=np.uint64)
    bi = np.empty(0, dtype=np.uint64)
    words = bigrams = 0
    # Tokens are kept as 64-bit hashes (str hashes are cached by CPython, and a collision among
    # a million distinct words has odds of 1 in 10^7), buffered and merged in chunks.
    buf, ends = array("q"), array("q")
    for text in texts:
        buf.extend(map(hash, tokens(text)))
        ends.append(len(buf))
        if len(buf) >= _COMPACT_AT:
            uni, bi, w, b = _merge(uni, bi, buf, ends)
            words, bigrams = words + w, bigrams + b
            buf, ends = array("q"), array("q")
    uni, bi, w, b = _merge(uni, bi, buf, ends)
    words, bigrams = words + w, bigrams + b
    d1 = round(uni.size / words, 4) if words else None
    d2 = round(bi.size / bigrams, 4) if bigrams else None
    return d1, d2


def _merge(uni: U64, bi: U64, buf: array[int], ends: array[int]) -> tuple[U64, U64, int, int]:
    """Add a chunk of token hashes (texts ending at ``ends``) to the unique uni/bigram sets."""
    import numpy as np

    h = np.frombuffer(buf, dtype=np.int64).view(np.uint64)
    codes = h[:-1] * _MIX + h[1:]  # wraps modulo 2**64, as intended
    last = np.frombuffer(ends, dtype=np.int64) - 1
    valid = np.ones(codes.size, dtype=bool)
    valid[last[(last >= 0) & (last < codes.size)]] = False  # pairs that span two texts
    codes = codes[valid]
    return (
        _unique(np.concatenate((uni, h))),
        _unique(np.concatenate((bi, codes))),
        int(h.size),
        int(codes.size),
    )


def _unique(codes: U64) -> U64:
    import numpy as np

    # Sort-based: on these codes NumPy's hash-based np.unique was the slower of the two.
    codes = np.sort(codes)
    return codes[np.concatenate(([True], codes[1:] != codes[:-1]))] if codes.size else codes


def mean_pairwise_jaccard(
    examples: Sequence[Example], *, sample: int = 500, seed: int = 0
) -> tuple[float | None, float | None, int]:
    """(mean, max, sample size) of the Jaccard similarity of all pairs in a random sample of
    ``examples`` (the same sample for the same ``seed``); None with fewer than two examples."""
    k = min(max(sample, 0), len(examples))
    picked = random.Random(seed).sample(range(len(examples)), k)
    sets = [frozenset(shingles(examples[i].dedup_text())) for i in sorted(picked)]
    total = top = 0.0
    pairs = 0
    for i, a in enumerate(sets):
        for b in sets[i + 1 :]:
            inter = len(a & b)
            union = len(a) + len(b) - inter
            sim = inter / union if union else 1.0
            total += sim
            top = max(top, sim)
            pairs += 1
    if not pairs:
        return None, None, k
    return round(total / pairs, 4), round(top, 4), k


def inspired(examples: Iterable[Example], n_seeds: int) -> dict[str, Any]:
    """Accepted examples per seed index, from ``metadata["seeds"]``; ``unused`` lists the seeds
    that inspired none. Indices outside ``range(n_seeds)`` are ignored."""
    per_seed = dict.fromkeys(range(n_seeds), 0)
    for ex in examples:
        shown = ex.metadata.get("seeds")
        if not isinstance(shown, (list, tuple)):
            continue
        for index in set(shown):
            if type(index) is int and index in per_seed:
                per_seed[index] += 1
    counts = per_seed.values()
    return {
        "per_seed": per_seed,
        "min": min(counts) if per_seed else None,
        "max": max(counts) if per_seed else None,
        "unused": [i for i, c in per_seed.items() if c == 0],
    }
