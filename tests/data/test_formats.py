from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from synthgen.data.example import Example, Message
from synthgen.data.formats import FORMATS, detect_format, to_record, write_json, write_jsonl
from synthgen.data.shapes import parse_record, parse_shaped
from synthgen.errors import ConfigError, InputError

SYS = "You answer in one sentence."
SINGLE = [("user", "What is 2+2?"), ("assistant", "4.")]
MULTI = [("user", "Hi"), ("assistant", "Hello!"), ("user", "What is 2+2?"), ("assistant", "4.")]


META = {"category": "math", "seeds": [3, 7]}


def ex(pairs: list[tuple[str, str]], system: str | None = None) -> Example:
    return Example.from_pairs(pairs, system=system, metadata=META)


def chat(pairs: list[tuple[str, str]], system: str | None = None) -> list[dict[str, str]]:
    head = [{"role": "system", "content": system}] if system is not None else []
    return head + [{"role": r, "content": c} for r, c in pairs]


SHAREGPT_ROLE = {"system": "system", "user": "human", "assistant": "gpt"}


def sharegpt(pairs: list[tuple[str, str]], system: str | None = None) -> dict[str, Any]:
    return {
        "conversations": [
            {"from": SHAREGPT_ROLE[m["role"]], "value": m["content"]} for m in chat(pairs, system)
        ]
    }


CASES: list[tuple[str, list[tuple[str, str]], str | None, dict[str, Any]]] = [
    ("openai", SINGLE, None, {"messages": chat(SINGLE)}),
    ("openai", SINGLE, SYS, {"messages": chat(SINGLE, SYS)}),
    ("openai", MULTI, None, {"messages": chat(MULTI)}),
    ("openai", MULTI, SYS, {"messages": chat(MULTI, SYS)}),
    ("trl", SINGLE, None, {"messages": chat(SINGLE)}),
    ("trl", MULTI, SYS, {"messages": chat(MULTI, SYS)}),
    ("sharegpt", SINGLE, None, sharegpt(SINGLE)),
    ("sharegpt", SINGLE, SYS, sharegpt(SINGLE, SYS)),
    ("sharegpt", MULTI, None, sharegpt(MULTI)),
    ("sharegpt", MULTI, SYS, sharegpt(MULTI, SYS)),
    (
        "prompt-completion",
        SINGLE,
        None,
        {"prompt": chat(SINGLE[:1]), "completion": [{"role": "assistant", "content": "4."}]},
    ),
    (
        "prompt-completion",
        SINGLE,
        SYS,
        {"prompt": chat(SINGLE[:1], SYS), "completion": [{"role": "assistant", "content": "4."}]},
    ),
    (
        "prompt-completion",
        MULTI,
        None,
        {"prompt": chat(MULTI[:3]), "completion": [{"role": "assistant", "content": "4."}]},
    ),
    (
        "prompt-completion",
        MULTI,
        SYS,
        {"prompt": chat(MULTI[:3], SYS), "completion": [{"role": "assistant", "content": "4."}]},
    ),
    ("alpaca", SINGLE, None, {"instruction": "What is 2+2?", "input": "", "output": "4."}),
    (
        "alpaca",
        SINGLE,
        SYS,
        {"instruction": "What is 2+2?", "input": "", "output": "4.", "system": SYS},
    ),
    (
        "alpaca",
        MULTI,
        None,
        {"instruction": "What is 2+2?", "input": "", "output": "4.", "history": [["Hi", "Hello!"]]},
    ),
    (
        "alpaca",
        MULTI,
        SYS,
        {
            "instruction": "What is 2+2?",
            "input": "",
            "output": "4.",
            "system": SYS,
            "history": [["Hi", "Hello!"]],
        },
    ),
]


@pytest.mark.parametrize(("fmt", "pairs", "system", "expected"), CASES)
def test_to_record(
    fmt: str, pairs: list[tuple[str, str]], system: str | None, expected: dict[str, Any]
) -> None:
    assert to_record(ex(pairs, system), fmt, metadata=False) == expected
    # Every format but openai keeps the metadata, in one object after the record's own keys.
    with_metadata = expected if fmt == "openai" else {**expected, "metadata": META}
    record = to_record(ex(pairs, system), fmt)
    assert record == with_metadata
    assert list(record) == list(with_metadata)


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_metadata_object_when_there_is_none(fmt: str) -> None:
    assert "metadata" not in to_record(Example.from_pairs(MULTI), fmt)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("system", [None, SYS])
def test_reading_a_written_record_gives_the_example_back(fmt: str, system: str | None) -> None:
    """Issue 9 item 7: alpaca's history and every format's metadata were lost on the way back
    (synthgen split --balance-by on a written file found no category)."""
    example = ex(MULTI, system)
    back = parse_record(json.loads(json.dumps(to_record(example, fmt))), "x.jsonl:1")
    assert back.messages == example.messages
    assert back.metadata == ({} if fmt == "openai" else META)


def test_prompt_completion_follows_trl_not_a_joined_transcript() -> None:
    """Issue 9 item 7: turns were joined into one string with no separator and no stop
    sequence. TRL's conversational form leaves both to the chat template."""
    record = to_record(ex(MULTI, SYS), "prompt-completion", metadata=False)
    assert all(isinstance(m, dict) for m in record["prompt"])
    assert [m["role"] for m in record["prompt"]] == ["system", "user", "assistant", "user"]
    assert record["completion"] == [{"role": "assistant", "content": "4."}]


