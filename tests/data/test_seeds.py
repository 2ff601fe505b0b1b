from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from synthgen.data.example import Example, Message
from synthgen.data.seeds import SeedSet, load_seeds, parse_record, read_records
from synthgen.errors import ConfigError, SeedError
from tests.helpers import SAMPLES

SYS = "Marv is a factual chatbot that is also sarcastic."


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_bytes(content.encode("utf-8"))
    else:
        path.write_bytes(content)
    return path


def jsonl(*records: Any) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def chat(user: str, assistant: str, system: str | None = None, **extra: Any) -> dict[str, Any]:
    msgs = [{"role": "system", "content": system}] if system is not None else []
    msgs += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
    return {"messages": msgs, **extra}


def pairs(example: Example) -> list[tuple[str, str]]:
    return [(m.role, m.content) for m in example.messages]


def seed_error(path: Path | str, *fragments: str) -> str:
    with pytest.raises(SeedError) as info:
        load_seeds(path)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message
    return message


# --- .txt ---------------------------------------------------------------------------------


def test_txt_pairs_user_only_comments_and_line_numbers(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "s.txt",
        "# a comment; with a semicolon\n"
        "\n"
        "Mama, ja, chcieć, ciastko; Mamo, chcę dostać ciastko.\n"
        "   # indented comment\n"
        "  Write a haiku about rain  \n"
        "left\tright; with semicolon\n",
    )
    seeds = load_seeds(path)
    assert seeds.fmt == "txt" and seeds.path == str(path) and seeds.system is None
    assert len(seeds) == 3
    assert seeds.lines == (3, 5, 6)
    assert pairs(seeds.examples[0]) == [
        ("user", "Mama, ja, chcieć, ciastko"),
        ("assistant", "Mamo, chcę dostać ciastko."),
    ]
    assert pairs(seeds.examples[1]) == [("user", "Write a haiku about rain")]
    # A TAB wins over ";": the semicolon stays in the output.
    assert pairs(seeds.examples[2]) == [("user", "left"), ("assistant", "right; with semicolon")]


def test_txt_bom_and_crlf(tmp_path: Path) -> None:
    path = write(tmp_path, "s.txt", b"\xef\xbb\xbfa; b\r\nc; d\r\n")
    seeds = load_seeds(path)
    assert [pairs(e) for e in seeds.examples] == [
        [("user", "a"), ("assistant", "b")],
        [("user", "c"), ("assistant", "d")],
    ]


@pytest.mark.parametrize(
    ("line", "fragment"), [("; only output", "empty input"), ("only input ;", "empty output")]
)
def test_txt_empty_side(tmp_path: Path, line: str, fragment: str) -> None:
    path = write(tmp_path, "s.txt", f"a; b\n{line}\n")
    seed_error(path, f"{path}:2:", fragment)


# --- .jsonl -------------------------------------------------------------------------------


