"""``dedup()`` over Examples: first occurrences kept, seed copies tagged."""

from __future__ import annotations

import synthgen
from synthgen.data.dedup import dedup
from synthgen.data.example import Example
from tests.near_copies import planted_pairs


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


def test_public_names() -> None:
    assert synthgen.dedup is dedup
    assert synthgen.DedupIndex.__module__ == "synthgen.text.index"
