"""synthgen dedup / split / validate on existing files, through the real CLI."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from synthgen.data.formats import FORMATS
from synthgen.text.normalize import shingles
from tests.fakes import WORDS
from tests.helpers import SAMPLES, synthgen


def chat(user: str, answer: str, **extra) -> str:
    return json.dumps(
        {
            "messages": [
                {"role": "user", "content": user},
                {"role": "assistant", "content": answer},
            ],
            **extra,
        },
        ensure_ascii=False,
    )


def make_dataset(path: Path, n: int = 60) -> list[str]:
    rng = random.Random(5)
    lines = []
    for i in range(n):
        answer = " ".join(rng.choice(WORDS) for _ in range(30))
        lines.append(chat(f"question {i} żółw", answer, category=["a", "b", "c"][i % 3], id=i))
    # an exact copy, a near copy (one word changed), and a case/punctuation variant
    lines.append(lines[3])
    d = json.loads(lines[7])
    words = d["messages"][1]["content"].split()
    words[10] = "changed"
    d["messages"][1]["content"] = " ".join(words)
    lines.append(json.dumps(d, ensure_ascii=False))
    d = json.loads(lines[11])
    d["messages"][1]["content"] = d["messages"][1]["content"].upper() + "!"
    lines.append(json.dumps(d, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return lines


def test_dedup_command_keeps_lines_verbatim(tmp_path):
    lines = make_dataset(tmp_path / "in.jsonl")
    r = synthgen("dedup", str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "out.jsonl"))
    assert r.returncode == 0, r.stderr
    kept = (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()
    assert kept == lines[:60]  # first occurrences, byte for byte, extra fields and all
    assert "exact_duplicate 2" in r.stderr and "near_duplicate 1" in r.stderr
    again = synthgen("dedup", str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "out.jsonl"))
    assert again.returncode == 2 and "--force" in again.stderr


def test_split_command_is_stratified_and_leak_free(tmp_path):
    make_dataset(tmp_path / "in.jsonl")
    synthgen("dedup", str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "clean.jsonl"))
    args = [
        "split",
        str(tmp_path / "clean.jsonl"),
        "-o",
        str(tmp_path / "s"),
        "--balance-by",
        "category",
        "--eval-fraction",
        "0.2",
        "--seed",
        "3",
    ]
    r = synthgen(*args)
    assert r.returncode == 0, r.stderr
    train = [json.loads(x) for x in (tmp_path / "s" / "train.jsonl").read_text().splitlines()]
    evals = [json.loads(x) for x in (tmp_path / "s" / "eval.jsonl").read_text().splitlines()]
    assert len(train) == 48 and len(evals) == 12
    assert sorted(x["category"] for x in evals) == ["a"] * 4 + ["b"] * 4 + ["c"] * 4
    assert {x["id"] for x in train}.isdisjoint({x["id"] for x in evals})
    first = (tmp_path / "s" / "eval.jsonl").read_bytes()
    assert synthgen(*args, "--force").returncode == 0
    assert (tmp_path / "s" / "eval.jsonl").read_bytes() == first  # deterministic under --seed


@pytest.mark.parametrize("fmt", ["trl", "sharegpt", "alpaca", "prompt-completion"])
def test_split_balances_a_written_file_by_the_category_in_its_rows(tmp_path, fmt):
    """Issue 9 item 7: rows were written without their category, so a dataset synthgen wrote
    could not be split (or balanced) by it afterwards."""
    from synthgen.data.example import Example
    from synthgen.data.formats import write

    rng = random.Random(2)
    examples = [
        Example.from_pairs(
            [
                ("user", f"question {i}"),
                ("assistant", " ".join(rng.choice(WORDS) for _ in range(30))),
            ],
            metadata={"category": "abc"[i % 3]},
        )
        for i in range(60)
    ]
    write(examples, tmp_path / "in.jsonl", fmt=fmt)
    args = ["split", str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "s")]
    r = synthgen(*args, "--balance-by", "category", "--eval-fraction", "0.2")
    assert r.returncode == 0, r.stderr
    evals = [json.loads(x) for x in (tmp_path / "s" / "eval.jsonl").read_text().splitlines()]
    assert sorted(x["metadata"]["category"] for x in evals) == ["a"] * 4 + ["b"] * 4 + ["c"] * 4


def test_split_keeps_near_duplicates_together(tmp_path):
    lines = make_dataset(tmp_path / "in.jsonl")  # includes near copies
    r = synthgen(
        "split", str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "s"), "--eval-fraction", "0.3"
    )
    assert r.returncode == 0, r.stderr

    def text(x):
        return " ".join(m["content"] for m in json.loads(x)["messages"])

    train = (tmp_path / "s" / "train.jsonl").read_text().splitlines()
    evals = (tmp_path / "s" / "eval.jsonl").read_text().splitlines()
    assert len(train) + len(evals) == len(lines)
    for a in train:
        sa = set(shingles(text(a)))
        for b in evals:
            sb = set(shingles(text(b)))
            assert len(sa & sb) / len(sa | sb) < 0.5


def test_bad_input_is_one_line_and_writes_nothing(tmp_path):
    (tmp_path / "bad.jsonl").write_text(chat("a", "b") + "\n{oops\n")
    r = synthgen("split", str(tmp_path / "bad.jsonl"), "-o", str(tmp_path / "s"))
    assert r.returncode == 2 and "bad.jsonl:2" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "s").exists()
    r = synthgen(
        "split", str(tmp_path / "bad.jsonl"), "-o", str(tmp_path / "s"), "--eval-fraction", "1.5"
    )
    assert r.returncode == 2 and "eval" in r.stderr


def test_validate_reports_every_cookbook_error_kind(tmp_path):
    bad = [
        "[1, 2]",  # data_type
        json.dumps({"prompt": "x"}),  # missing_messages_list
        json.dumps(
            {"messages": [{"content": "no role"}, {"role": "assistant", "content": "a"}]}
        ),  # message_missing_key
        json.dumps(
            {
                "messages": [
                    {"role": "user", "content": "u", "mood": 1},
                    {"role": "assistant", "content": "a"},
                ]
            }
        ),
        json.dumps(
            {
                "messages": [
                    {"role": "wizard", "content": "u"},
                    {"role": "assistant", "content": "a"},
                ]
            }
        ),
        json.dumps(
            {"messages": [{"role": "user", "content": 5}, {"role": "assistant", "content": "a"}]}
        ),
        json.dumps({"messages": [{"role": "user", "content": "only a question"}]}),  # no assistant
    ]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(bad + [chat(f"q{i}", f"a{i}") for i in range(12)]) + "\n")
    r = synthgen("validate", str(path), "--json")
    assert r.returncode == 1
    report = json.loads(r.stdout)
    # As in the cookbook, a message without a role also counts as an unrecognised role.
    for kind, line in [
        ("data_type", 1),
        ("missing_messages_list", 2),
        ("message_missing_key", 3),
        ("message_unrecognized_key", 4),
        ("unrecognized_role", 3),
        ("missing_content", 6),
        ("example_missing_assistant_message", 7),
    ]:
        assert report["errors"].get(kind, 0) >= 1, kind
        assert report["first_line"][kind] == line, kind
    human = synthgen("validate", str(path))
    assert human.returncode == 1 and "message_missing_key" in human.stdout


@pytest.mark.parametrize("fmt", FORMATS)
def test_expand_output_passes_validate_in_every_format(tmp_path, fmt):
    out = tmp_path / fmt
    r = synthgen(
        "expand",
        str(SAMPLES / "marv.jsonl"),
        "-n",
        "24",
        "--model",
        "demo",
        "--format",
        fmt,
        "-o",
        str(out),
        "-q",
    )
    assert r.returncode == 0, r.stderr
    v = synthgen("validate", str(out / "train.jsonl"), "--json")
    assert v.returncode == 0, v.stdout
    assert json.loads(v.stdout)["n_examples"] == 22