def test_jsonl_every_shape_with_metadata(tmp_path: Path) -> None:
    records = [
        {
            "messages": [
                {"role": "user", "content": "Hi", "name": "ann"},
                {"role": "assistant", "content": "Hello", "weight": 0},
                {"role": "user", "content": "Bye"},
                {"role": "assistant", "content": "Ciao", "weight": 1},
            ],
            "category": "greet",
            "id": 7,
        },
        {"prompt": "2+2?", "completion": "4", "tags": ["math"]},
        {"instruction": "Translate", "input": "chat", "output": "cat", "category": "tr"},
        {"instruction": "Say hi", "input": "", "output": "hi"},
        {"instruction": "Say yo", "output": "yo"},
        {
            "conversations": [
                {"from": "system", "value": "S"},
                {"from": "human", "value": "q1"},
                {"from": "gpt", "value": "a1"},
                {"from": "user", "value": "q2"},
                {"from": "chatgpt", "value": "a2"},
                {"from": "bard", "value": "a3"},
                {"from": "model", "value": "a4"},
                {"from": "assistant", "value": "a5"},
            ],
            "source": {"k": 1},
        },
    ]
    path = write(tmp_path, "s.jsonl", jsonl(*records[:2]) + "\n  \n" + jsonl(*records[2:]))
    raw = list(read_records(path))
    assert [line for line, _ in raw] == [1, 2, 5, 6, 7, 8]
    first = raw[0][1]
    assert first.messages[0] == Message(role="user", content="Hi", name="ann")
    assert first.messages[1].weight == 0 and first.messages[3].weight == 1
    assert first.metadata == {"category": "greet", "id": 7}
    assert pairs(raw[1][1]) == [("user", "2+2?"), ("assistant", "4")]
    assert raw[1][1].metadata == {"tags": ["math"]}
    assert pairs(raw[2][1]) == [("user", "Translate\n\nchat"), ("assistant", "cat")]
    assert raw[2][1].metadata == {"category": "tr"}
    assert pairs(raw[3][1]) == [("user", "Say hi"), ("assistant", "hi")]
    assert pairs(raw[4][1]) == [("user", "Say yo"), ("assistant", "yo")]
    share = raw[5][1]
    assert share.system == "S"
    assert [m.role for m in share.turns] == ["user", "assistant", "user"] + ["assistant"] * 4
    assert share.metadata == {"source": {"k": 1}}

    # The system prompt of the ShareGPT record conflicts with the others (which have none).
    seed_error(path, f"{path}:8:", "pass system to choose it", "'S'", "line 1")
    seeds = load_seeds(path, system="Be brief.")
    assert seeds.fmt == "mixed" and seeds.system == "Be brief."
    assert all(e.system is None for e in seeds.examples)


@pytest.mark.parametrize(
    ("record", "fmt"),
    [
        (chat("q", "a"), "chat"),
        ({"prompt": "q", "completion": "a"}, "prompt-completion"),
        ({"instruction": "q", "output": "a"}, "alpaca"),
        ({"conversations": [{"from": "human", "value": "q"}]}, "sharegpt"),
    ],
)
def test_jsonl_fmt_is_the_record_shape(tmp_path: Path, record: dict[str, Any], fmt: str) -> None:
    seeds = load_seeds(write(tmp_path, "s.jsonl", jsonl(record, record)))
    assert seeds.fmt == fmt and len(seeds) == 2


def test_trl_conversational_prompt_completion(tmp_path: Path) -> None:
    record = {
        "prompt": [{"role": "system", "content": "S"}, {"role": "user", "content": "q"}],
        "completion": [{"role": "assistant", "content": "a"}],
    }
    (_, example), *_ = read_records(write(tmp_path, "s.jsonl", jsonl(record)))
    assert pairs(example) == [("system", "S"), ("user", "q"), ("assistant", "a")]


def test_alpaca_history_is_read_as_earlier_turns(tmp_path: Path) -> None:
    """LLaMA-Factory's multi-turn Alpaca (what --format alpaca writes): the history was kept
    as metadata, so a written multi-turn file read back lost its earlier turns."""
    record = {
        "instruction": "q2",
        "input": "",
        "output": "a2",
        "system": "S",
        "history": [["q1", "a1"]],
    }
    (_, example), *_ = read_records(write(tmp_path, "s.jsonl", jsonl(record)))
    assert pairs(example) == [
        ("system", "S"),
        ("user", "q1"),
        ("assistant", "a1"),
        ("user", "q2"),
        ("assistant", "a2"),
    ]
    assert example.metadata == {}


def test_a_metadata_object_is_the_records_metadata(tmp_path: Path) -> None:
    record = {**chat("q", "a"), "metadata": {"category": "c", "n": 1}, "id": 7}
    path = write(tmp_path, "s.jsonl", jsonl(record, record))
    assert load_seeds(path).categories("category") == {"c": 2}
    (_, example), *_ = read_records(path)
    assert example.metadata == {"category": "c", "n": 1, "id": 7}
    # Anything but an object under "metadata" is an ordinary field.
    odd = parse_record({**chat("q", "a"), "metadata": "x"}, "x.jsonl:1")
    assert odd.metadata == {"metadata": "x"}


