"""Exact and near-duplicate detection: normalisation, shingles, LSH recall, dedup()."""

from __future__ import annotations

import random
import subprocess
import sys
import zlib

import numpy as np
import pytest
from datasketch import MinHash

from synthgen.data.example import Example
from synthgen.errors import ConfigError
from synthgen.text.dedup import (
    DedupIndex,
    Match,
    Sketcher,
    dedup,
    jaccard,
    lsh_params,
    normalize,
    shingle_hashes,
    shingles,
)


def true_jaccard(a: str, b: str) -> float:
    """Ground truth over the shingle strings themselves (no hashing, no sketches)."""
    sa, sb = set(shingles(a)), set(shingles(b))
    return len(sa & sb) / len(sa | sb)


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


# --- normalisation and shingles ---------------------------------------------------------------


def test_normalize_folds_case_punctuation_width_and_space() -> None:
    assert normalize("  Hello,   WORLD!!\n\tDon't stop…  ") == "hello world dont stop"
    assert normalize("ＨＥＬＬＯ　ＷＯＲＬＤ！") == "hello world"  # full-width forms (NFKC)
    assert normalize("«Bonjour» — ça va ? ✓ $5 + 3 = 8") == "bonjour ça va 5 3 8"
    assert normalize("soft\u00adhyphen zero\u200bwidth") == "softhyphen zerowidth"
    assert normalize("Zażółć gęślą jaźń.") == "zażółć gęślą jaźń"
    assert normalize("你好，世界。") == "你好世界"
    assert normalize("ﬁne №1") == "fine no1"  # compatibility ligatures and symbols


def test_word_trigrams_for_ordinary_text() -> None:
    assert shingles("The quick, brown fox jumps!") == [
        "the quick brown",
        "quick brown fox",
        "brown fox jumps",
    ]


def test_short_texts_use_character_grams_or_the_whole_text() -> None:
    assert shingles("Hi there!") == ["hi th", "i the", " ther", "there"]
    assert shingles("OK.") == ["ok"]
    assert shingles("") == [""]


def test_unsegmented_scripts_use_character_grams() -> None:
    text = "今天天气很好我们一起去公园散步吧"
    grams = shingles(text)
    assert grams[0] == "今天天气很" and len(grams) == len(text) - 4
    # A few long runs separated by newlines are still not "words".
    paragraphs = "\n".join([text, text[::-1], text[3:] + text[:3]])
    assert all(len(g) == 5 for g in shingles(paragraphs))


def test_signature_equals_datasketch_minhash_with_the_same_hash() -> None:
    text = "the quick brown fox jumps over the lazy dog and runs far away into the woods"
    sketcher = Sketcher(0.8)
    reference = MinHash(num_perm=128, seed=1, hashfunc=lambda s: zlib.crc32(s.encode()))
    reference.update_batch(shingles(text))
    ours = sketcher.signature(shingle_hashes(text))
    assert np.array_equal(reference.hashvalues[: sketcher.width], ours)


def test_band_key_matrix_matches_band_keys() -> None:
    sketcher = Sketcher(0.5, num_perm=64, seed=7)
    texts = ["alpha beta gamma delta epsilon", "one two three four five six", "x y z"]
    signatures = np.stack([sketcher.signature(shingle_hashes(t)) for t in texts])
    matrix = sketcher.band_key_matrix(signatures)
    assert [list(row) for row in matrix.tolist()] == [sketcher.band_keys(sig) for sig in signatures]


def test_jaccard_of_hash_sets() -> None:
    a = np.array([1, 2, 3, 4], dtype=np.uint32)
    b = np.array([4, 3, 9], dtype=np.uint32)
    assert jaccard(a, b) == pytest.approx(2 / 5)
    assert jaccard(a, a) == 1.0


# --- LSH parameters ---------------------------------------------------------------------------


def s_curve(s: float, bands: int, rows: int) -> float:
    return 1 - (1 - s**rows) ** bands


@pytest.mark.parametrize("threshold", [0.5, 0.7, 0.8, 0.9, 0.95])
def test_lsh_params_reach_recall_within_budget(threshold: float) -> None:
    bands, rows = lsh_params(threshold, 128)
    assert bands * rows <= 128
    assert s_curve(threshold, bands, rows) >= 0.99
    assert s_curve(threshold / 2, bands, rows) < 0.5  # and it is selective below


