"""Texts with planted near copies of a known true Jaccard, for the dedup tests of text/ and
data/."""

from __future__ import annotations

import random

from tests.helpers import jaccard as true_jaccard


def make_vocab(rng: random.Random, size: int = 3000) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return sorted({"".join(rng.choices(letters, k=rng.randint(3, 9))) for _ in range(size)})


def edit(words: list[str], rng: random.Random, vocab: list[str], edits: int) -> list[str]:
    out = words[:]
    for _ in range(edits):
        op = rng.random()
        pos = rng.randrange(len(out))
        if op < 0.6:
            out[pos] = rng.choice(vocab)
        elif op < 0.8:
            out.insert(pos, rng.choice(vocab))
        elif len(out) > 10:
            del out[pos]
    return out


def planted_pairs(
    n: int, lo: float, hi: float, seed: int, max_edits: int
) -> list[tuple[str, str, float]]:
    """``n`` (base, variant, true Jaccard) with 60-word bases and lo <= Jaccard < hi."""
    rng = random.Random(seed)
    vocab = make_vocab(rng)
    pairs: list[tuple[str, str, float]] = []
    while len(pairs) < n:
        words = rng.choices(vocab, k=60)
        base = " ".join(words)
        for _ in range(50):
            variant = " ".join(edit(words, rng, vocab, rng.randint(1, max_edits)))
            similarity = true_jaccard(base, variant)
            if lo <= similarity < hi:
                pairs.append((base, variant, similarity))
                break
    return pairs