def test_top_level_system_field_of_alpaca(tmp_path: Path) -> None:
    record = {"instruction": "q", "output": "a", "system": "Sys", "category": "c"}
    seeds = load_seeds(write(tmp_path, "s.jsonl", jsonl(record)))
    assert seeds.system == "Sys"
    assert seeds.examples[0].metadata == {"category": "c"}


def test_json_array_numbers_items(tmp_path: Path) -> None:
    path = write(tmp_path, "s.json", json.dumps([chat("q1", "a1"), chat("q2", "a2")], indent=2))
    seeds = load_seeds(path)
    assert seeds.lines == (1, 2) and seeds.fmt == "chat"
    assert seeds.where(1) == f"{path}: item 2"
    bad = write(tmp_path, "bad.json", json.dumps([chat("q", "a"), {"foo": 1}]))
    seed_error(bad, "item 2", "unrecognised record")
    seed_error(write(tmp_path, "broken.json", '[{"a": 1},\n {"b": }]'), ":2:", "invalid JSON")
    seed_error(write(tmp_path, "obj.json", '  "text"'), "expected a JSON array")
    seed_error(write(tmp_path, "empty.json", "[]"), "no seed examples found")


def test_json_extension_holding_json_lines(tmp_path: Path) -> None:
    seeds = load_seeds(write(tmp_path, "s.json", jsonl(chat("q1", "a1"), chat("q2", "a2"))))
    assert len(seeds) == 2 and seeds.lines == (1, 2)


# --- .csv / .tsv --------------------------------------------------------------------------


def test_csv_columns_metadata_and_multiline(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "s.csv",
        "Input,OUTPUT,System,Category,note\r\n"
        'hello,"hi\r\nthere",S,greet,\r\n'
        "\r\n"
        'bye,ciao,S,farewell,"x, y"\r\n',
    )
    seeds = load_seeds(path)
    assert seeds.fmt == "csv" and seeds.system == "S"
    assert seeds.lines == (2, 5)
    assert pairs(seeds.examples[0]) == [("user", "hello"), ("assistant", "hi\nthere")]
    # Empty cells are not metadata; other column names keep their case.
    assert seeds.examples[0].metadata == {"Category": "greet"}
    assert seeds.examples[1].metadata == {"Category": "farewell", "note": "x, y"}


def test_csv_without_output_gives_user_only_seeds(tmp_path: Path) -> None:
    seeds = load_seeds(write(tmp_path, "s.csv", "input,topic\nTell me a joke,fun\n"))
    assert pairs(seeds.examples[0]) == [("user", "Tell me a joke")]
    assert seeds.categories("topic") == {"fun": 1}


def test_tsv(tmp_path: Path) -> None:
    seeds = load_seeds(write(tmp_path, "s.tsv", "input\toutput\na, b\tc; d\n"))
    assert seeds.fmt == "csv"
    assert pairs(seeds.examples[0]) == [("user", "a, b"), ("assistant", "c; d")]


def test_csv_errors(tmp_path: Path) -> None:
    seed_error(write(tmp_path, "a.csv", "question,answer\nq,a\n"), "a.csv:1:", "'input'")
    seed_error(write(tmp_path, "b.csv", "input,output\nq,a\nq,a,extra\n"), "b.csv:3:", "fields")
    seed_error(write(tmp_path, "c.csv", "input,output\nq,a\n ,a\n"), "c.csv:3:", "empty input")
    seed_error(write(tmp_path, "d.csv", "input,input\nq,a\n"), "d.csv:1:", "twice")
    seed_error(write(tmp_path, "e.csv", 'input,output\nq,a\n"q,a\n'), "e.csv:", "invalid CSV")
    seed_error(write(tmp_path, "f.csv", "input,output\n"), "f.csv", "no seed examples found")


# --- detection by content -----------------------------------------------------------------