def test_lsh_params_for_the_default_threshold() -> None:
    # datasketch's own optimum (9 bands x 13 rows) catches only ~76% at 0.8 (DESIGN.md §4).
    assert s_curve(0.8, 9, 13) < 0.8
    assert lsh_params(0.8, 128) == (16, 6)


@pytest.mark.parametrize("threshold", [0.0, -0.1, 1.5, float("nan")])
def test_bad_threshold_is_a_config_error(threshold: float) -> None:
    with pytest.raises(ConfigError, match="threshold"):
        DedupIndex(threshold=threshold)


# --- the index --------------------------------------------------------------------------------


def test_planted_near_duplicates_are_found() -> None:
    pairs = planted_pairs(300, 0.8, 1.0, seed=11, max_edits=3)
    index = DedupIndex(threshold=0.8)
    for i, (base, _, _) in enumerate(pairs):
        index.add(f"base:{i}", base)
    found = 0
    for i, (_, variant, similarity) in enumerate(pairs):
        match = index.check(variant)
        if match is not None:
            assert match == Match("near_duplicate", f"base:{i}", "accepted", match.jaccard)
            assert match.jaccard == pytest.approx(similarity)
            found += 1
    assert found / len(pairs) >= 0.98
    assert len(index) == len(pairs)  # check() never adds


def test_dissimilar_pairs_are_never_reported() -> None:
    pairs = planted_pairs(300, 0.0, 0.5, seed=12, max_edits=40)
    assert max(p[2] for p in pairs) > 0.3  # the data does probe the band below 0.5
    index = DedupIndex(threshold=0.8)
    for i, (base, _, _) in enumerate(pairs):
        index.add(f"base:{i}", base)
    assert all(index.check(variant) is None for _, variant, _ in pairs)


def test_reports_respect_the_threshold_exactly() -> None:
    """Pairs just under the threshold are not reported; a lower threshold reports them."""
    pairs = planted_pairs(150, 0.6, 0.8, seed=13, max_edits=6)
    strict, loose = DedupIndex(threshold=0.8), DedupIndex(threshold=0.6)
    for i, (base, _, _) in enumerate(pairs):
        strict.add(str(i), base)
        loose.add(str(i), base)
    assert all(strict.check(variant) is None for _, variant, _ in pairs)
    hits = [loose.check(variant) for _, variant, _ in pairs]
    assert sum(h is not None for h in hits) / len(pairs) >= 0.98
    assert all(h is None or h.jaccard >= 0.6 for h in hits)


def test_exact_duplicates_after_normalisation() -> None:
    index = DedupIndex()
    index.add("a", "Hello, World! How are you today, my friend?")
    for copy in [
        "hello world how are you today my friend",
        "HELLO   WORLD — how are you today; my friend…",
        "ＨＥＬＬＯ ＷＯＲＬＤ how are you today my friend",
    ]:
        assert index.check(copy) == Match("exact_duplicate", "a", "accepted", 1.0)


def test_short_texts() -> None:
    index = DedupIndex()
    index.add("hi", "Hi there!")
    index.add("ok", "OK")
    assert index.check("hi there") == Match("exact_duplicate", "hi", "accepted", 1.0)
    assert index.check("ok.") == Match("exact_duplicate", "ok", "accepted", 1.0)
    assert index.check("hi where") is None
    assert index.check("no") is None
    assert index.check("") is None


def test_chinese_without_spaces() -> None:
    base = (
        "机器学习是人工智能的一个分支它使计算机能够从数据中学习而无需明确编程"
        "深度学习则使用多层神经网络来学习数据的表示在图像和语音识别中效果很好"
    )
    near = base.replace("明确", "明白")  # one character of 70 changed
    other = "今天天气很好我们一起去公园散步然后去吃午饭下午再回家休息一下晚上看电影"
    assert true_jaccard(base, near) >= 0.8
    index = DedupIndex()
    index.add("zh", base)
    match = index.check(near)
    assert match is not None and match.reason == "near_duplicate" and match.key == "zh"
    assert index.check(other) is None
    assert index.check(base + "。") == Match("exact_duplicate", "zh", "accepted", 1.0)


