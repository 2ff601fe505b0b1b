"""The train/eval split: exact sizes, strata, determinism, and no leakage across clusters."""

from __future__ import annotations

import itertools
import random
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence

import pytest

from synthgen.data.example import Example
from synthgen.data.split import cluster_texts, clusters, split
from synthgen.errors import ConfigError
from synthgen.text.normalize import shingles


def true_jaccard(a: str, b: str) -> float:
    sa, sb = set(shingles(a)), set(shingles(b))
    return len(sa & sb) / len(sa | sb)


def distinct_texts(n: int, seed: int = 0, words: int = 40) -> list[str]:
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(5000)]
    return [" ".join(rng.choices(vocab, k=words)) for _ in range(n)]


def examples_of(texts: list[str], categories: Sequence[str | None] | None = None) -> list[Example]:
    out = []
    for i, text in enumerate(texts):
        meta: dict[str, object] = {"i": i}
        if categories is not None and categories[i] is not None:
            meta["category"] = categories[i]
        out.append(Example.from_pairs([("user", text)], system="sys", metadata=meta))
    return out


def ids(examples: list[Example]) -> list[int]:
    return [e.metadata["i"] for e in examples]


def clustered_texts(seed: int) -> list[str]:
    """Bases with variants at assorted similarities, chains included, shuffled together."""
    rng = random.Random(seed)
    vocab = [f"v{i}" for i in range(3000)]
    texts = []
    for _ in range(40):
        words = rng.choices(vocab, k=50)
        texts.append(" ".join(words))
        current = words
        for _ in range(rng.choice([0, 0, 1, 2, 4])):
            current = current[:]
            for _ in range(rng.randint(1, 9)):  # Jaccard to the previous from ~0.4 to ~0.9
                current[rng.randrange(len(current))] = rng.choice(vocab)
            texts.append(" ".join(current))
    rng.shuffle(texts)
    return texts


def brute_force_components(texts: list[str], threshold: float) -> list[list[int]]:
    parent = list(range(len(texts)))

    def find(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    for i, j in itertools.combinations(range(len(texts)), 2):
        if true_jaccard(texts[i], texts[j]) >= threshold:
            parent[find(j)] = find(i)
    groups: dict[int, list[int]] = {}
    for i in range(len(texts)):
        groups.setdefault(find(i), []).append(i)
    return sorted(groups.values())


# --- clusters ---------------------------------------------------------------------------------


def test_clusters_equal_brute_force_components() -> None:
    texts = clustered_texts(seed=1)
    expected = brute_force_components(texts, 0.5)
    assert any(len(g) >= 3 for g in expected)  # the data has real clusters, chains included
    assert sorted(cluster_texts(texts, 0.5)) == expected


def test_a_large_cluster_stays_whole() -> None:
    """More near copies than one LSH bucket compares all-pairs; still one cluster."""
    rng = random.Random(9)
    words = [f"c{rng.randrange(10**6)}" for _ in range(50)]
    texts = []
    for _ in range(300):
        variant = words[:]
        variant[rng.randrange(50)] = f"n{rng.randrange(10**6)}"
        texts.append(" ".join(variant))
    texts += distinct_texts(50, seed=9)
    groups = cluster_texts(texts, 0.5)
    assert groups[0] == list(range(300)) and len(groups) == 51


def test_clusters_of_examples_use_dedup_text() -> None:
    a = Example.from_pairs([("user", "same words in here for all of them")], system="A")
    b = Example.from_pairs([("user", "Same words, in here for all of them!")], system="B")
    c = Example.from_pairs([("user", "something else entirely different")], system="A")
    assert clusters([a, c, b]) == [[0, 2], [1]]


# --- sizes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "fraction"), [(97, 0.1), (10, 0.25), (200, 0.33), (31, 0.5)])
def test_exact_eval_size_on_singletons(n: int, fraction: float) -> None:
    examples = examples_of(distinct_texts(n))
    train, evals = split(examples, eval_fraction=fraction, seed=3)
    assert len(evals) == int(fraction * n + 0.5)
    assert sorted(ids(train) + ids(evals)) == list(range(n))


def test_both_sides_non_empty() -> None:
    two = examples_of(distinct_texts(2))
    train, evals = split(two, eval_fraction=0.01)
    assert len(train) == 1 and len(evals) == 1
    three = examples_of(distinct_texts(3))
    train, evals = split(three, eval_fraction=0.99)
    assert len(train) == 1 and len(evals) == 2


def test_degenerate_inputs() -> None:
    assert split([]) == ([], [])
    one = examples_of(distinct_texts(1))
    assert split(one) == (one, [])
    same = examples_of(["the very same text, again and again"] * 5)
    train, evals = split(same, eval_fraction=0.4)
    assert len(train) == 5 and evals == []  # one cluster cannot be split without leakage


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5, float("nan")])
def test_bad_eval_fraction(fraction: float) -> None:
    with pytest.raises(ConfigError, match="eval fraction"):
        split(examples_of(distinct_texts(5)), eval_fraction=fraction)