def test_unknown_extension_is_detected_by_content(tmp_path: Path) -> None:
    as_jsonl = load_seeds(write(tmp_path, "a.data", "\n" + jsonl(chat("q", "a"))))
    assert as_jsonl.fmt == "chat" and as_jsonl.lines == (2,)
    as_array = load_seeds(write(tmp_path, "b", json.dumps([chat("q", "a")])))
    assert as_array.fmt == "chat"
    as_csv = load_seeds(write(tmp_path, "c.dat", "id,Input,Output\n1,q,a\n"))
    assert as_csv.fmt == "csv" and as_csv.examples[0].metadata == {"id": "1"}
    as_tsv = load_seeds(write(tmp_path, "d.dat", "input\toutput\nq\ta\n"))
    assert as_tsv.fmt == "csv"
    as_txt = load_seeds(write(tmp_path, "e.dat", "# input, output\nq; a\n"))
    assert as_txt.fmt == "txt" and pairs(as_txt.examples[0]) == [("user", "q"), ("assistant", "a")]


# --- system prompt resolution -------------------------------------------------------------


def test_shared_system_prompt_is_lifted_out(tmp_path: Path) -> None:
    seeds = load_seeds(write(tmp_path, "s.jsonl", jsonl(chat("q", "a", SYS), chat("r", "b", SYS))))
    assert seeds.system == SYS
    assert all(e.system is None and e.messages[0].role == "user" for e in seeds.examples)


def test_conflicting_system_prompts(tmp_path: Path) -> None:
    path = write(
        tmp_path, "s.jsonl", jsonl(chat("q", "a", "A"), chat("r", "b", "A"), chat("s", "c", "B"))
    )
    seed_error(path, f"{path}:3:", "'B'", "'A'", "line 1", "pass system to choose it")
    assert load_seeds(path, system="C").system == "C"
    # "" means: no system prompt at all.
    assert load_seeds(path, system="").system is None


def test_some_seeds_without_system_prompt_conflict(tmp_path: Path) -> None:
    path = write(tmp_path, "s.jsonl", jsonl(chat("q", "a"), chat("r", "b", "A")))
    seed_error(path, f"{path}:2:", "no system prompt", "pass system to choose it")


def test_system_override_on_txt(tmp_path: Path) -> None:
    seeds = load_seeds(write(tmp_path, "s.txt", "a; b\n"), system="Popraw gramatykę zdania.")
    assert seeds.system == "Popraw gramatykę zdania."


# --- iterables ----------------------------------------------------------------------------


def test_iterable_of_examples_and_mappings() -> None:
    ex = Example.from_pairs([("user", "q"), ("assistant", "a")], system=SYS, metadata={"c": "x"})
    seeds = load_seeds([ex, chat("r", "b", SYS, c="y")])
    assert seeds.path is None and seeds.lines == (0, 0) and seeds.fmt == "mixed"
    assert seeds.system == SYS and seeds.categories("c") == {"x": 1, "y": 1}
    assert load_seeds(iter([ex])).fmt == "python"
    assert load_seeds([{"prompt": "q", "completion": "a"}]).fmt == "prompt-completion"


@pytest.mark.parametrize(
    ("items", "fragment"),
    [
        ([chat("q", "a"), {"foo": "bar"}], "item 2: unrecognised record"),
        ([chat("q", "a"), 42], "item 2: expected an Example or a mapping"),
        ([chat("q", "a", "A"), chat("q", "a", "B")], "item 2:"),
        ([Example.from_pairs([], system="S")], "item 1: no user or assistant message"),
        ([], "no seed examples"),
    ],
)
def test_iterable_errors(items: list[Any], fragment: str) -> None:
    with pytest.raises(SeedError, match=fragment):
        load_seeds(items)


# --- categories ---------------------------------------------------------------------------


def test_categories_counts_and_missing_field(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "s.jsonl",
        jsonl(
            chat("q", "a", category="x"), chat("r", "b", category=1), chat("s", "c", category="x")
        )
        + jsonl(chat("t", "d", id=3)),
    )
    with pytest.raises(ConfigError) as info:
        load_seeds(path).categories("category")
    assert f"{path}:4:" in str(info.value) and "'category'" in str(info.value)
    seeds = load_seeds([chat("q", "a", category="x"), chat("r", "b", category=1)])
    assert seeds.categories("category") == {"x": 1, "1": 1}
    assert load_seeds([chat("q", "a", category=True)]).categories("category") == {"true": 1}
    nested = load_seeds([chat("q", "a", category=["x"])])
    with pytest.raises(ConfigError, match="item 1"):
        nested.categories("category")


