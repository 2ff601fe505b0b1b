"""The one lenient JSON extractor the reply parser and the judge share."""

from __future__ import annotations

import json
from typing import Any

import pytest

from synthgen.prompts.json_extract import ParseError, extract_json
from synthgen.prompts.reply import ParseError as ReplyParseError
from synthgen.prompts.reply import parse_reply


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ('```json\n{"a": 1}\n```', {"a": 1}),
        ('```JSON{"a": 1}```', {"a": 1}),
        ("```\n[1, 2]\n```", [1, 2]),
        ('Sure! {"a": {"b": 2}} Hope it helps.', {"a": {"b": 2}}),
        ("Here: [1, 2] done", [1, 2]),
        ("3", 3),  # any JSON value, unless the caller asks for a type
    ],
)
def test_extracts_fenced_or_surrounded_json(text: str, expected: Any) -> None:
    assert extract_json(text) == expected


def test_first_fence_that_parses_wins() -> None:
    text = '```json\n{broken\n```\nthen\n```json\n{"ok": true}\n```'
    assert extract_json(text) == {"ok": True}


def test_wanted_type_skips_other_values() -> None:
    text = '```\n[1]\n```\nand the object: {"score": 4}'
    assert extract_json(text) == [1]
    assert extract_json(text, dict) == {"score": 4}
    with pytest.raises(ParseError, match="no JSON object"):
        extract_json("[1, 2]", dict)


@pytest.mark.parametrize(("text", "why"), [("", "empty reply"), ("  \n", "empty reply")])
def test_blank_text(text: str, why: str) -> None:
    with pytest.raises(ParseError, match=why):
        extract_json(text)


def test_no_json() -> None:
    with pytest.raises(ParseError, match="no JSON object found in the reply"):
        extract_json('{"a": [')


def test_reply_parse_error_is_the_same_type() -> None:
    assert ReplyParseError is ParseError
    assert issubclass(ParseError, ValueError)


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,  # raised RecursionError inside json.loads
        '{"a": ' * 5_000 + "1" + "}" * 5_000,
        "[" * 200 + "]" * 200,  # parses, but deeper than anything may be read
        "Here you go: " + "[" * 100_000 + "]" * 100_000 + " enjoy",
    ],
)
def test_nesting_beyond_the_limit_is_a_parse_error(text: str) -> None:
    with pytest.raises(ParseError, match="nested more than 64 levels"):
        extract_json(text)
    with pytest.raises(ParseError, match="nested more than 64 levels"):
        parse_reply(text)


def test_nesting_within_the_limit_is_read() -> None:
    assert extract_json("[" * 64 + "]" * 64) is not None


def test_lone_surrogates_become_replacement_characters() -> None:
    text = '{"conversations": [{"messages": [{"role": "user", "content": "hi \\ud83d"}]}]}'
    data = extract_json(text)
    content = data["conversations"][0]["messages"][0]["content"]
    assert content == "hi \ufffd"
    content.encode("utf-8")  # what dedup, the journal and the output do with it
    # A whole emoji (a surrogate pair) is a character, and is kept.
    assert extract_json('["\\ud83d\\ude00"]') == ["\U0001f600"]
    assert extract_json('{"k\\udc00": 1}') == {"k\ufffd": 1}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('["hi \\uD83D"]', ["hi \ufffd"]),  # upper-case hex
        ('["hi \\udfff", "\\u00e9"]', ["hi \ufffd", "é"]),
        ('["raw \ud83d surrogate"]', ["raw \ufffd surrogate"]),  # in the text, not escaped
        ('["no escape \\\\ud83d"]', ["no escape \\ud83d"]),  # an escaped backslash: text
        ('["plain ascii", {"k": "zażółć"}]', ["plain ascii", {"k": "zażółć"}]),
    ],
)
def test_surrogates_are_replaced_however_they_are_written(text: str, expected: Any) -> None:
    assert extract_json(text) == expected


def test_many_shallow_brackets_are_read() -> None:
    """More brackets than the depth limit, none deeper than 2: read, not refused."""
    assert extract_json(json.dumps([[i] for i in range(500)])) == [[i] for i in range(500)]
