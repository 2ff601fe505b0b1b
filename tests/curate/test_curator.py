"""The curator on its own: one reply in, accepted examples and counted drops out."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from synthgen.curate.curator import Curator
from synthgen.curate.filters import QualityFilter
from synthgen.data.example import Example
from synthgen.prompts.plan import RequestPlan
from synthgen.teacher import ChatRequest, Completion
from synthgen.teacher.demo import demo_teacher
from synthgen.text.index import DedupIndex

SYSTEM = "Marv is a factual chatbot that is also sarcastic."
SEEDS = [
    Example.from_pairs([("user", q), ("assistant", a)], system=SYSTEM, metadata={"category": c})
    for q, a, c in [
        ("What's the capital of France?", "Paris, as if everyone doesn't know already.", "geo"),
        ("Who wrote Hamlet?", "Some guy called Shakespeare. Ever heard of him?", "books"),
        ("How far is the Moon?", "About 384,400 km. Give or take, as if it matters.", "geo"),
    ]
]


def conv(user: str, assistant: str) -> dict[str, Any]:
    return {
        "messages": [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
    }


GOOD = [
    conv("How many legs does a spider have?", "Eight. Count them yourself if you doubt me."),
    conv("What colour is the sky on a clear day?", "Blue. Groundbreaking stuff, I know."),
    conv("How many days are in a leap year?", "Three hundred sixty-six, one more to enjoy."),
    conv("What do bees make?", "Honey, and a lot of noise about it, honestly."),
]


def reply(*conversations: dict[str, Any], finish: str = "stop") -> Completion:
    return Completion(json.dumps({"conversations": list(conversations)}), finish)


def curator(quotas: dict[str | None, int] | None = None, **options: Any) -> Curator:
    quotas = quotas or {None: 100}
    return Curator(
        system=SYSTEM,
        quality=QualityFilter.from_seeds(SEEDS),
        index=DedupIndex(),
        quotas=quotas,
        balance_by=None if None in quotas else "category",
        seeds=SEEDS,
        **options,
    )


def plan(ordinal: int = 0, category: str | None = None) -> RequestPlan:
    return RequestPlan(ordinal=ordinal, category=category, shots=(0, 2))


def reasons(outcome: Any) -> list[str]:
    return [row["reason"] for row in outcome.drops]


def test_good_candidates_are_accepted_with_their_origin() -> None:
    c = curator()
    out = c.curate(plan(3), reply(*GOOD[:2]))
    assert out.candidates == 2 and not out.drops and out.surplus == 0
    assert [e.metadata for e in out.accepted] == [
        {"request": 3, "n": 0, "seeds": [0, 2]},
        {"request": 3, "n": 1, "seeds": [0, 2]},
    ]
    assert out.accepted[0].system == SYSTEM and c.accepted == out.accepted
    # Everything accepted is in the index from then on.
    again = c.curate(plan(4), reply(GOOD[1], GOOD[2]))
    assert reasons(again) == ["exact_duplicate"] and len(again.accepted) == 1


def test_whole_reply_drops_keep_the_text() -> None:
    c = curator()
    cut = c.curate(plan(), reply(*GOOD, finish="length"))
    assert reasons(cut) == ["truncated"] and cut.candidates == 0 and "text" in cut.drops[0]
    junk = c.curate(plan(1), Completion("I cannot help with JSON today.", "stop"))
    assert reasons(junk) == ["unparseable"] and junk.drops[0]["request"] == 1


def test_each_candidate_is_dropped_for_its_first_failing_check() -> None:
    copy = conv("What's the capital of France?", "Paris, as if everyone doesn't know already.")
    broken = {"messages": [{"role": "assistant", "content": "Hello."}]}
    empty = conv("Anything?", "")
    refusal = conv("Tell me a joke.", "As an AI language model, I cannot do that.")
    out = curator().curate(plan(), reply(GOOD[0], copy, broken, empty, refusal, GOOD[0]))
    assert out.candidates == 6 and len(out.accepted) == 1
    assert reasons(out) == ["seed_copy", "schema", "empty_content", "refusal", "exact_duplicate"]
    assert out.drops[0]["messages"] == copy["messages"]


def test_a_copy_of_a_shown_example_is_dropped() -> None:
    shown = GOOD[0]["messages"][1]["content"] + " They are arachnids, not insects, sadly."
    request = ChatRequest(
        messages=({"role": "user", "content": f"Examples: {shown} Write exactly 2."},),
        shown=(shown,),
    )
    out = curator().curate(plan(), reply(conv("Spiders?", shown), GOOD[1]), request)
    assert reasons(out) == ["copies_example"] and len(out.accepted) == 1


def test_a_full_category_turns_good_candidates_into_surplus() -> None:
    c = curator({"geo": 2, "books": 1})
    out = c.curate(plan(0, "geo"), reply(*GOOD[:3]))
    assert len(out.accepted) == 2 and out.surplus == 1 and not out.drops
    assert [e.metadata["category"] for e in out.accepted] == ["geo", "geo"]
    assert c.full("geo") and not c.done
    assert c.curate(plan(1, "books"), reply(GOOD[3])).accepted and c.done
    assert c.worth_judging(plan(2, "geo"), reply(GOOD[3])) == {}  # nothing left to judge


def test_worth_judging_skips_what_curation_would_drop_anyway() -> None:
    c = curator()
    c.curate(plan(), reply(GOOD[0]))
    worth = c.worth_judging(plan(1), reply(GOOD[0], GOOD[1], {"messages": []}, GOOD[2]))
    assert sorted(worth) == [1, 3]
    assert c.worth_judging(plan(1), reply(GOOD[1], finish="length")) == {}
    assert c.accepted == [c.accepted[0]]  # judging admits nothing


def test_judge_verdicts_drop_low_scores_and_keep_unscored() -> None:
    c = curator(min_score=6)
    verdicts = {0: (9, "fine"), 1: (3, "off topic"), 2: (None, "unreadable")}
    out = c.curate(plan(), reply(*GOOD), scores=verdicts)
    assert reasons(out) == ["low_score"]
    assert out.drops[0]["detail"] == "judge scored 3/10 < 6: off topic"
    assert [e.metadata["judge_score"] for e in out.accepted] == [9, None, None]  # 3: not judged


def test_restored_examples_count_and_are_known_to_the_index() -> None:
    c = curator({"geo": 2, "books": 2})
    example = Example.from_pairs(
        [
            ("user", GOOD[0]["messages"][0]["content"]),
            ("assistant", GOOD[0]["messages"][1]["content"]),
        ],
        system=SYSTEM,
        metadata={"request": 0, "n": 0, "category": "geo"},
    )
    c.restore(example, "geo", "0:r0")
    assert c.filled == {"geo": 1, "books": 0} and c.accepted == [example]
    out = c.curate(plan(1, "geo"), reply(GOOD[0]))
    assert reasons(out) == ["exact_duplicate"]


def test_a_reply_of_the_in_process_demo_teacher_is_accepted_whole() -> None:
    request = ChatRequest(messages=({"role": "user", "content": "Write exactly 4 conversations."},))
    completion = asyncio.run(demo_teacher().complete(request))
    out = curator().curate(plan(), completion, request)
    assert out.candidates == 4 and len(out.accepted) == 4 and not out.drops