# --- bad input ----------------------------------------------------------------------------


def test_missing_file_and_directory(tmp_path: Path) -> None:
    seed_error(tmp_path / "nope.jsonl", "no such file")
    seed_error(tmp_path / "nope", "no such file")
    seed_error(tmp_path, "directory")


@pytest.mark.parametrize("content", ["", "\n\n  \n", "# just\n  # comments\n"])
def test_no_examples(tmp_path: Path, content: str) -> None:
    seed_error(write(tmp_path, "s.txt", content), "no seed examples found")


def test_empty_jsonl_and_bom_only(tmp_path: Path) -> None:
    seed_error(write(tmp_path, "s.jsonl", "\n\n"), "no seed examples found")
    seed_error(write(tmp_path, "b.txt", b"\xef\xbb\xbf\n"), "no seed examples found")


def test_bom_in_jsonl(tmp_path: Path) -> None:
    seeds = load_seeds(write(tmp_path, "s.jsonl", b"\xef\xbb\xbf" + jsonl(chat("q", "a")).encode()))
    assert len(seeds) == 1


def test_not_utf8_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "s.txt", b"a; b\nc; d\nok \xe9t\xe9; x\n")
    seed_error(path, f"{path}:3:", "not UTF-8", "0xe9", "column 4")


def test_binary_file(tmp_path: Path) -> None:
    path = write(tmp_path, "s.jsonl", jsonl(chat("q", "a")).encode() + b"\x89PNG\x00\x01\n")
    seed_error(path, f"{path}:2:", "not UTF-8", "column 1")
    nul = write(tmp_path, "n.txt", b"a; b\nab\x00c\n")
    seed_error(nul, f"{nul}:2:", "0x00", "column 3")


def test_utf16_gets_a_hint(tmp_path: Path) -> None:
    path = write(tmp_path, "s.txt", "a; b\n".encode("utf-16"))
    seed_error(path, f"{path}:1:", "UTF-16")


@pytest.mark.parametrize(
    ("line", "fragments"),
    [
        ('{"messages": [', ["invalid JSON"]),
        ("[1, 2]", ["expected a JSON object, got an array"]),
        ('"text"', ["expected a JSON object, got a string"]),
        ('{"text": "x", "label": 1}', ["unrecognised record with keys ['text', 'label']"]),
        ('{"prompt": "p", "chosen": "c", "rejected": "r"}', ["preference", "not supported"]),
        ('{"prompt": "p", "completion": 3}', ["'completion' must be a string"]),
        ('{"instruction": "i", "input": 3, "output": "o"}', ["'input' must be a string"]),
        ('{"messages": "hi"}', ["'messages' must be a list"]),
        ('{"messages": []}', ["no user or assistant message"]),
        ('{"messages": [1]}', ["message 1", "expected an object"]),
        ('{"messages": [{"role": "robot", "content": "x"}]}', ["message 1", "unknown role"]),
        ('{"messages": [{"role": "tool", "content": "x"}]}', ["message 1 (tool)", "answers no"]),
        ('{"messages": [{"role": "user", "content": null}]}', ["content must be a string"]),
        ('{"messages": [{"role": "user"}]}', ["content must be a string, got missing"]),
        ('{"messages": [{"role": "user", "content": ["x"]}]}', ["content must be a string"]),
        ('{"messages": [{"role": "user", "content": "  "}]}', ["empty content"]),
        ('{"messages": [{"role": "system", "content": "S"}]}', ["no user or assistant message"]),
        (
            '{"messages": [{"role": "user", "content": "q"}, {"role": "system", "content": "S"}]}',
            ["message 2", "must come first"],
        ),
        (
            '{"messages": [{"role": "user", "content": "q"}, '
            '{"role": "assistant", "content": null, "tool_calls": []}]}',
            ["message 2", "tool_calls must be a non-empty list"],
        ),
        (
            '{"messages": [{"role": "user", "content": "q", "weight": 1}]}',
            ["weight must be 0 or 1, and only on assistant"],
        ),
        (
            '{"messages": [{"role": "user", "content": "q"}, '
            '{"role": "assistant", "content": "a", "weight": 2}]}',
            ["weight"],
        ),
        ('{"messages": [{"role": "user", "content": "q", "name": 5}]}', ["name must be a string"]),
        ('{"conversations": [{"from": "tool", "value": "x"}]}', ["turn 1", "unknown 'from'"]),
        ('{"conversations": [{"from": "human"}]}', ["turn 1", "value must be a string"]),
        ('{"conversations": {}}', ["'conversations' must be a list"]),
        (
            '{"instruction": "i", "output": "o", "history": [["u"]]}',
            ["'history' must be a list of [user, assistant] string pairs"],
        ),
        ('{"prompt": [{"role": "user", "content": "q"}], "completion": "a"}', ["'prompt' must"]),
    ],
)
def test_bad_jsonl_line(tmp_path: Path, line: str, fragments: list[str]) -> None:
    path = write(tmp_path, "s.jsonl", jsonl(chat("q", "a")) + "\n" + line + "\n")
    seed_error(path, f"{path}:3:", *fragments)


