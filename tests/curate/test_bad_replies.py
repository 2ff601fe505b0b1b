"""Whole runs against a teacher that writes bad replies: placeholders instead of content, JSON
nested 100,000 deep, lone surrogates. Each is a counted rejection; none reaches the dataset,
and none stops the run (real CLI, real local server)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from synthgen.teacher.demo import demo_reply
from synthgen.testing import FakeTeacher, Reply
from tests.helpers import SAMPLES, read_jsonl, synthgen

PLACEHOLDERS = [
    "...",
    "…",
    "[answer]",
    "<answer>",
    "(same as example 4)",
    "TODO",
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit.",
    "Insert answer here",
    "Tak jak w przykładzie 4.",
    "同上",
]


def expand(fake: FakeTeacher, out: Path, n: int) -> Any:
    return synthgen(
        "expand", str(SAMPLES / "marv.jsonl"), "-n", str(n), "--per-request", "5",
        "--base-url", fake.base_url, "--model", "m", "-o", str(out), "-q",
        env={"OPENAI_API_KEY": "sk-test-0123456789"}, timeout=240,
    )  # fmt: skip


def rows(out: Path) -> list[dict[str, Any]]:
    return read_jsonl(out / "train.jsonl") + read_jsonl(out / "eval.jsonl")


def rejected(out: Path) -> dict[str, int]:
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    by_reason: dict[str, int] = report["rejected"]["by_reason"]
    return by_reason


def test_placeholder_turns_never_reach_the_dataset(
    make_fake_teacher: Callable[..., FakeTeacher], tmp_path: Path
) -> None:
    def handler(body: dict[str, Any], index: int) -> dict[str, Any]:
        reply = demo_reply(body["messages"], ordinal=index)
        convs = reply["conversations"]
        # Two of every five conversations carry a placeholder turn, as a weak model writes.
        convs[0]["messages"][1]["content"] = PLACEHOLDERS[index % len(PLACEHOLDERS)]
        convs[2]["messages"][0]["content"] = PLACEHOLDERS[(index + 3) % len(PLACEHOLDERS)]
        return reply

    fake = make_fake_teacher(handler=handler)
    out = tmp_path / "o"
    r = expand(fake, out, 30)
    assert r.returncode == 0, r.stderr
    written = rows(out)
    assert len(written) == 30
    contents = {m["content"] for row in written for m in row["messages"]}
    assert not contents & set(PLACEHOLDERS)  # 0 placeholder rows (before: 12 of 30)
    assert rejected(out)["placeholder"] >= 12
    reasons = {row["reason"] for row in read_jsonl(out / ".synthgen" / "rejected.jsonl")}
    assert "placeholder" in reasons


NESTED = Reply("[" * 100_000 + "]" * 100_000)
# The model wrote the escape of half an emoji: json.loads makes it a lone surrogate.
HALF_EMOJI = (
    '{"conversations": ['
    '{"messages": [{"role": "user", "content": "Any tips for a rainy day \\ud83d?"},'
    ' {"role": "assistant", "content": "Stay in and read, obviously \\ud83d."}]},'
    '{"messages": [{"role": "user", "content": "What is the tallest mountain on Earth?"},'
    ' {"role": "assistant", "content": "Everest, as the whole planet keeps telling you."}]}'
    "]}"
)


def test_hostile_replies_are_counted_rejections_not_crashes(
    make_fake_teacher: Callable[..., FakeTeacher], tmp_path: Path
) -> None:
    def handler(body: dict[str, Any], index: int) -> Reply | dict[str, Any]:
        if index == 0:
            return NESTED
        if index == 1:
            return Reply(HALF_EMOJI)
        return demo_reply(body["messages"], ordinal=index)

    fake = make_fake_teacher(handler=handler)
    out = tmp_path / "o"
    r = expand(fake, out, 20)
    # Before: "unexpected RecursionError" (exit 1), then a crash on the surrogate.
    assert r.returncode == 0, r.stderr
    by_reason = rejected(out)
    assert by_reason["unparseable"] >= 1 and by_reason["broken_text"] >= 1
    drops = read_jsonl(out / ".synthgen" / "rejected.jsonl")
    nested = next(d for d in drops if d["reason"] == "unparseable")
    assert "nested more than" in nested["detail"]
    written = rows(out)
    assert len(written) == 20
    texts = [m["content"] for row in written for m in row["messages"]]
    assert not any("\ufffd" in t or "rainy day" in t for t in texts)
    # The sibling conversation of the broken one is good, and is kept.
    assert any(t.startswith("Everest") for t in texts)
    # The bad replies are cached and journaled: a re-run replays them, and still finishes.
    again = expand(fake, out, 20)
    assert again.returncode == 0, again.stderr
    assert len(rows(out)) == 20
