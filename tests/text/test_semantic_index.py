"""SemanticIndex without the model: brute force and the LSH give the same verdicts on planted
neighbours, and the split's pairs by LSH are the brute-force pairs."""

from __future__ import annotations

import hashlib
from typing import Any, cast

import numpy as np

from synthgen.text.hyperplane import band_bits
from synthgen.text.semantic import SemanticIndex, similar_pairs

DIM = 32


class _RandomEncoder:
    """Texts to fixed random unit vectors (the index's logic, not the model, under test)."""

    dim = DIM

    def encode(self, texts):
        out = []
        for text in texts:
            seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=4).digest(), "big")
            rng = np.random.default_rng(seed)
            v = rng.standard_normal(DIM).astype(np.float32)
            out.append(v / np.linalg.norm(v))
        return np.array(out, dtype=np.float32).reshape(len(texts), DIM)


def RandomEncoder() -> Any:
    return cast(Any, _RandomEncoder())


def unit(rng, n):
    v = rng.standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def near(rng, v, cosine):
    noise = rng.standard_normal(DIM).astype(np.float32)
    noise -= (noise @ v) * v
    noise /= np.linalg.norm(noise)
    return (cosine * v + np.sqrt(1 - cosine**2) * noise).astype(np.float32)


def test_lsh_and_brute_force_agree_on_planted_neighbours():
    rng = np.random.default_rng(0)
    vectors = unit(rng, 600)
    brute = SemanticIndex(0.9, RandomEncoder())
    lsh = SemanticIndex(0.9, RandomEncoder(), exact_up_to=100)
    for i, v in enumerate(vectors):
        brute.add(f"k{i}", v)
        lsh.add(f"k{i}", v)
    queries: list[tuple[Any, str | None]] = [
        (near(rng, vectors[i], 0.95), f"k{i}") for i in range(0, 600, 6)
    ]
    queries += [(near(rng, vectors[i], 0.6), None) for i in range(3, 600, 6)]
    agree = 0
    for q, key in queries:
        b, h = brute.check(q), lsh.check(q)
        assert (b.key if b else None) == key
        agree += (h.key if h else None) == key
    assert agree >= len(queries) - 2  # the LSH is tuned for 99.5% recall at the threshold


def test_split_pairs_by_lsh_are_the_brute_force_ones():
    rng = np.random.default_rng(1)
    base = unit(rng, 2500)
    vectors = np.concatenate([base, [near(rng, base[i], 0.93) for i in range(0, 2500, 10)]])
    small = similar_pairs(vectors[:4000], 0.85)  # brute force up to 4096
    big = similar_pairs(np.concatenate([vectors, unit(rng, 2000)]), 0.85)  # LSH
    assert len(small) == 250
    assert len(set(small) - set(big)) <= 2  # LSH misses at most a pair or two


def test_band_bits_grow_with_the_threshold():
    assert band_bits(0.7) < band_bits(0.9) < band_bits(0.99)


def test_vectors_reuse_stored_embeddings_and_embed_the_rest():
    index = SemanticIndex(0.9, RandomEncoder())
    index.add_many([("a", "first text", "accepted")])
    stored = index.vectors(["first text", "other"])
    np.testing.assert_allclose(stored, RandomEncoder().encode(["first text", "other"]))
