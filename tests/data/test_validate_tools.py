"""``synthgen validate`` on tool-calling lines: what synthgen writes passes, each tool error
kind is counted where it occurs."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from synthgen.data.formats import to_record
from synthgen.data.shapes import SHAPES, parse_record
from synthgen.data.validate import validate_file, validate_records
from tests.helpers import synthgen
from tests.tool_kit import TOOLS, WEATHER, call, calls, result, weather_chat

GOOD: dict[str, Any] = {"messages": weather_chat(0), "tools": TOOLS}


def broken(change: Any) -> dict[str, Any]:
    line = copy.deepcopy(GOOD)
    change(line)
    return line


def _set(path: tuple[Any, ...], value: Any) -> Any:
    def change(line: dict[str, Any]) -> None:
        target = line
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


ARGS = ("messages", 1, "tool_calls", 0, "function", "arguments")
BAD_KINDS = {
    "invalid_tools": _set(("tools",), [{"type": "function", "function": {"parameters": {}}}]),
    "invalid_tool_call": _set(("messages", 1, "tool_calls", 0), {"id": "c1", "type": "function"}),
    "unknown_tool": _set(("messages", 1, "tool_calls", 0, "function", "name"), "get_time"),
    "invalid_arguments": _set(ARGS, json.dumps({"city": 7, "date": "2025-01-01"})),
    "orphan_tool_message": _set(("messages", 2, "tool_call_id"), "nope"),
    "unanswered_tool_call": lambda line: line["messages"].pop(2),
    "parallel_tool_calls": lambda line: (
        line.update(parallel_tool_calls=False),
        line["messages"][1]["tool_calls"].append(
            call("c2", "get_weather", city="Rome", date="2025-01-01")
        ),
        line["messages"].insert(3, result("c2", "rain")),
    ),
    "duplicate_call_id": lambda line: (
        line["messages"].insert(
            3, calls(call("c1", "get_weather", city="Rome", date="2025-01-01"))
        ),
        line["messages"].insert(4, result("c1", "rain")),
    ),
}


@pytest.mark.parametrize("kind", list(BAD_KINDS))
def test_each_tool_error_kind(kind: str) -> None:
    lines = [(n, GOOD) for n in range(1, 11)] + [(11, broken(BAD_KINDS[kind]))]
    report = validate_records(lines, fmt="openai")
    assert report.errors == {kind: 1}, report.errors
    assert report.first_line == {kind: 11}
    assert report.n_valid == 10


def test_kinds_are_listed_with_the_chat_errors() -> None:
    for name in ("openai", "trl", "prompt-completion"):
        assert set(BAD_KINDS) <= set(SHAPES[name].errors)


def test_openai_wants_text_arguments_and_ids_trl_does_not() -> None:
    trl_style = broken(_set(ARGS, {"city": "Oslo", "date": "2025-01-01"}))
    del trl_style["messages"][1]["tool_calls"][0]["id"]
    del trl_style["messages"][2]["tool_call_id"]
    lines = [(n, trl_style) for n in range(1, 11)]
    assert validate_records(lines, fmt="trl").ok
    assert validate_records(lines, fmt="openai").errors == {
        "invalid_tool_call": 10,
        "orphan_tool_message": 10,
    }


def test_a_line_may_end_on_the_call_it_teaches() -> None:
    line = {"messages": weather_chat(0)[:2], "tools": [WEATHER]}
    assert validate_records([(n, line) for n in range(1, 11)]).ok


@pytest.mark.parametrize("fmt", ["openai", "trl", "prompt-completion", "sharegpt"])
def test_what_synthgen_writes_passes(tmp_path: Path, fmt: str) -> None:
    ex = parse_record(GOOD, "x").with_system("You are Trip.")
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps(to_record(ex, fmt)) + "\n" for _ in range(10)))
    report = validate_file(path, fmt=fmt)
    assert report.ok, report.errors
    assert report.n_valid == 10


def test_the_cli_names_the_kind_and_line(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    lines = [GOOD] * 10 + [broken(BAD_KINDS["unknown_tool"])]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    r = synthgen("validate", str(path))
    assert r.returncode == 1
    assert "error unknown_tool: 1 (first at line 11)" in r.stdout