def test_read_records_keeps_system_and_is_lazy(tmp_path: Path) -> None:
    path = write(tmp_path, "s.jsonl", jsonl(chat("q", "a", SYS)) + "oops\n")
    records = read_records(path)
    line, example = next(records)
    assert line == 1 and example.system == SYS
    with pytest.raises(SeedError, match=r":2: invalid JSON"):
        next(records)


def test_parse_record() -> None:
    example = parse_record({"prompt": "q", "completion": "a", "id": 1}, "x.jsonl:9")
    assert pairs(example) == [("user", "q"), ("assistant", "a")]
    assert example.metadata == {"id": 1}
    with pytest.raises(SeedError, match=r"^x\.jsonl:9: unrecognised"):
        parse_record({"q": 1}, "x.jsonl:9")


# --- samples ------------------------------------------------------------------------------


def test_sample_seeds_txt() -> None:
    seeds = load_seeds(SAMPLES / "seeds.txt", system="Popraw gramatykę zdania.")
    assert isinstance(seeds, SeedSet) and seeds.fmt == "txt"
    assert len(seeds) >= 20
    assert all([m.role for m in e.messages] == ["user", "assistant"] for e in seeds.examples)
    assert len({e.dedup_text() for e in seeds.examples}) == len(seeds)
    assert pairs(seeds.examples[0]) == [
        ("user", "Mama, ja, chcieć, ciastko"),
        ("assistant", "Mamo, chcę dostać ciastko."),
    ]
    assert seeds.lines[0] == 2


def test_sample_marv() -> None:
    seeds = load_seeds(SAMPLES / "marv.jsonl")
    assert seeds.system == SYS and seeds.fmt == "chat" and len(seeds) >= 12
    assert pairs(seeds.examples[0])[0] == ("user", "What's the capital of France?")


def test_sample_support() -> None:
    seeds = load_seeds(SAMPLES / "support.jsonl")
    assert seeds.fmt == "chat" and seeds.system is not None and len(seeds) == 18
    assert seeds.categories("category") == {"billing": 6, "technical": 6, "account": 6}


def test_a_single_record_is_not_a_seed_list() -> None:
    with pytest.raises(SeedError, match="iterable of examples"):
        load_seeds(chat("q", "a"))  # type: ignore[arg-type]  # the mistake under test


# --- hostile files --------------------------------------------------------------------------

DEEP = "[" * 100_000 + "]" * 100_000
HALF_EMOJI = '{"messages": [{"role": "user", "content": "rain \\ud83d"}]}'


