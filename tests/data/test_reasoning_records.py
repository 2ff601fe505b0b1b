"""reasoning_content on assistant messages: written by the formats that carry it, read back
(seeds, synthgen dedup/split), and checked by synthgen validate."""

from __future__ import annotations

from typing import Any

import pytest

from synthgen.data.example import Example, Message
from synthgen.data.formats import to_record
from synthgen.data.shapes import parse_record
from synthgen.data.validate import validate_records
from synthgen.errors import SeedError
from synthgen.text.tokens import count_chat_tokens

EXAMPLE = Example(
    messages=(
        Message(role="system", content="Be brief."),
        Message(role="user", content="2+2?"),
        Message(role="assistant", content="4.", reasoning_content="Two and two make four."),
    )
)
FINAL = {"role": "assistant", "content": "4.", "reasoning_content": "Two and two make four."}


@pytest.mark.parametrize(
    ("fmt", "where"),
    [
        ("openai", ("messages", -1)),
        ("trl", ("messages", -1)),
        ("prompt-completion", ("completion", 0)),
    ],
)
def test_formats_that_carry_reasoning_write_it_and_read_it_back(
    fmt: str, where: tuple[str, int]
) -> None:
    record = to_record(EXAMPLE, fmt)
    key, index = where
    assert record[key][index] == FINAL
    assert parse_record(record, "x.jsonl:1").messages == EXAMPLE.messages


def test_validate_accepts_reasoning_on_assistant_turns_only() -> None:
    line: dict[str, Any] = {"messages": [{"role": "user", "content": "2+2?"}, FINAL]}
    found = validate_records([(i, line) for i in range(1, 11)], fmt="openai")
    assert found.ok
    assert any("10 lines with reasoning_content" in w for w in found.warnings)
    # TRL's templates take it: no note there.
    assert not any("reasoning" in w for w in validate_records([(1, line)], fmt="trl").warnings)
    on_user = {"messages": [{**line["messages"][0], "reasoning_content": "x"}, FINAL]}
    not_text = {"messages": [line["messages"][0], {**FINAL, "reasoning_content": ["x"]}]}
    for bad in (on_user, not_text):
        assert validate_records([(1, bad)], fmt="trl").errors["message_unrecognized_key"] == 1


def test_seeds_refuse_reasoning_on_a_user_turn() -> None:
    with pytest.raises(SeedError, match="reasoning_content must be a string, on assistant"):
        parse_record(
            {"messages": [{"role": "user", "content": "q", "reasoning_content": "x"}, FINAL]},
            "seeds.jsonl:3",
        )


def test_reasoning_counts_as_trained_assistant_tokens() -> None:
    plain = [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4."}]
    _, without = count_chat_tokens(plain, "gpt-4o-mini")
    _, with_reasoning = count_chat_tokens([plain[0], FINAL], "gpt-4o-mini")
    assert with_reasoning > without
