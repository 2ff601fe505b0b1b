from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from synthgen.data.example import Example
from synthgen.data.formats import FORMATS, to_record, write_jsonl
from synthgen.data.shapes import SHAPES
from synthgen.data.validate import (
    FORMAT_LABEL,
    estimate_epochs,
    example_token_limit,
    format_report,
    validate_file,
    validate_records,
)
from synthgen.errors import ConfigError, InputError
from synthgen.text.tokens import (
    count_assistant_tokens,
    count_message_tokens,
    count_text_tokens,
    encoding_for,
    get_encoding,
)
from tests.helpers import synthgen

SYS = "You are a terse assistant."


def examples(n: int, system: str | None = SYS) -> list[Example]:
    out = []
    for i in range(n):
        pairs = [("user", f"What is {i} + {i}?"), ("assistant", f"{2 * i}.")]
        if i % 3 == 0:
            pairs = [("user", "Hi"), ("assistant", "Hello."), *pairs]
        out.append(Example.from_pairs(pairs, system=system))  # type: ignore[arg-type]
    return out


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def msgs(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"role": r, "content": c} for r, c in pairs]


GOOD = json.dumps({"messages": msgs(("user", "q"), ("assistant", "a"))})

BAD_LINES = [
    "this is not json",  # 1: invalid_json + data_type
    "[1, 2]",  # 2: data_type
    GOOD,  # 3
    json.dumps({"prompt": "x"}),  # 4: missing_messages_list
    json.dumps({"messages": [{"role": "user"}, {"role": "assistant", "content": "a"}]}),
    # 5: message_missing_key + missing_content
    json.dumps(
        {"messages": [{"role": "user", "content": "q", "extra": 1}, *msgs(("assistant", "a"))]}
    ),
    # 6: message_unrecognized_key
    json.dumps({"messages": msgs(("robot", "q"), ("assistant", "a"))}),  # 7: unrecognized_role
    json.dumps({"messages": msgs(("user", "q"))}),  # 8: example_missing_assistant_message
    json.dumps(
        {"messages": [*msgs(("user", "q")), {"role": "assistant", "content": "a", "weight": 2}]}
    ),  # 9: invalid_weight
    json.dumps(
        {"messages": [{"role": "user", "content": ""}, {"role": "assistant", "content": [1]}]}
    ),
    # 10: missing_content x2
    "",  # 11: blank, skipped
    json.dumps({"messages": []}),  # 12: missing_messages_list
    json.dumps({"messages": [{"content": "q"}, *msgs(("assistant", "a"))]}),
    # 13: message_missing_key + unrecognized_role
    json.dumps(
        {
            "messages": [
                *msgs(("user", "What is 6*7?")),
                {
                    "role": "assistant",
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{}"},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "c1", "content": "42"},
                {"role": "assistant", "content": "42", "weight": 1},
            ],
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}],
        }
    ),  # 14: valid tool-calling example
]


def test_every_cookbook_error_kind(tmp_path: Path) -> None:
    report = validate_file(write_lines(tmp_path / "bad.jsonl", BAD_LINES))
    assert report.errors == {
        "invalid_json": 1,
        "data_type": 2,
        "missing_messages_list": 2,
        "message_missing_key": 2,
        "missing_content": 3,
        "message_unrecognized_key": 1,
        "unrecognized_role": 2,
        "example_missing_assistant_message": 1,
        "invalid_weight": 1,
    }
    assert report.first_line == {
        "invalid_json": 1,
        "data_type": 1,
        "missing_messages_list": 4,
        "message_missing_key": 5,
        "missing_content": 5,
        "message_unrecognized_key": 6,
        "unrecognized_role": 7,
        "example_missing_assistant_message": 8,
        "invalid_weight": 9,
    }
    assert report.format == "openai"
    assert report.n_examples == 13
    assert report.n_valid == 2
    assert not report.ok
    text = format_report(report)
    assert "error message_missing_key: 2 (first at line 5)" in text
    assert "errors: none" not in text


def test_weight_only_on_assistant() -> None:
    record = {
        "messages": [{"role": "user", "content": "q", "weight": 1}, *msgs(("assistant", "a"))]
    }
    report = validate_records([(1, record)] * 10)
    assert report.errors == {"invalid_weight": 10}


def test_format_detected_after_unrecognisable_first_lines() -> None:
    good = to_record(examples(1)[0], "sharegpt")
    report = validate_records([(1, "junk"), (2, {"foo": 1}), *[(i, good) for i in range(3, 13)]])
    assert report.format == "sharegpt"
    assert report.errors == {"data_type": 1, "missing_key": 1}
    assert report.first_line == {"data_type": 1, "missing_key": 2}