def test_check_and_add_adds_only_new_texts() -> None:
    index = DedupIndex()
    text = "one two three four five six seven eight nine ten eleven twelve"
    assert index.check_and_add("first", text) is None
    assert "first" in index and len(index) == 1
    match = index.check_and_add("second", text.upper())
    assert match is not None and match.key == "first"
    assert "second" not in index and len(index) == 1
    assert index.check_and_add("third", "something else entirely, about cats") is None
    assert len(index) == 2


def test_tags_and_best_match() -> None:
    base = " ".join(f"w{i}" for i in range(60))
    closer = base.replace("w30", "x30")
    further = base.replace("w10", "x10").replace("w40", "x40")
    index = DedupIndex()
    index.add("seed:0", further, tag="seed")
    index.add("gen:1", closer)
    match = index.check(base)
    assert match is not None and match.key == "gen:1" and match.tag == "accepted"
    assert match.jaccard == pytest.approx(true_jaccard(base, closer))
    only_seed = DedupIndex()
    only_seed.add("seed:0", further, tag="seed")
    seed_match = only_seed.check(base)
    assert seed_match is not None and seed_match.tag == "seed"


def test_duplicate_key_is_refused() -> None:
    index = DedupIndex()
    index.add("k", "some text here for the index")
    with pytest.raises(ValueError, match="already"):
        index.add("k", "another text")


def test_index_state_is_independent_of_hash_seed() -> None:
    """Signatures and band keys must not depend on PYTHONHASHSEED (the index is run state)."""
    code = (
        "from synthgen.text.dedup import Sketcher, shingle_hashes;"
        "s = Sketcher(0.8);"
        "print(s.band_keys(s.signature(shingle_hashes('a b c d e f g h'))))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={"PYTHONHASHSEED": seed, "PATH": ""},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outputs) == 1


def test_import_is_cheap() -> None:
    code = (
        "import sys, synthgen.text.dedup, synthgen.data.split;"
        "print(sorted(m for m in ('numpy', 'datasketch', 'scipy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- dedup() ----------------------------------------------------------------------------------


def ex(user: str, answer: str = "Sure, here it is.") -> Example:
    return Example.from_pairs([("user", user), ("assistant", answer)], system="Be brief.")


def test_dedup_keeps_first_and_tags_seed_copies() -> None:
    long_q = (
        "Explain step by step how photosynthesis in the leaves of green plants turns light,"
        " water and carbon dioxide into sugar and oxygen, and why chlorophyll matters here"
    )
    seeds = [ex("What is the capital of France?", "Paris.")]
    examples = [
        ex(long_q),
        ex("what is the capital of france", "Paris"),  # copy of the seed
        ex("Name three primary colours", "Red, yellow and blue."),
        ex(long_q.upper() + "!"),  # exact copy of the first
        ex(long_q.replace("sugar", "glucose")),  # near copy of the first
        ex("Name three primary colours please", "Red, yellow, blue."),
    ]
    kept, dropped = dedup(examples, against=seeds)
    assert kept == [examples[0], examples[2], examples[5]]
    reasons = [(d[0], d[1].reason, d[1].key, d[1].tag) for d in dropped]
    assert reasons == [
        (examples[1], "exact_duplicate", "seed:0", "seed"),
        (examples[3], "exact_duplicate", "example:0", "accepted"),
        (examples[4], "near_duplicate", "example:0", "accepted"),
    ]


def test_dedup_ignores_the_system_prompt() -> None:
    a = Example.from_pairs([("user", "hello there friend")], system="You are A.")
    b = Example.from_pairs([("user", "hello there friend")], system="You are B.")
    kept, dropped = dedup([a, b])
    assert kept == [a] and dropped[0][1].reason == "exact_duplicate"


def test_dedup_threshold_argument() -> None:
    pairs = planted_pairs(20, 0.6, 0.75, seed=5, max_edits=6)
    examples = [Example.from_pairs([("user", t)]) for pair in pairs for t in pair[:2]]
    assert dedup(examples, threshold=0.8)[0] == examples
    kept, dropped = dedup(examples, threshold=0.5)
    assert kept == examples[::2]
    assert all(match.reason == "near_duplicate" for _, match in dropped)
