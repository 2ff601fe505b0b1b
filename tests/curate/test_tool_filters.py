"""The schema filter on a teacher's tool-calling conversations."""

from __future__ import annotations

import json

import pytest

from synthgen.curate.drop import Drop
from synthgen.curate.filters import QualityFilter, to_example
from synthgen.data.example import Example
from tests.tool_kit import (
    TOOLS,
    WEATHER,
    answer,
    broken_chats,
    call,
    calls,
    result,
    user,
    weather_chat,
)


def build(raw, tools=TOOLS, parallel=None) -> Example | Drop:
    return to_example(raw, system="S", metadata={"n": 0}, tools=tools, parallel=parallel)


def test_a_good_conversation_keeps_the_tools() -> None:
    ex = build(weather_chat(1))
    assert isinstance(ex, Example)
    assert ex.tools == tuple(TOOLS) and ex.system == "S" and ex.metadata == {"n": 0}
    assert [m.role for m in ex.turns] == ["user", "assistant", "tool", "assistant"]
    assert ex.turns[1].content == "" and ex.turns[1].tool_calls is not None
    assert QualityFilter(min_chars=1)(ex) is None  # a turn that only calls is no placeholder


@pytest.mark.parametrize("reason", list(broken_chats(0)))
def test_each_broken_conversation_is_dropped_for_its_reason(reason: str) -> None:
    drop = build(broken_chats(7)[reason])
    assert isinstance(drop, Drop) and drop.reason == reason, drop


def test_parallel_calls_when_the_seeds_forbid_them() -> None:
    two = [
        user("Rome and Milan?"),
        calls(
            call("a", "get_weather", city="Rome", date="2025-04-18"),
            call("b", "get_weather", city="Milan", date="2025-04-18"),
        ),
        result("a", "sunny"),
        result("b", "rain"),
        answer("Sunny in Rome, rain in Milan."),
    ]
    assert isinstance(build(two), Example)
    drop = build(two, parallel=False)
    assert isinstance(drop, Drop) and drop.reason == "parallel_tool_calls"


def test_what_teachers_write_loosely_is_read() -> None:
    raw = [
        user("Weather in Oslo?"),
        {  # flat call, arguments as an object, no id
            "role": "assistant",
            "tool_calls": [
                {"name": "get_weather", "arguments": {"city": "Oslo", "date": "2025-01-02"}}
            ],
        },
        {"role": "tool", "content": {"summary": "snow"}},  # no id, JSON result
        answer("Snow in Oslo."),
    ]
    ex = build(raw, tools=[WEATHER])
    assert isinstance(ex, Example)
    made = ex.turns[1].tool_calls
    assert made is not None and ex.turns[2].tool_call_id == made[0].id
    assert json.loads(ex.turns[2].content) == {"summary": "snow"}


def test_without_tools_a_plain_answer_still_passes_and_a_call_does_not() -> None:
    plain = build([user("What can you do?"), answer("Check weather and book tables.")])
    assert isinstance(plain, Example) and plain.tools == tuple(TOOLS)
    drop = to_example(weather_chat(1), system=None, metadata={})
    assert isinstance(drop, Drop) and drop.reason == "unknown_tool"


def test_the_card_explains_every_tool_reason() -> None:
    from synthgen.data.tools import TOOL_DROP_REASONS
    from synthgen.report.card import REASONS

    assert set(TOOL_DROP_REASONS) <= set(REASONS)
