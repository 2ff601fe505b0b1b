"""Tool-calling records: read from seeds (per-row tools kept, one-line errors), written in
every format that can carry them and read back, and seen by dedup and the split."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from synthgen.data.dedup import dedup
from synthgen.data.example import Example
from synthgen.data.formats import to_record
from synthgen.data.seeds import load_seeds, read_records
from synthgen.data.shapes import parse_record
from synthgen.data.split import clusters
from synthgen.errors import InputError, SeedError
from tests.tool_kit import (
    BOOKING,
    TOOLS,
    WEATHER,
    answer,
    call,
    calls,
    result,
    seed_line,
    user,
    weather_chat,
    write_seeds,
)


def example(messages, tools=TOOLS, **extra) -> Example:
    return parse_record({"messages": messages, "tools": tools, **extra}, "x")


def test_seeds_keep_their_own_tools(tmp_path: Path) -> None:
    booking = [
        user("A table for 2 at Lume?"),
        calls(call("b1", "book_table", restaurant="Lume", party_size=2)),
        result("b1", "confirmed"),
        answer("Booked."),
    ]
    path = write_seeds(
        tmp_path / "s.jsonl",
        [
            seed_line(weather_chat(1), [WEATHER]),
            seed_line(booking, [BOOKING], parallel_tool_calls=False),
            json.dumps({"messages": [user("Hi"), answer("Hello.")]}),
        ],
    )
    seeds = load_seeds(path)
    assert [[t["function"]["name"] for t in ex.tools] for ex in seeds.examples] == [
        ["get_weather"],
        ["book_table"],
        [],
    ]
    assert seeds.examples[1].parallel_tool_calls is False
    first = seeds.examples[0]
    assert first.messages[1].tool_calls is not None
    assert first.messages[1].tool_calls[0].name == "get_weather"
    assert first.messages[2].tool_call_id == "c1"
    assert "tools" not in first.metadata  # read as tools, not as an extra column


def bad(tmp_path: Path, line: str) -> str:
    path = write_seeds(tmp_path / "s.jsonl", [seed_line(weather_chat(0), TOOLS), line])
    with pytest.raises(SeedError) as info:
        load_seeds(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{path}:2: ")
    return message


def test_a_call_of_no_defined_tool_is_one_line(tmp_path: Path) -> None:
    line = seed_line(weather_chat(1), [BOOKING])
    assert "message 2 calls 'get_weather', not a defined tool (book_table)" in bad(tmp_path, line)
    no_tools = json.dumps({"messages": weather_chat(1)})
    assert "not a defined tool (none)" in bad(tmp_path, no_tools)


def test_a_tool_schema_that_is_not_json_schema_is_one_line(tmp_path: Path) -> None:
    broken = {"type": "function", "function": {"name": "f", "parameters": {"type": "objekt"}}}
    message = bad(tmp_path, seed_line(weather_chat(1), [WEATHER, broken]))
    assert "tool 2 function 'f': parameters is not a valid JSON Schema" in message


@pytest.mark.parametrize(
    ("messages", "tools", "fragment"),
    [
        (
            [user("q"), calls(call("c1", "book_table", restaurant="X", party_size=40))],
            TOOLS,
            "message 2: book_table: 40 is greater than the maximum of 12 (at party_size)",
        ),
        ([user("q"), result("c7", "x"), answer("a")], TOOLS, "tool_call_id 'c7'"),
        (weather_chat(1), [WEATHER, WEATHER], "defined twice"),
        (weather_chat(1), "not json", "'tools' is a string that is not JSON"),
        (weather_chat(1), [{"type": "retrieval"}], "tool 1 has type 'retrieval'"),
    ],
)
def test_broken_tool_seeds(tmp_path: Path, messages, tools, fragment) -> None:
    assert fragment in bad(tmp_path, seed_line(messages, tools))


def test_trl_rows_with_object_arguments_and_no_ids(tmp_path: Path) -> None:
    row = {
        "messages": [
            user("Weather in Oslo on 2025-01-02?"),
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "type": "function",
                        "function": {
                            "name": "get_weather",
                            "arguments": {"city": "Oslo", "date": "2025-01-02"},
                        },
                    }
                ],
            },
            {"role": "tool", "name": "get_weather", "content": "snow"},
            answer("Snow in Oslo."),
        ],
        "tools": TOOLS,
        "category": "weather",
    }
    ex = parse_record(row, "x")
    tool_msg = ex.messages[2]
    assert tool_msg.tool_call_id == ex.messages[1].tool_calls[0].id  # type: ignore[index]
    assert json.loads(ex.messages[1].tool_calls[0].function.arguments)["city"] == "Oslo"  # type: ignore[index]
    assert ex.metadata == {"category": "weather"}


def tool_example() -> Example:
    return example(weather_chat(3)).with_system("You are Trip.").with_metadata(category="w")


def test_openai_line_is_the_fine_tuning_format() -> None:
    line = to_record(tool_example(), "openai")
    assert set(line) == {"messages", "tools"}
    call_turn = line["messages"][2]
    assert "content" not in call_turn
    assert isinstance(call_turn["tool_calls"][0]["function"]["arguments"], str)
    assert line["messages"][3] == {"role": "tool", "content": line["messages"][3]["content"],
                                   "tool_call_id": "c1"}  # fmt: skip


def test_trl_and_prompt_completion_rows() -> None:
    trl = to_record(tool_example(), "trl")
    assert trl["tools"] == TOOLS and trl["metadata"] == {"category": "w"}
    arguments = trl["messages"][2]["tool_calls"][0]["function"]["arguments"]
    assert arguments == {"city": "Lisbon", "date": "2025-06-14"}
    assert trl["messages"][3]["name"] == "get_weather"
    pc = to_record(tool_example(), "prompt-completion")
    assert pc["tools"] == TOOLS
    assert [m["role"] for m in pc["prompt"]] == ["system", "user", "assistant", "tool"]
    assert pc["completion"][0]["role"] == "assistant"


def test_sharegpt_uses_llama_factory_function_call_and_observation() -> None:
    row = to_record(tool_example(), "sharegpt")
    assert [t["from"] for t in row["conversations"]] == [
        "system",
        "human",
        "function_call",
        "observation",
        "gpt",
    ]
    called = json.loads(row["conversations"][2]["value"])
    assert called == {"name": "get_weather", "arguments": {"city": "Lisbon", "date": "2025-06-14"}}
    assert json.loads(row["tools"]) == [WEATHER["function"], BOOKING["function"]]


def test_parallel_calls_in_sharegpt_are_lists() -> None:
    ex = example(
        [
            user("Rome and Milan?"),
            calls(
                call("a", "get_weather", city="Rome", date="2025-04-18"),
                call("b", "get_weather", city="Milan", date="2025-04-18"),
            ),
            result("a", "sunny"),
            result("b", "rain"),
            answer("Rome is sunny, Milan rainy."),
        ]
    )
    row = to_record(ex, "sharegpt")
    assert len(json.loads(row["conversations"][1]["value"])) == 2
    assert json.loads(row["conversations"][2]["value"]) == ["sunny", "rain"]
    back = parse_record(row, "x")
    assert [m.content for m in back.messages if m.role == "tool"] == ["sunny", "rain"]
    assert back.dedup_text() == ex.dedup_text()


@pytest.mark.parametrize("fmt", ["openai", "trl", "prompt-completion", "sharegpt"])
def test_every_tool_format_reads_back(tmp_path: Path, fmt: str) -> None:
    ex = tool_example()
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps(to_record(ex, fmt)) + "\n", encoding="utf-8")
    (_, back), *_ = read_records(path)
    assert back.tools == ex.tools
    assert back.dedup_text() == ex.dedup_text()
    assert to_record(back, fmt) == to_record(ex, fmt)


def test_alpaca_cannot_carry_tool_calls() -> None:
    with pytest.raises(InputError, match="Alpaca has no place for tool calls"):
        to_record(tool_example(), "alpaca")


def reordered(ex: Example) -> Example:
    """``ex`` with the keys of its calls' arguments in the other order."""
    line = ex.to_chat()
    for m in line["messages"]:
        for c in m.get("tool_calls", []):
            args = json.loads(c["function"]["arguments"])
            c["function"]["arguments"] = json.dumps(dict(reversed(list(args.items()))))
    return parse_record(line, "x")


def test_dedup_and_split_see_the_calls() -> None:
    ex = example(weather_chat(5, city="Lisbon"))
    same_call = reordered(ex)
    assert same_call.to_chat() != ex.to_chat()
    assert same_call.dedup_text() == ex.dedup_text()
    assert 'get_weather {"city":"Lisbon","date":"2025-06-14"}' in ex.dedup_text()
    # Words the same, the call another: another intent, not a duplicate.
    other_call = example(weather_chat(5, city="Lisbon"))
    line = other_call.to_chat()
    line["messages"][1]["tool_calls"][0]["function"]["name"] = "book_table"
    line["messages"][1]["tool_calls"][0]["function"]["arguments"] = json.dumps(
        {"restaurant": "Tasca do Chico in Alfama", "party_size": 7}
    )
    other = parse_record(line, "x")
    assert other.dedup_text() != ex.dedup_text()
    kept, dropped = dedup([ex, same_call, other], threshold=0.95)
    assert kept == [ex, other] and [d for d, _ in dropped] == [same_call]
    assert [0, 1] in clusters([ex, same_call, other], threshold=0.95)
