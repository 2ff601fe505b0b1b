from __future__ import annotations

import pytest

import synthgen.report.diversity as diversity
from synthgen.data.example import Example
from synthgen.report.diversity import distinct_n, diversity_report, inspired, mean_pairwise_jaccard


def _ex(user: str, assistant: str, seeds: list[int] | None = None) -> Example:
    meta = {"seeds": seeds} if seeds is not None else {}
    return Example.from_pairs([("user", user), ("assistant", assistant)], metadata=meta)


def test_distinct_n_by_hand() -> None:
    # words: the cat sat | the cat ran -> 6 words, 4 distinct; bigrams 4, distinct 3
    assert distinct_n(["The cat sat.", "the CAT ran"]) == (round(4 / 6, 4), 0.75)
    assert distinct_n(["a b", "b a"]) == (0.5, 1.0)  # no bigram across texts
    assert distinct_n([]) == (None, None)
    assert distinct_n(["word"]) == (1.0, None)


def test_distinct_n_counts_characters_of_chinese() -> None:
    assert distinct_n(["好好学习"]) == (0.75, 1.0)


def test_distinct_n_compacts_large_inputs(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [f"w{i % 7} w{i % 5} w{i % 3}" for i in range(200)]
    expected = distinct_n(texts)
    monkeypatch.setattr(diversity, "_COMPACT_AT", 5)
    assert distinct_n(texts) == expected
    pairs = {(f"w{i % 7}", f"w{i % 5}") for i in range(200)}
    pairs |= {(f"w{i % 5}", f"w{i % 3}") for i in range(200)}
    assert expected[1] == round(len(pairs) / 400, 4)


def test_distinct_uses_assistant_turns_only() -> None:
    examples = [_ex("same same same same", "alpha beta"), _ex("same same", "gamma delta")]
    report = diversity_report(examples, [])
    assert report["distinct_1"] == 1.0 and report["distinct_2"] == 1.0


def test_pairwise_jaccard() -> None:
    a = _ex("q", "one two three four five")
    b = _ex("q", "one two three four five")
    c = _ex("r", "six seven eight nine ten")
    mean, top, size = mean_pairwise_jaccard([a, b, c])
    assert size == 3 and top == 1.0
    assert mean == round(1 / 3, 4)  # pairs: (a,b)=1, (a,c)=0, (b,c)=0
    assert mean_pairwise_jaccard([a]) == (None, None, 1)
    assert mean_pairwise_jaccard([]) == (None, None, 0)


def test_pairwise_jaccard_samples_deterministically() -> None:
    examples = [_ex(f"question {i}", f"answer number {i} with words {i % 4}") for i in range(50)]
    first = mean_pairwise_jaccard(examples, sample=10, seed=3)
    assert first == mean_pairwise_jaccard(examples, sample=10, seed=3)
    assert first[2] == 10
    assert mean_pairwise_jaccard(examples, sample=100)[2] == 50


def test_inspired_credits_each_seed_once_per_example() -> None:
    examples = [
        _ex("a", "b", seeds=[0, 1, 1]),
        _ex("c", "d", seeds=[1, 3]),
        _ex("e", "f", seeds=[7, -1]),  # out of range: ignored
        _ex("g", "h"),  # no record of its seeds
    ]
    got = inspired(examples, 4)
    assert got == {"per_seed": {0: 1, 1: 2, 2: 0, 3: 1}, "min": 0, "max": 2, "unused": [2]}
    assert inspired(examples, 0) == {"per_seed": {}, "min": None, "max": None, "unused": []}


def test_report_shape() -> None:
    seeds = [_ex("s1", "the seed answer"), _ex("s2", "another seed answer")]
    examples = [_ex(f"u{i}", f"generated answer {i}", seeds=[i % 2]) for i in range(6)]
    report = diversity_report(examples, seeds, sample=4, seed=1)
    assert report["examples"] == 6
    assert report["jaccard_sample"] == 4
    assert report["seeds_distinct_1"] == round(4 / 6, 4)
    assert report["inspired"]["per_seed"] == {0: 3, 1: 3}
    assert 0 <= report["mean_pairwise_jaccard"] <= report["max_pairwise_jaccard"] <= 1
