"""Both OpenAI-compatible transports read a reasoning model's trace apart from its answer,
however the endpoint sends it, with the tokens it took."""

from __future__ import annotations

import pytest

from synthgen.teacher import Completion, make_teacher
from synthgen.testing import Reply
from synthgen.text.tokens import count_text_tokens
from tests.teacher.test_teacher import TRANSPORTS, complete

ANSWER = '{"conversations": []}'
TRACE = "Two conversations about spiders; keep them short."


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("shape", ["reasoning_content", "reasoning", "think"])
def test_the_trace_is_read_apart_from_the_answer(
    make_fake_teacher: object, transport: str, shape: str
) -> None:
    reply = Reply(ANSWER, reasoning=TRACE, reasoning_as=shape, reasoning_tokens=17)
    fake = make_fake_teacher(replies=[reply])  # type: ignore[operator]
    got = complete(make_teacher("m", base_url=fake.base_url, transport=transport))
    assert (got.text, got.reasoning, got.reasoning_tokens) == (ANSWER, TRACE, 17)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_unreported_reasoning_tokens_are_counted_from_the_trace(
    make_fake_teacher: object, transport: str
) -> None:
    # vLLM's parsers send the trace without completion_tokens_details; some servers send
    # the details with zeros whatever happened.
    replies = [
        Reply(ANSWER, reasoning=TRACE),
        Reply(ANSWER, reasoning=TRACE, reasoning_as="think", reasoning_tokens=0),
    ]
    fake = make_fake_teacher(replies=replies)  # type: ignore[operator]
    for _ in replies:
        got = complete(make_teacher("o4-mini", base_url=fake.base_url, transport=transport))
        assert got.text == ANSWER
        assert got.reasoning_tokens == count_text_tokens(TRACE, "o4-mini") > 0


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_cut_trace_stays_in_the_text_and_its_tokens_count(
    make_fake_teacher: object, transport: str
) -> None:
    fake = make_fake_teacher(replies=[Reply("<think>so the first conversation is")])  # type: ignore[operator]
    got = complete(make_teacher("o4-mini", base_url=fake.base_url, transport=transport))
    assert got.text == "<think>so the first conversation is" and got.reasoning == ""
    assert got.reasoning_tokens == count_text_tokens("so the first conversation is", "o4-mini")


def test_the_cache_keeps_the_trace_and_reads_old_entries_as_without() -> None:
    c = Completion(ANSWER, "stop", 10, 30, 0, reasoning=TRACE, reasoning_tokens=12)
    assert Completion.from_dict(c.to_dict()) == c
    plain = Completion(ANSWER, "stop", 10, 30)
    assert "reasoning" not in plain.to_dict()  # entries of runs without traces are unchanged
    assert Completion.from_cached({**plain.to_dict(), "reasoning_tokens": -1}) is None
    assert Completion.from_dict(plain.to_dict()) == plain