def test_bad_cluster_threshold() -> None:
    with pytest.raises(ConfigError, match="cluster threshold"):
        split(examples_of(distinct_texts(5)), cluster_threshold=0.0)


def test_subset_sum_hits_the_target_through_clusters() -> None:
    """Clusters of 3, 3, 3 and 2: the only way to an eval of exactly 2 is the pair."""
    rng = random.Random(4)
    texts = []
    for size in (3, 3, 3, 2):
        words = [f"t{rng.randrange(10**6)}" for _ in range(40)]
        for k in range(size):
            variant = words[:]
            variant[k * 7] = "changed"
            texts.append(" ".join(variant))
    examples = examples_of(texts)
    for seed in range(5):
        _, evals = split(examples, eval_fraction=0.2, seed=seed)
        assert sorted(ids(evals)) == [9, 10]


def test_closest_achievable_when_exact_is_impossible() -> None:
    rng = random.Random(5)
    texts = []
    for _ in range(2):
        words = [f"u{rng.randrange(10**6)}" for _ in range(40)]
        for k in range(5):
            variant = words[:]
            variant[k * 7] = "changed"
            texts.append(" ".join(variant))
    train, evals = split(examples_of(texts), eval_fraction=0.3)
    assert len(evals) == 5 and len(train) == 5  # 3 is out of reach; 0 would leave eval empty


# --- strata and order -------------------------------------------------------------------------


def test_stratified_per_category() -> None:
    categories: list[str | None] = ["a"] * 50 + ["b"] * 30 + ["c"] * 20 + [None] * 10
    random.Random(0).shuffle(categories)
    examples = examples_of(distinct_texts(len(categories)), categories)
    train, evals = split(examples, eval_fraction=0.2, seed=1, balance_by="category")
    counts = Counter(e.metadata.get("category") for e in evals)
    assert counts == {"a": 10, "b": 6, "c": 4, None: 2}
    assert len(train) == 88


def test_strata_with_remainders_still_sum_to_the_target() -> None:
    categories: list[str | None] = [*["x"] * 7, *["y"] * 7, *["z"] * 7]
    examples = examples_of(distinct_texts(21), categories)
    _, evals = split(examples, eval_fraction=0.1, balance_by="category")
    counts = Counter(e.metadata["category"] for e in evals)
    assert sum(counts.values()) == 2 and max(counts.values()) == 1


def test_deterministic_and_seeded() -> None:
    examples = examples_of(distinct_texts(60), ["a", "b", "c"] * 20)
    first = split(examples, seed=7, balance_by="category", eval_fraction=0.3)
    again = split(examples, seed=7, balance_by="category", eval_fraction=0.3)
    other = split(examples, seed=8, balance_by="category", eval_fraction=0.3)
    assert first == again
    assert first != other


def test_order_is_shuffled() -> None:
    examples = examples_of(distinct_texts(60), ["a"] * 30 + ["b"] * 30)
    train, evals = split(examples, seed=2, balance_by="category", eval_fraction=0.3)
    assert ids(train) != sorted(ids(train)) and ids(evals) != sorted(ids(evals))
    first_half = [e.metadata["category"] for e in train[:20]]
    assert set(first_half) == {"a", "b"}


def test_independent_of_hash_seed() -> None:
    code = (
        "import random\n"
        "from synthgen.data.example import Example\n"
        "from synthgen.data.split import split\n"
        "rng = random.Random(0)\n"
        "cats = ['x', 'y', 'z', None]\n"
        "ex = [Example.from_pairs([('user', ' '.join(rng.choices('abcdefghij', k=12)))],\n"
        "      metadata={'i': i, 'cat': cats[i % 4]}) for i in range(80)]\n"
        "train, evals = split(ex, seed=5, balance_by='cat', eval_fraction=0.25)\n"
        "print([e.metadata['i'] for e in train], [e.metadata['i'] for e in evals])\n"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={"PYTHONHASHSEED": seed, "PATH": ""},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("0", "1", "2")
    }
    assert len(outputs) == 1


# --- leakage ----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_near_duplicate_straddles_train_and_eval(seed: int) -> None:
    texts = clustered_texts(seed)
    rng = random.Random(seed)
    categories: list[str | None] = [rng.choice(["p", "q", None]) for _ in texts]
    examples = examples_of(texts, categories)
    train, evals = split(examples, eval_fraction=0.25, seed=seed, balance_by="category")
    side = {i: "train" for i in ids(train)} | {i: "eval" for i in ids(evals)}
    assert len(side) == len(texts)
    close = [
        (i, j)
        for i, j in itertools.combinations(range(len(texts)), 2)
        if true_jaccard(texts[i], texts[j]) >= 0.5
    ]
    assert close  # the data has near duplicates to keep together
    assert all(side[i] == side[j] for i, j in close)
    assert abs(len(evals) - round(0.25 * len(texts))) <= 2
