"""Tool-calling datasets end to end: seeds with tools -> teacher (FakeTeacher, the demo) ->
filters -> dedup -> split -> every format that carries tools -> validate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from synthgen import expand
from synthgen.data.shapes import parse_record
from synthgen.data.validate import validate_file
from synthgen.run.journal import JournalRecord
from synthgen.run.sizing import reply_token_limit
from tests.helpers import SAMPLES, read_jsonl, synthgen
from tests.tool_kit import (
    BOOKING,
    WEATHER,
    answer,
    broken_chats,
    call,
    calls,
    result,
    seed_line,
    user,
    weather_chat,
    write_seeds,
)

SEEDS = SAMPLES / "tools.jsonl"
BAD = ("unknown_tool", "invalid_arguments", "orphan_tool_message", "missing_final_answer")


def scripted(body: dict[str, Any], index: int) -> dict[str, Any]:
    """Two good conversations and one per drop reason, in every reply."""
    prompt = body["messages"][-1]["content"]
    assert "TOOLS (OpenAI function definitions, JSON): " in prompt  # the tools are offered
    assert "get_weather" in prompt and "book_table" in prompt
    bad = broken_chats(index)
    conversations = [weather_chat((index, 1)), *(bad[r] for r in BAD), weather_chat((index, 2))]
    return {"conversations": [{"messages": c} for c in conversations]}


def errors_of(path: Path) -> dict[str, int]:
    found = {k: v for k, v in validate_file(path).errors.items() if v}
    found.pop("too_few_examples", None)  # a small eval file is fine as a validation set
    return found


def test_each_bad_call_is_dropped_and_counted(make_fake_teacher, tmp_path: Path) -> None:
    fake = make_fake_teacher(handler=scripted)
    out = tmp_path / "out"
    result_ = expand(
        SEEDS, 12, model="m", base_url=fake.base_url, out_dir=out, per_request=6, concurrency=1
    )
    assert result_.complete
    report = json.loads((out / "report.json").read_text())
    requests = fake.request_count
    by_reason = report["rejected"]["by_reason"]
    assert {r: by_reason.get(r) for r in BAD} == dict.fromkeys(BAD, requests)
    rows = read_jsonl(out / ".synthgen" / "rejected.jsonl")
    assert {r: sum(row["reason"] == r for row in rows) for r in BAD} == {
        r: by_reason[r] for r in BAD
    }
    lines = read_jsonl(out / "train.jsonl") + read_jsonl(out / "eval.jsonl")
    assert len(lines) == 12
    for line in lines:
        names = [t["function"]["name"] for t in line["tools"]]
        assert names == ["get_weather", "book_table"]
        assert line["messages"][2]["tool_calls"][0]["function"]["name"] == "get_weather"
    assert errors_of(out / "train.jsonl") == {} and errors_of(out / "eval.jsonl") == {}


def booking_chat(place: str, size: int) -> list[dict[str, Any]]:
    return [
        user(f"A table for {size} at {place}, please."),
        calls(call("b1", "book_table", restaurant=place, party_size=size)),
        result("b1", f"confirmed, ref {place[:2].upper()}-{size}"),
        answer(f"Booked: {place}, {size} people, reference {place[:2].upper()}-{size}."),
    ]


def two_toolsets(tmp_path: Path) -> Path:
    """Weather seeds with the weather tool only, booking seeds with the booking tool only."""
    lines = [seed_line(weather_chat(i), [WEATHER], category="weather") for i in range(3)]
    lines += [
        seed_line(booking_chat(place, size), [BOOKING], category="booking")
        for place, size in (("Lume", 2), ("Mesa", 4), ("Tasca", 6))
    ]
    return write_seeds(tmp_path / "seeds.jsonl", lines)


@pytest.mark.parametrize("fmt", ["openai", "trl", "prompt-completion", "sharegpt"])
def test_per_row_tools_are_kept_in_every_format(make_fake_teacher, tmp_path, fmt) -> None:
    fake = make_fake_teacher()  # its generated replies call the tools the prompt lists
    out = tmp_path / "out"
    kw: dict[str, Any] = {"balance_by": "category", "concurrency": 2, "format": fmt}
    result_ = expand(
        two_toolsets(tmp_path), 12, model="m", base_url=fake.base_url, out_dir=out, **kw
    )
    assert result_.complete
    lines = read_jsonl(out / "train.jsonl") + read_jsonl(out / "eval.jsonl")
    assert len(lines) == 12
    by_category = {"weather": ["get_weather"], "booking": ["book_table"]}
    seen = []
    for line in lines:
        tools = json.loads(line["tools"]) if fmt == "sharegpt" else line["tools"]
        names = [t["name"] if fmt == "sharegpt" else t["function"]["name"] for t in tools]
        seen.append(names)
        if "metadata" in line:  # openai lines carry none
            assert names == by_category[line["metadata"]["category"]], line
        talk = json.dumps({k: v for k, v in line.items() if k != "tools"})
        called = {n for n in ("get_weather", "book_table") if n in talk}
        assert called == set(names), line  # each row calls only its own tools
    assert sorted(map(tuple, seen)) == [("book_table",)] * 6 + [("get_weather",)] * 6
    assert errors_of(out / "train.jsonl") == {}


def test_the_demo_teacher_writes_tool_calls_for_the_sample(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result_ = expand(SEEDS, 20, model="demo", out_dir=out)
    assert result_.complete
    train = read_jsonl(out / "train.jsonl")
    assert all(any("tool_calls" in m for m in line["messages"]) for line in train)
    assert all(line["messages"][-1]["role"] == "assistant" for line in train)
    report = validate_file(out / "train.jsonl")
    assert report.ok, report.errors


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        (
            seed_line(weather_chat(9), [BOOKING]),
            "message 2 calls 'get_weather', not a defined tool (book_table)",
        ),
        (
            seed_line(
                weather_chat(9),
                [{"type": "function", "function": {"name": "get_weather", "parameters": 5}}],
            ),
            "tool 1 function 'get_weather': parameters must be a JSON Schema object",
        ),
    ],
)
def test_bad_tool_seeds_exit_2_and_write_nothing(tmp_path: Path, line: str, fragment: str) -> None:
    seeds = write_seeds(tmp_path / "s.jsonl", [seed_line(weather_chat(1), [WEATHER]), line])
    out = tmp_path / "out"
    r = synthgen("expand", str(seeds), "-n", "5", "--model", "demo", "-o", str(out))
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert lines[-1] == f"synthgen: error: {seeds}:2: {fragment}", r.stderr
    assert "Traceback" not in r.stderr
    assert not out.exists()


def test_alpaca_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = synthgen(
        "expand", str(SEEDS), "-n", "5", "--model", "demo", "-o", str(out), "--format", "alpaca"
    )
    assert r.returncode == 2 and "alpaca has no place for tool calls" in r.stderr
    assert not out.exists()


def test_the_journal_keeps_tools_for_a_resume() -> None:
    ex = parse_record(
        {"messages": weather_chat(1), "tools": [WEATHER], "parallel_tool_calls": False}, "x"
    ).with_metadata(request=0)
    back = JournalRecord.model_validate_json(JournalRecord(i=0, src="sent", acc=[ex]).line())
    assert back.acc == [ex] and back.acc[0].tools == (WEATHER,)


def test_the_reply_limit_counts_the_calls_the_teacher_writes() -> None:
    chat = weather_chat(1)
    big = json.loads(json.dumps(chat))
    args = {"city": "x" * 3000, "date": "2025-01-01"}
    big[1]["tool_calls"][0]["function"]["arguments"] = json.dumps(args)
    small_ex = parse_record({"messages": chat, "tools": [WEATHER]}, "x")
    big_ex = parse_record({"messages": big, "tools": [WEATHER]}, "x")
    assert reply_token_limit([big_ex], 1, None) > reply_token_limit([small_ex], 1, None) + 900
