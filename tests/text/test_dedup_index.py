"""The dedup index: exact and near duplicates of indexed texts, tags, keys."""

from __future__ import annotations

import subprocess
import sys

import pytest

from synthgen.errors import ConfigError
from synthgen.text.index import DedupIndex, Match
from tests.helpers import jaccard as true_jaccard
from tests.near_copies import planted_pairs


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


def test_import_is_cheap() -> None:
    code = (
        "import sys, synthgen.text.index, synthgen.data.dedup, synthgen.data.split;"
        "print(sorted(m for m in ('numpy', 'datasketch', 'scipy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
