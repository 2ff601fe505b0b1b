"""Reasoning on candidates (--reasoning): where it comes from, what drops, and that no <think>
block reaches an answer."""

from __future__ import annotations

import json
from typing import Any

import pytest

from synthgen.teacher import Completion
from tests.curate.test_curator import GOOD, conv, curator, plan, reasons


def traced(*conversations: dict[str, Any], trace: str = "", finish: str = "stop") -> Completion:
    text = json.dumps({"conversations": list(conversations)})
    return Completion(text, finish, reasoning=trace)


def one(n: int) -> Any:
    return lambda _plan: n


def assistant(out: Any, k: int = 0) -> dict[str, Any]:
    return out.accepted[k].to_chat()["messages"][-1]


def test_keep_puts_the_trace_of_a_one_conversation_reply_on_its_answer() -> None:
    out = curator(asked=one(1), keep_reasoning=True).curate(
        plan(), traced(GOOD[0], trace="Spiders are arachnids: eight legs.")
    )
    assert assistant(out) == {
        "role": "assistant",
        "content": GOOD[0]["messages"][1]["content"],
        "reasoning_content": "Spiders are arachnids: eight legs.",
    }


def test_drop_keeps_no_reasoning() -> None:
    out = curator(asked=one(1)).curate(plan(), traced(GOOD[0], trace="Spiders: eight legs."))
    assert "reasoning_content" not in assistant(out) and not out.drops


def test_keep_drops_a_one_conversation_reply_without_a_trace() -> None:
    out = curator(asked=one(1), keep_reasoning=True).curate(plan(), traced(GOOD[0]))
    assert reasons(out) == ["no_reasoning"] and not out.accepted
    assert "no reasoning trace" in out.drops[0]["detail"]


def test_several_conversations_take_the_reasoning_the_teacher_wrote() -> None:
    written = json.loads(json.dumps(GOOD[:3]))
    written[0]["messages"][1]["reasoning"] = "Count the legs: eight."
    written[1]["messages"][1]["reasoning"] = "Clear sky scatters blue light."
    out = curator(asked=one(3), keep_reasoning=True).curate(
        plan(), traced(*written, trace="I will write three conversations about ...")
    )
    got = [e.to_chat()["messages"][-1].get("reasoning_content") for e in out.accepted]
    assert got == ["Count the legs: eight.", "Clear sky scatters blue light."]
    # The batch's trace belongs to no one example: the third, without its own, is dropped.
    assert reasons(out) == ["no_reasoning"]


def test_a_leading_think_block_in_an_answer_is_split_off() -> None:
    answer = GOOD[0]["messages"][1]["content"]
    inline = conv("How many legs does a spider have?", f"<think>Arachnids.</think>\n\n{answer}")
    kept = curator(asked=one(1), keep_reasoning=True).curate(plan(), traced(inline))
    assert assistant(kept)["content"] == answer
    assert assistant(kept)["reasoning_content"] == "Arachnids."
    dropped = curator(asked=one(1)).curate(plan(), traced(inline))
    assert assistant(dropped) == {"role": "assistant", "content": answer}


@pytest.mark.parametrize("keep", [False, True])
def test_a_think_tag_never_reaches_an_answer(keep: bool) -> None:
    leaks = [
        conv("Spiders?", "Eight legs. <think>was that right?</think> Yes."),
        conv("Sky?", "<think>it is blue, I am still thinking"),
        conv("Bees?", "<think>honey</think>"),
    ]
    out = curator(asked=one(3), keep_reasoning=keep).curate(plan(), traced(*leaks, trace="t"))
    assert reasons(out) == ["think_leak", "think_leak", "empty_content"] and not out.accepted


def test_a_reply_whose_trace_never_ends_is_dropped_as_cut() -> None:
    c = curator(asked=one(1), keep_reasoning=True)
    cut = Completion("<think>so the spider has", "stop")
    out = c.curate(plan(), cut)
    assert reasons(out) == ["reasoning_cut"] and out.candidates == 0
    assert c.worth_judging(plan(), cut) == {}


def test_dedup_compares_answers_not_reasoning() -> None:
    c = curator(asked=one(1), keep_reasoning=True)
    assert c.curate(plan(0), traced(GOOD[0], trace="First line of thought.")).accepted
    again = c.curate(plan(1), traced(GOOD[0], trace="An entirely different line of thought."))
    assert reasons(again) == ["exact_duplicate"]
