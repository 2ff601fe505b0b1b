from __future__ import annotations

import json
from pathlib import Path

import pytest

from synthgen.curate.decontam import Decontaminator, gram_hashes
from synthgen.curate.drop import Drop
from synthgen.data.example import Example
from synthgen.errors import ConfigError, SeedError

QUESTION = "What is the boiling point of water at the top of Mount Everest in degrees?"
ANSWER = (
    "At the summit of Mount Everest the air pressure is about a third of sea level, so water "
    "boils at roughly seventy degrees Celsius instead of one hundred."
)
SHORT_Q = "Name the largest moon of Saturn and its atmosphere."  # 9 words


def _write_heldout(path: Path) -> Path:
    rows = [
        {"messages": [{"role": "user", "content": "Tell me a joke."}]},  # too short to index
        {
            "messages": [
                {"role": "system", "content": "You are a helpful assistant for science homework."},
                {"role": "user", "content": QUESTION},
                {"role": "assistant", "content": ANSWER},
            ]
        },
        {"prompt": SHORT_Q, "completion": "Titan, with a thick nitrogen atmosphere."},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _ex(user: str, assistant: str, system: str | None = None) -> Example:
    return Example.from_pairs([("user", user), ("assistant", assistant)], system=system)


@pytest.fixture
def index(tmp_path: Path) -> Decontaminator:
    return Decontaminator.from_file(_write_heldout(tmp_path / "evals.jsonl"))


def test_copied_answer_span_is_contaminated(index: Decontaminator) -> None:
    # 13+ words of the answer inside a longer reply, with different case and punctuation.
    reply = (
        "Good question! AT THE SUMMIT of Mount Everest, the air pressure is about a third of "
        "sea level; that is why tea tastes odd there."
    )
    drop = index(_ex("Why does tea taste odd on Everest?", reply))
    assert drop == Drop("contaminated", "shares a 13-gram with held-out line 2 (evals.jsonl)")


def test_short_heldout_message_is_matched_whole(index: Decontaminator) -> None:
    drop = index(_ex(f"Quick quiz: {SHORT_Q.lower()} Thanks!", "Titan."))
    assert drop is not None
    assert drop.detail == "shares a 9-gram with held-out line 3 (evals.jsonl)"


def test_paraphrase_and_near_miss_pass(index: Decontaminator) -> None:
    # 12 consecutive words of the answer, then a different word: no 13-gram in common.
    near = "at the summit of mount everest the air pressure is about a quarter of sea level"
    assert index(_ex("How thin is the air up there?", near)) is None
    assert index(_ex("Tell me a joke.", "Why did the chicken cross the road?")) is None
    # 8 of the 9 words of the short question are not the whole question.
    assert index(_ex("Name the largest moon of Saturn and its rings.", "Titan.")) is None


def test_system_prompts_are_ignored(index: Decontaminator) -> None:
    system = "You are a helpful assistant for science homework."
    assert index(_ex("What is two plus two?", "Four.", system=system)) is None


def test_first_line_is_reported(tmp_path: Path) -> None:
    index = Decontaminator(ngram=5, min_words=5)
    index.add("alpha beta gamma delta epsilon zeta", line=7)
    index.add("something else entirely with more words", line=3)
    index.add("alpha beta gamma delta epsilon again", line=9)
    assert index.find(["x alpha beta gamma delta epsilon y"]) == (7, 5)
    assert len(index) == 2 + 2 + 2 - 1  # the shared 5-gram counted once


def test_index_grows_after_lookups() -> None:
    index = Decontaminator(ngram=3, min_words=3)
    index.add("one two three", line=1)
    assert index.find(["four five six"]) is None
    index.add("four five six", line=2)
    assert index.find(["four five six"]) == (2, 3)
    assert index.find(["one two three"]) == (1, 3)


def test_unsegmented_text_uses_characters() -> None:
    # How the text is cut into characters: tests/text/test_normalize.py (tokens).
    index = Decontaminator(ngram=13)
    index.add("今天早上去上海的火车晚点了一个小时，乘客们都很着急。", line=4)
    drop = index(_ex("火车怎么了？", "听说今天早上去上海的火车晚点了一个小时。"))
    assert drop is not None and "line 4" in drop.detail
    assert index(_ex("火车怎么了？", "今天的火车准时到达了。")) is None


def test_hashes_are_stable_64_bit() -> None:
    hashes = gram_hashes(["a", "b", "c"], 2)
    assert len(hashes) == 2 and hashes[0] != hashes[1]
    assert all(0 <= h < 2**64 for h in hashes)
    assert gram_hashes(["a", "b"], 2) == hashes[:1]
    assert gram_hashes(["a"], 2) == []


def test_empty_index_never_drops() -> None:
    index = Decontaminator()
    index.add("too short", line=1)
    assert len(index) == 0
    assert index(_ex(QUESTION, ANSWER)) is None


def test_bad_settings_and_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        Decontaminator(ngram=0)
    with pytest.raises(ConfigError):
        Decontaminator(min_words=0)
    with pytest.raises(SeedError, match="no such file"):
        Decontaminator.from_file(tmp_path / "missing.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": []}\n{not json\n', encoding="utf-8")
    with pytest.raises(SeedError, match=r"bad\.jsonl:\d"):
        Decontaminator.from_file(bad)


def test_other_formats(tmp_path: Path) -> None:
    csv = tmp_path / "held.csv"
    csv.write_text(f'input,output\n"{QUESTION}",Seventy degrees.\n', encoding="utf-8")
    index = Decontaminator.from_file(csv)
    assert index.records == 1
    drop = index(_ex(QUESTION, "About seventy."))
    assert drop is not None and "line 2 (held.csv)" in drop.detail
