"""Normalisation and the tokenizers: words, tokens and shingles."""

from __future__ import annotations

from synthgen.text.normalize import normalize, normalized_shingles, shingles, tokens, words


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


def test_normalized_shingles_is_shingles_of_the_normal_form() -> None:
    for text in ["The quick, brown fox jumps!", "Hi there!", "", "你好，世界。"]:
        assert normalized_shingles(normalize(text)) == shingles(text)


def test_words_split_the_normal_form_on_whitespace() -> None:
    assert words("  Hello,   WORLD!!\n\tDon't stop…  ") == ["hello", "world", "dont", "stop"]
    assert words("") == []
    assert words("机器学习很有趣，我们") == ["机器学习很有趣我们"]  # one run, one word


def test_tokens_split_unspaced_scripts_into_characters() -> None:
    assert tokens("机器学习很有趣，我们一起学习吧") == list("机器学习很有趣我们一起学习吧")
    assert tokens("Hello, World!") == ["hello", "world"]
    assert tokens("用Python训练") == ["用", "python", "训", "练"]
    assert tokens("สวัสดีครับ") == list("สวัสดีครับ")


ENGLISH = "What is the capital of France? Paris, of course, as everyone knows."
# The same text with Cyrillic and Greek look-alikes swapped in: it passed dedup as new.
DISGUISED = "Whаt іs thе сapital оf Frаnce? Pаris, оf соursе, аs еvеryоnе knоws."
DISGUISED_GREEK = "What is thΕ capital of France? Ρaris, of cοurse, as everyone knows."
RUSSIAN = "Какая столица Франции? Конечно, Париж, это все знают."


def test_look_alike_letters_fold_to_latin() -> None:
    assert DISGUISED != ENGLISH
    assert normalize(DISGUISED) == normalize(ENGLISH) == normalize(DISGUISED_GREEK)
    assert normalize("сосоа cocoa") == "cocoa cocoa"  # a word made only of look-alikes
    from synthgen.text.index import DedupIndex

    index = DedupIndex()
    index.add("a", ENGLISH)
    match = index.check(DISGUISED)
    assert match is not None and match.reason == "exact_duplicate"
    near = index.check(DISGUISED.replace("knоws", "knows, surely"))
    assert near is not None and near.reason == "near_duplicate"


def test_real_cyrillic_and_greek_text_is_not_folded() -> None:
    folded = normalize(RUSSIAN)
    assert folded == "какая столица франции конечно париж это все знают"
    assert not any("a" <= ch <= "z" for ch in folded)  # it did not become Latin
    assert normalize(RUSSIAN) == normalize(RUSSIAN[:])  # a copy still matches
    # Russian with Latin words: the Russian words stay Cyrillic, the Latin ones Latin.
    assert normalize("Пишу код на Python, а тесты на C.") == "пишу код на python а тесты на c"
    assert normalize("Αθήνα είναι η πρωτεύουσα.") == "αθήνα είναι η πρωτεύουσα"
    # Latin look-alikes slipped into a Russian text fold the other way.
    assert normalize("Kакая столицa Франции? Конечно, Париж, это все знают.") == folded


def test_lone_surrogates_never_reach_an_encoder() -> None:
    from synthgen.text.index import DedupIndex
    from synthgen.text.minhash import shingle_hashes

    broken = "Any tips for a rainy day \ud83d? Stay in and read."
    assert normalize(broken) == "any tips for a rainy day stay in and read"
    assert shingle_hashes(broken).size > 0 and tokens(broken)[-1] == "read"
    index = DedupIndex()
    index.add("a", broken)  # used to raise UnicodeEncodeError
    assert index.check(broken.replace("\ud83d", "")) is not None
