"""Normalisation and the tokenizers every comparison of texts uses: dedup, the split's
clustering, the prompt guard, decontamination and the diversity figures.

``normalize`` folds a text (NFKC, look-alike letters of other scripts folded, lower case,
punctuation and symbols dropped, whitespace collapsed). On top of it, three ways to cut a text,
each for a different question:

- ``words``: whitespace-separated words; a run of Chinese without spaces is one "word". The
  prompt guard compares word n-grams of texts in one language, where that is enough.
- ``tokens``: words, but each character of a script written without spaces (Han, kana, Thai,
  Lao, Myanmar, Khmer) is a token of its own, so an n-gram means the same amount of text in
  every language: decontamination's 13-grams and distinct-n.
- ``shingles``: what near-duplicate detection compares, word 3-grams, or character 5-grams
  for texts that do not split into words (short texts, Chinese or Japanese).
"""

from __future__ import annotations

import functools
import re
import unicodedata

__all__ = [
    "CHAR_NGRAM",
    "LONE_SURROGATE",
    "WORD_NGRAM",
    "fold_confusables",
    "normalize",
    "normalized_shingles",
    "shingles",
    "tokens",
    "words",
]

WORD_NGRAM = 3
CHAR_NGRAM = 5
# Mean characters per "word" above which the text is treated as unsegmented (CJK, Thai...):
# English averages about 6 including the space.
_MAX_MEAN_WORD = 15


class _StripTable(dict[int, "int | None"]):
    """A ``str.translate`` table that deletes punctuation (P*), symbols (S*), invisible format
    characters (Cf: soft hyphen, zero-width space) and lone surrogates (Cs: half an emoji from
    a ``"\\ud83d"`` escape, which cannot be encoded, so hashing the text would fail). Filled on
    demand: building it up front would scan all 1.1 million code points on import."""

    def __missing__(self, codepoint: int) -> int | None:
        category = unicodedata.category(chr(codepoint))
        value = None if category[0] in "PS" or category in ("Cf", "Cs") else codepoint
        self[codepoint] = value
        return value


_STRIP = _StripTable()

# Scripts written without spaces (Han, kana, Thai, Lao, Myanmar, Khmer).
_UNSPACED = (
    "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff"
)
_TOKEN = re.compile(f"[{_UNSPACED}]|[^\\s{_UNSPACED}]+")


LONE_SURROGATE = re.compile("[\ud800-\udfff]")

# Cyrillic and Greek letters drawn like a Latin one, as "look-alike Latin" pairs: swapping a
# few into an English text made a copy that passed dedup. Keys are NFKC-stable (lunate sigma
# is not: NFKC makes it a final sigma, a real Greek letter).
_CYRILLIC = "аa еe оo рp сc уy хx іi јj ѕs һh ԁd ԛq ԝw ӏl АA ВB ЕE КK МM НH ОO РP СC ТT ХX"
_CYRILLIC += " УY ІI ЈJ ЅS"
_GREEK = "ΑA ΒB ΕE ΖZ ΗH ΙI ΚK ΜM ΝN ΟO ΡP ΤT ΥY ΧX οo αa ιi νv ρp υu κk ϳj"
_CYR_PAIRS = {pair[0]: pair[1] for pair in _CYRILLIC.split()}
_GREEK_PAIRS = {pair[0]: pair[1] for pair in _GREEK.split()}
_TO_LATIN = str.maketrans({**_CYR_PAIRS, **_GREEK_PAIRS})
# The other way, for a Cyrillic or Greek text with Latin letters slipped in; the first
# look-alike listed wins where two share a Latin letter.
_TO_SCRIPT = {
    "cyrillic": str.maketrans({lat: own for own, lat in reversed(_CYR_PAIRS.items())}),
    "greek": str.maketrans({lat: own for own, lat in reversed(_GREEK_PAIRS.items())}),
}
_LETTERS = {
    "latin": re.compile("[A-Za-z]"),
    "cyrillic": re.compile("[\u0400-\u052f]"),
    "greek": re.compile("[\u0370-\u03ff]"),
}
_FOREIGN = re.compile("[\u0370-\u03ff\u0400-\u052f]")
_TOKEN_RUN = re.compile(r"\S+")


def fold_confusables(text: str) -> str:
    """Undo look-alike letters of another script inside words, toward the text's main script
    (the one with most letters among Latin, Cyrillic and Greek).

    In a mostly Latin text, a word that mixes scripts, or is made only of look-alikes, becomes
    Latin ("Whаt", "сосоа" with Cyrillic letters). In a mostly Cyrillic or Greek text, only
    words that mix in Latin letters change (toward that script): real Cyrillic and Greek
    words, and texts without Latin letters, are left as they are.
    """
    if text.isascii() or not _FOREIGN.search(text) or not _LETTERS["latin"].search(text):
        return text
    counts = {name: len(letters.findall(text)) for name, letters in _LETTERS.items()}
    main = max(counts, key=counts.__getitem__)  # ties go to Latin, listed first

    def fold(match: re.Match[str]) -> str:
        word = match.group()
        if main == "latin":
            if not _FOREIGN.search(word):
                return word
            latin = word.translate(_TO_LATIN)
            mixed = _LETTERS["latin"].search(word) is not None
            return latin if mixed or not _FOREIGN.search(latin) else word
        if _LETTERS["latin"].search(word) and _LETTERS[main].search(word):
            return word.translate(_TO_SCRIPT[main])
        return word

    return _TOKEN_RUN.sub(fold, text)


def normalize(text: str) -> str:
    """NFKC, look-alike letters folded (``fold_confusables``), lower case, punctuation, symbols
    and lone surrogates dropped, whitespace collapsed to one space."""
    if len(text) <= _CACHED_CHARS:
        return _normalize_short(text)
    return _normalize(text)


def _normalize(text: str) -> str:
    nfkc = fold_confusables(unicodedata.normalize("NFKC", text))
    return " ".join(nfkc.lower().translate(_STRIP).split())


# Curation normalises each turn of a candidate in two filters (placeholders, prompt guard):
# short texts are remembered for a while, so the second asks for free (the text's hash is
# kept in the string object, so a repeat costs one lookup).
_CACHED_CHARS = 1_000
_normalize_short = functools.lru_cache(maxsize=1024)(_normalize)


def words(text: str) -> list[str]:
    """The whitespace-separated words of ``normalize(text)``."""
    return normalize(text).split()


def tokens(text: str) -> list[str]:
    """Normalised words of ``text``; characters of scripts written without spaces."""
    return _TOKEN.findall(normalize(text))


def normalized_shingles(norm: str) -> list[str]:
    """``shingles`` of a text already normalised, for callers that need ``norm`` too."""
    split = norm.split()
    if len(split) >= WORD_NGRAM and len(norm) <= _MAX_MEAN_WORD * len(split):
        return list(map(" ".join, zip(split, split[1:], split[2:], strict=False)))
    if len(norm) >= CHAR_NGRAM:
        return [norm[i : i + CHAR_NGRAM] for i in range(len(norm) - CHAR_NGRAM + 1)]
    return [norm]


def shingles(text: str) -> list[str]:
    """Shingles of ``normalize(text)``: word 3-grams; character 5-grams when the text has fewer
    than 3 words or does not split into words; the whole text when shorter than 5 characters."""
    return normalized_shingles(normalize(text))