def test_every_format_has_cases() -> None:
    assert {c[0] for c in CASES} == set(FORMATS)
    assert FORMATS[0] == "openai"


def test_openai_keeps_name_and_weight_trl_drops_them() -> None:
    example = Example(
        messages=(
            Message(role="user", content="q", name="alice"),
            Message(role="assistant", content="a", weight=0),
        )
    )
    assert to_record(example, "openai") == example.to_chat()
    assert to_record(example, "openai")["messages"][1]["weight"] == 0
    assert to_record(example, "trl") == {
        "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    }


def test_alpaca_joins_consecutive_user_messages() -> None:
    record = to_record(
        ex([("user", "a"), ("assistant", "b"), ("user", "c"), ("user", "d"), ("assistant", "e")]),
        "alpaca",
        metadata=False,
    )
    assert record == {"instruction": "c\n\nd", "input": "", "output": "e", "history": [["a", "b"]]}


@pytest.mark.parametrize("fmt", ["prompt-completion", "alpaca"])
def test_formats_needing_a_final_reply_refuse_without_one(fmt: str) -> None:
    with pytest.raises(InputError, match=fmt):
        to_record(ex([("user", "q"), ("assistant", "a"), ("user", "again?")]), fmt)


def test_unknown_format_lists_valid_ones() -> None:
    with pytest.raises(ConfigError) as err:
        to_record(ex(SINGLE), "jsonl-v2")
    for fmt in FORMATS:
        assert fmt in str(err.value)


@pytest.mark.parametrize("fmt", FORMATS)
def test_detect_format_round_trip(fmt: str) -> None:
    assert detect_format(to_record(ex(MULTI, SYS), fmt)) == fmt
    # Without its metadata a trl line is also an openai one, and reads as that.
    plain = to_record(ex(MULTI, SYS), fmt, metadata=False)
    assert detect_format(plain) == ("openai" if fmt == "trl" else fmt)


def test_detection_and_reading_agree_on_a_line_with_two_shapes() -> None:
    both = {"prompt": "p", "completion": "c", "instruction": "i", "output": "o"}
    assert detect_format(both) == parse_shaped(both, "x")[0] == "prompt-completion"


def test_a_chat_line_with_other_top_level_keys_is_trl() -> None:
    line = {"messages": chat(SINGLE), "category": "math"}
    assert detect_format(line) == "trl"
    assert detect_format({"messages": chat(SINGLE), "tools": []}) == "openai"
    assert parse_shaped(line, "x") == (
        "chat",
        ex(SINGLE).model_copy(update={"metadata": {"category": "math"}}),
    )


def test_detect_format_unknown() -> None:
    assert detect_format({"text": "x"}) is None
    assert detect_format(["messages"]) is None
    assert detect_format({"prompt": "p", "chosen": "a", "rejected": "b"}) is None


def leftovers(folder: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


def test_write_jsonl_round_trip_non_ascii(tmp_path: Path) -> None:
    target = tmp_path / "train.jsonl"
    records = [to_record(ex([("user", "Grüße, 你好 👋"), ("assistant", "¡Hola!")]), "openai")] * 3
    assert write_jsonl(target, records) == 3
    raw = target.read_bytes()
    assert "Grüße, 你好 👋".encode() in raw
    assert b"\\u" not in raw
    lines = raw.decode("utf-8").splitlines()
    assert len(lines) == 3
    assert [json.loads(line) for line in lines] == records
    assert raw.endswith(b"\n")
    assert leftovers(tmp_path, {"train.jsonl"}) == []


def test_write_jsonl_accepts_a_generator_and_empty_input(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    assert write_jsonl(target, ({"i": i} for i in range(5))) == 5
    assert write_jsonl(target, iter([])) == 0
    assert target.read_bytes() == b""


def test_write_jsonl_failure_leaves_target_unchanged(tmp_path: Path) -> None:
    target = tmp_path / "train.jsonl"
    target.write_text('{"old": true}\n', encoding="utf-8")

    def boom() -> Iterator[dict[str, Any]]:
        yield {"new": 1}
        yield {"new": 2}
        raise RuntimeError("teacher died")

    with pytest.raises(RuntimeError, match="teacher died"):
        write_jsonl(target, boom())
    assert target.read_text(encoding="utf-8") == '{"old": true}\n'
    assert leftovers(tmp_path, {"train.jsonl"}) == []


def test_write_jsonl_failure_creates_no_target(tmp_path: Path) -> None:
    target = tmp_path / "train.jsonl"
    with pytest.raises(TypeError):
        write_jsonl(target, [{"ok": 1}, {"bad": object()}])
    assert not target.exists()
    assert leftovers(tmp_path, set()) == []


def test_written_file_has_normal_permissions(tmp_path: Path) -> None:
    target = tmp_path / "train.jsonl"
    write_jsonl(target, [{"a": 1}])
    mask = os.umask(0o022)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask


def test_write_json(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    write_json(target, {"name": "café", "n": [1, 2]})
    text = target.read_text(encoding="utf-8")
    assert text == '{\n  "name": "café",\n  "n": [\n    1,\n    2\n  ]\n}\n'
    write_json(target, {"n": 3})
    assert json.loads(target.read_text(encoding="utf-8")) == {"n": 3}
    assert leftovers(tmp_path, {"report.json"}) == []