@pytest.mark.parametrize(
    ("name", "content", "fragments"),
    [
        ("s.jsonl", jsonl(chat("q", "a")) + DEEP + "\n", [":2:", "nested too deeply"]),
        (
            "s.jsonl",
            jsonl(chat("q", "a")) + '{"messages": [], "m": ' + "[" * 100 + "]" * 100 + "}\n",
            [":2:", "nested more than 64 levels"],
        ),
        ("s.jsonl", jsonl(chat("q", "a")) + HALF_EMOJI + "\n", [":2:", "lone surrogate \\ud83d"]),
        ("s.json", "[\n" + DEEP + "\n]\n", ["invalid JSON: nested too deeply"]),
        ("s.json", "[" + HALF_EMOJI + "]", ["item 1", "lone surrogate"]),
    ],
)
def test_deep_or_broken_json_is_a_seed_error(
    tmp_path: Path, name: str, content: str, fragments: list[str]
) -> None:
    seed_error(write(tmp_path, name, content), *fragments)


def test_a_line_over_the_cap_is_an_error(tmp_path: Path) -> None:
    from synthgen.data.seed_readers import MAX_LINE_BYTES

    long = "a; " + "b" * MAX_LINE_BYTES + "\n"
    path = write(tmp_path, "s.txt", "q; a\n" + long)
    seed_error(path, f"{path}:2:", "line longer than 1,048,576 bytes")
    # A JSON array is often one line: it may be longer (it is read whole either way).
    big = [chat("q" * 1000, f"a{i}") for i in range(1200)]
    array = write(tmp_path, "big.json", json.dumps(big))
    assert array.stat().st_size > MAX_LINE_BYTES and len(load_seeds(array)) == 1200


def test_special_files_are_refused(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "seeds.jsonl"
    os.mkfifo(fifo)
    seed_error(fifo, "is a FIFO (named pipe), not a regular file")  # used to block forever
    seed_error("/dev/zero", "is a character device")  # used to fill memory
    with pytest.raises(SeedError, match="is a FIFO"):
        next(read_records(fifo))


CLI_CASES = [
    ("fifo.jsonl", None, "is a FIFO (named pipe)"),
    ("/dev/zero", None, "is a character device"),
    ("deep.jsonl", DEEP + "\n", "deep.jsonl:1: invalid JSON: nested too deeply"),
    ("half.jsonl", HALF_EMOJI + "\n", "half.jsonl:1: text holds a lone surrogate"),
    ("long.txt", "q; " + "a" * (1 << 21) + "\n", "long.txt:1: line longer than"),
]


@pytest.mark.parametrize(("name", "content", "needle"), CLI_CASES)
@pytest.mark.parametrize("command", ["expand", "dedup", "split"])
def test_cli_refuses_hostile_seeds_in_one_line(
    tmp_path: Path, command: str, name: str, content: str | None, needle: str
) -> None:
    """Through the real CLI, with a short timeout: a FIFO hung every subcommand, /dev/zero
    ran out of memory, deep or broken JSON gave "unexpected ..."."""
    import os

    from tests.helpers import synthgen

    if name.startswith("/"):
        source = name
    elif content is None:
        source = str(tmp_path / name)
        os.mkfifo(source)
    else:
        source = str(write(tmp_path, name, content))
    out = tmp_path / "o"
    args = {
        "expand": ["expand", source, "-n", "5", "--model", "demo", "-o", str(out)],
        "dedup": ["dedup", source, "-o", str(out / "d.jsonl")],
        "split": ["split", source, "-o", str(out)],
    }[command]
    r = synthgen(*args, timeout=60)
    assert r.returncode == 2, r.stderr
    (line,) = r.stderr.strip().splitlines()
    assert needle in line and "unexpected" not in line and "Traceback" not in line
    assert not out.exists()


def test_lone_surrogates_in_python_seeds() -> None:
    with pytest.raises(SeedError, match=r"item 2: message 1 \(user\) holds a lone surrogate"):
        load_seeds([chat("q", "a"), chat("rain \ud83d", "a")])
    broken = Example.from_pairs([("user", "q"), ("assistant", "\udc00")])
    with pytest.raises(SeedError, match="item 1: message 2"):
        load_seeds([broken])