@pytest.mark.parametrize("fmt", FORMATS)
def test_good_file_in_every_format_passes(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"{fmt}.jsonl"
    write_jsonl(path, (to_record(e, fmt) for e in examples(60)))
    report = validate_file(path)
    assert report.errors == {}, format_report(report)
    assert report.ok
    assert report.format == ("openai" if fmt == "trl" else fmt)
    assert report.n_examples == report.n_valid == 60
    if fmt == "alpaca":
        # The system prompt and the multi-turn lines (every third) are what axolotl drops.
        assert report.warnings == [
            "60 lines with a `system` field: axolotl's `type: alpaca` ignores it (map it with"
            " `field_system`, as the dataset card shows)",
            "20 lines with earlier turns in `history`: LLaMA-Factory reads them, axolotl's"
            " alpaca loaders drop them (for axolotl, write --format sharegpt)",
        ]
    else:
        assert report.warnings == []
    assert report.total_tokens is not None and report.total_tokens.min > 0
    assert report.assistant_tokens is not None and report.assistant_tokens.min > 0
    # Epochs and billed tokens are OpenAI's; the other trainers are configured apart.
    assert report.n_epochs == (3 if report.format == "openai" else 0)
    assert "errors: none" in format_report(report)


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_is_checked_against_its_own_rules_and_says_so(fmt: str) -> None:
    """Issue 9 item 7: ShareGPT, Alpaca and prompt-completion files were reported as if valid
    for OpenAI chat fine-tuning, which accepts only the openai format."""
    exs = [e.with_metadata(category="math") for e in examples(12)]
    report = validate_records(enumerate((to_record(e, fmt) for e in exs), 1))
    assert report.ok and report.format == fmt
    assert report.rules == SHAPES[fmt].rules
    assert report.accepted_by_openai is (fmt == "openai")
    text = format_report(report)
    assert f"({FORMAT_LABEL[fmt]})" in text.splitlines()[0]
    assert f"checked against: {SHAPES[fmt].rules}" in text
    assert ("accepts only the openai format" in text) is (fmt != "openai")
    assert ("billed tokens" in text) is (fmt == "openai")


def test_too_few_examples_is_openais_rule() -> None:
    few = [(i, to_record(e, "sharegpt")) for i, e in enumerate(examples(4), 1)]
    report = validate_records(few)
    assert report.ok and report.format == "sharegpt"
    assert any("only 4 examples" in w for w in report.warnings)
    empty = validate_records([], fmt="sharegpt")
    assert empty.errors == {"too_few_examples": 1}
    assert "fine-tuning needs at least 1" in format_report(empty)


def test_trl_lines_with_metadata_are_trl_and_openai_notes_the_extra_key() -> None:
    rows = [to_record(e.with_metadata(category="c"), "trl") for e in examples(60)]
    rows[3] = to_record(examples(1)[0], "trl")  # no metadata: still a trl line
    report = validate_records(enumerate(rows, 1))
    assert report.format == "trl" and report.ok and report.warnings == []
    assert report.formats_seen == {"trl": 60}
    forced = validate_records(enumerate(rows, 1), fmt="openai")
    assert forced.ok  # the cookbook does not check top-level keys ...
    [warning] = forced.warnings  # ... but OpenAI's format lists no metadata key
    assert warning.startswith("59 lines with top-level keys besides messages")


PC_GOOD = to_record(examples(1)[0], "prompt-completion")


@pytest.mark.parametrize(
    ("record", "kinds"),
    [
        ({"prompt": "q", "completion": " a"}, {}),
        ({"prompt": msgs(("user", "q")), "completion": "a"}, {"wrong_type": 1}),
        ({"prompt": [], "completion": msgs(("assistant", "a"))}, {"missing_content": 1}),
        (
            {"prompt": msgs(("user", "q")), "completion": []},
            {"missing_content": 1, "example_missing_assistant_message": 1},
        ),
        (
            {"prompt": msgs(("user", "q")), "completion": msgs(("user", "a"))},
            {"example_missing_assistant_message": 1},
        ),
        (
            {"prompt": msgs(("robot", "q")), "completion": msgs(("assistant", "a"))},
            {"unrecognized_role": 1},
        ),
        (
            {"prompt": [{"role": "user"}], "completion": msgs(("assistant", "a"))},
            {"message_missing_key": 1, "missing_content": 1},
        ),
        ({"prompt": msgs(("user", "q"))}, {"missing_key": 1}),
    ],
)
def test_prompt_completion_follows_trl(record: dict[str, Any], kinds: dict[str, int]) -> None:
    report = validate_records([(1, PC_GOOD), (2, record), *[(i, PC_GOOD) for i in range(3, 12)]])
    assert report.format == "prompt-completion"
    assert report.errors == kinds


BAD_RECORDS: dict[str, list[Any]] = {
    "openai": [json.loads(line) for line in BAD_LINES[1:] if line and line[0] == "{"],
    "trl": [json.loads(line) for line in BAD_LINES[1:] if line and line[0] == "{"],
    "prompt-completion": [
        {"prompt": 1, "completion": 2},
        {"prompt": [1, {"role": "x", "content": "", "weight": 3}], "completion": [{}]},
        {"completion": []},
    ],
    "sharegpt": [
        {"conversations": [1, {"from": "bot"}, {"from": "gpt", "value": ""}]},
        {"conversations": [{"from": "human", "value": 3}]},
        {"conversations": []},
        {},
    ],
    "alpaca": [{"instruction": 1, "output": "", "input": [], "history": 3}, {}],
}


@pytest.mark.parametrize("fmt", FORMATS)
def test_checks_report_only_their_shapes_error_kinds(fmt: str) -> None:
    report = validate_records(enumerate(BAD_RECORDS[fmt], 1), fmt=fmt)
    found = {k for k, v in report.errors.items() if v and k != "too_few_examples"}
    assert found, "each bad record set must find something"
    assert found <= set(SHAPES[fmt].errors)


@pytest.mark.parametrize(
    ("fmt", "record", "kind"),
    [
        ("prompt-completion", {"prompt": 3, "completion": "a"}, "wrong_type"),
        ("prompt-completion", {"prompt": "q"}, "missing_key"),
        ("prompt-completion", {"prompt": "q", "completion": ""}, "missing_content"),
        (
            "sharegpt",
            {"conversations": [{"from": "bot", "value": "x"}, {"from": "gpt", "value": "a"}]},
            "unrecognized_role",
        ),
        (
            "sharegpt",
            {"conversations": [{"from": "human", "value": "x"}]},
            "example_missing_assistant_message",
        ),
        (
            "sharegpt",
            {"conversations": [{"from": "human"}, {"from": "gpt", "value": "a"}]},
            "missing_key",
        ),
        ("sharegpt", {"conversations": "hi"}, "wrong_type"),
        ("alpaca", {"instruction": "q", "input": ""}, "missing_key"),
        ("alpaca", {"instruction": "q", "output": "a", "history": [["only one"]]}, "wrong_type"),
        ("alpaca", {"instruction": "q", "output": "a", "input": None}, "wrong_type"),
    ],
)
def test_other_format_errors(fmt: str, record: dict[str, Any], kind: str) -> None:
    good = to_record(examples(1)[0], fmt)
    report = validate_records([(1, good), (2, record), *[(i, good) for i in range(3, 12)]])
    assert report.format == fmt
    assert report.errors == {kind: 1}
    assert report.first_line == {kind: 2}


def test_too_few_examples_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "small.jsonl"
    write_jsonl(path, (to_record(e, "openai") for e in examples(9)))
    report = validate_file(path)
    assert report.errors == {"too_few_examples": 1}
    assert not report.ok
    assert "fine-tuning needs at least 10" in format_report(report)
    assert report.n_epochs == 12  # ceil(100 / 9)


def test_fewer_than_50_warns() -> None:
    report = validate_records((i, to_record(e, "openai")) for i, e in enumerate(examples(20), 1))
    assert report.ok
    assert any("50–100" in w for w in report.warnings)


def test_inconsistent_system_prompts_warn() -> None:
    exs = [*examples(30), examples(1, system="Something else")[0], *examples(30, system=None)]
    report = validate_records((i, to_record(e, "openai")) for i, e in enumerate(exs, 1))
    assert report.ok
    assert report.n_system_prompts == 3
    [warning] = [w for w in report.warnings if "system prompt" in w]
    assert "line 31" in warning


@pytest.mark.parametrize(
    ("n", "epochs"),
    [(1, 25), (9, 12), (20, 5), (30, 4), (34, 3), (100, 3), (8333, 3), (10_000, 2), (30_000, 1)],
)
def test_epoch_estimate(n: int, epochs: int) -> None:
    assert estimate_epochs(n) == epochs


def test_token_stats_limit_and_billing() -> None:
    exs = examples(20)
    chats = [to_record(e, "openai") for e in exs]
    totals = [count_message_tokens(c["messages"], "gpt-4o-mini") for c in chats]
    limit = max(totals) - 1  # the longest examples exceed it
    report = validate_records(enumerate(chats, 1), max_tokens=limit)
    assert report.total_tokens is not None and report.assistant_tokens is not None
    assert report.total_tokens.min == min(totals)
    assert report.total_tokens.max == max(totals)
    assert report.total_tokens.mean == pytest.approx(sum(totals) / len(totals))
    assert report.assistant_tokens.max == max(
        count_assistant_tokens(c["messages"], "gpt-4o-mini") for c in chats
    )
    assert report.n_over_limit == sum(t > limit for t in totals)
    assert report.n_over_limit >= 1
    assert report.n_epochs == 5
    assert report.billed_tokens == sum(min(limit, t) for t in totals) * 5
    assert any("truncated" in w for w in report.warnings)
    assert f"≈ {report.billed_tokens:,} billed tokens" in format_report(report)


def test_token_limit_per_model() -> None:
    assert example_token_limit("gpt-4o-mini") == 65_536
    assert example_token_limit("openai/gpt-4.1-nano-2025-04-14") == 65_536
    assert example_token_limit("gpt-3.5-turbo") == 16_385
    assert example_token_limit("some-local-model") == 16_385


def test_report_to_dict_is_json() -> None:
    report = validate_records((i, to_record(e, "openai")) for i, e in enumerate(examples(12), 1))
    data = json.loads(json.dumps(report.to_dict()))
    assert data["ok"] is True
    assert data["n_examples"] == 12
    assert data["total_tokens"]["max"] >= data["total_tokens"]["min"]
    assert data["encoding"] == "o200k_base"


def test_missing_file_and_bad_format(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope\.jsonl"):
        validate_file(tmp_path / "nope.jsonl")
    with pytest.raises(ConfigError, match="openai"):
        validate_records([], fmt="csv")


def test_non_utf8_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "enc.jsonl"
    lines = [GOOD.encode()] * 10 + [b'{"messages": "\xff"}']
    path.write_bytes(b"\xef\xbb\xbf" + b"\n".join(lines) + b"\n")
    report = validate_file(path)
    assert report.errors == {"invalid_json": 1, "data_type": 1}
    assert report.first_line["invalid_json"] == 11


def test_encoding_for() -> None:
    for model in [
        "gpt-4o",
        "gpt-4o-mini",
        "openai/gpt-4.1-mini",
        "o1",
        "o3-mini",
        "o4-mini",
        "gpt-5",
    ]:
        assert encoding_for(model) == "o200k_base", model
    for model in ["gpt-3.5-turbo", "gpt-4", "gpt-4-turbo", "claude-3-5-sonnet", "llama3"]:
        assert encoding_for(model) == "cl100k_base", model
    assert encoding_for("ft:gpt-4o-mini-2024-07-18:org::id") == "o200k_base"


def test_token_counts_match_tiktoken() -> None:
    text = "tiktoken is great!"
    assert count_text_tokens(text, "gpt-3.5-turbo") == 6
    assert count_text_tokens(text, "gpt-4o") == len(get_encoding("o200k_base").encode(text)) == 6
    # Special-token markers in data are plain text, not an error.
    assert count_text_tokens("<|endoftext|>", "gpt-4o") > 1


def test_message_token_formula() -> None:
    enc = get_encoding("o200k_base")
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": SYS},
        {"role": "user", "content": "hi", "name": "bob"},
        {"role": "assistant", "content": "Hello there.", "weight": 1},
    ]
    expected = 3 + sum(
        3 + sum(len(enc.encode(v)) for k, v in m.items() if k != "weight") for m in messages
    )
    assert count_message_tokens(messages, "gpt-4o") == expected + 1  # +1 for the name
    assert count_assistant_tokens(messages, "gpt-4o") == len(enc.encode("Hello there."))


def test_tokenizers_load_with_network_blocked() -> None:
    code = """
import socket, sys
def refuse(*a, **k):
    raise OSError("network blocked by test")
socket.socket.connect = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
from synthgen.text.tokens import count_text_tokens
print(count_text_tokens("tiktoken is great!", "gpt-4o"),
      count_text_tokens("tiktoken is great!", "gpt-3.5-turbo"),
      "litellm" in sys.modules)
"""
    env = {k: v for k, v in os.environ.items() if k != "TIKTOKEN_CACHE_DIR"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.split() == ["6", "6", "False"]


def test_validate_refuses_a_fifo_at_once(tmp_path):
    fifo = tmp_path / "data.jsonl"
    os.mkfifo(fifo)
    r = synthgen("validate", str(fifo), timeout=60)
    assert r.returncode == 2, r.stderr
    assert str(fifo) in r.stderr and "Traceback" not in r.stderr
