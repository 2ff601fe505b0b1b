"""Reasoning traces end to end against FakeTeacher: the three ways endpoints send a trace ×
--reasoning drop/keep, through filters, dedup, split, each format that carries reasoning and
`synthgen validate`; the report's reasoning tokens and their price; the bad-input line."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from synthgen import expand
from synthgen.data.validate import validate_file
from synthgen.errors import ConfigError
from synthgen.run.curation_worker import MODE_ENV
from synthgen.teacher.pricing import price_per_token
from synthgen.testing import Reply
from synthgen.text.tokens import count_text_tokens
from tests.fakes import fresh
from tests.helpers import SAMPLES, read_jsonl, synthgen

MODEL = "o4-mini"  # a reasoning model with a list price
N = 4


def trace(index: int) -> str:
    return f"The user asks thing {index}; I should answer briefly and point to the menu."


def reasoning_teacher(shape: str, reported: int | None) -> Any:
    """One fresh conversation per reply, with trace(index) sent the ``shape`` way."""

    def handler(body: dict[str, Any], index: int) -> Reply:
        conversation = fresh(random.Random(index))
        text = json.dumps({"conversations": [conversation]})
        return Reply(text, reasoning=trace(index), reasoning_as=shape, reasoning_tokens=reported)

    return handler


def final_turn(line: dict[str, Any]) -> dict[str, Any]:
    messages = line["completion"] if "completion" in line else line["messages"]
    last: dict[str, Any] = messages[-1]
    return last


# (how the trace is sent, usage's reasoning_tokens (None: not reported), output format)
CASES = [
    ("reasoning_content", 9, "openai"),  # vLLM's reasoning parsers, DeepSeek
    ("reasoning", None, "trl"),  # OpenRouter
    ("think", None, "prompt-completion"),  # a server without a reasoning parser
]


@pytest.mark.parametrize("mode", ["drop", "keep"])
@pytest.mark.parametrize(("shape", "reported", "fmt"), CASES)
def test_trace_shapes_through_the_pipeline(
    make_fake_teacher: Any,
    tmp_path: Path,
    shape: str,
    reported: int | None,
    fmt: str,
    mode: str,
) -> None:
    fake = make_fake_teacher(handler=reasoning_teacher(shape, reported))
    out = tmp_path / "out"
    result = expand(
        SAMPLES / "support.jsonl",
        N,
        model=MODEL,
        base_url=fake.base_url,
        out_dir=out,
        per_request=1,
        concurrency=1,
        language="off",
        format=fmt,
        reasoning=mode,  # type: ignore[arg-type]
    )
    assert result.complete and fake.request_count == N
    lines = read_jsonl(out / "train.jsonl") + read_jsonl(out / "eval.jsonl")
    assert len(lines) == N
    finals = sorted((final_turn(line) for line in lines), key=lambda m: m["content"])
    for m in finals:
        assert "think>" not in m["content"] and "The user asks" not in m["content"]
    if mode == "keep":
        assert sorted(m["reasoning_content"] for m in finals) == sorted(trace(i) for i in range(N))
    else:
        assert all("reasoning_content" not in m for m in finals)
    # What synthgen writes, synthgen validate accepts.
    for name in ("train.jsonl", "eval.jsonl"):
        found = validate_file(out / name, fmt=fmt)
        assert {k for k, v in found.errors.items() if v} <= {"too_few_examples"}, found.errors
        note = [w for w in found.warnings if "reasoning_content" in w]
        assert bool(note) == (mode == "keep" and fmt == "openai" and found.n_examples > 0)
    # Counted apart whether kept or not: as the server said, else with the tokenizer.
    spent = (
        reported * N
        if reported is not None
        else sum(count_text_tokens(trace(i), MODEL) for i in range(N))
    )
    report = result.report
    assert report["tokens"]["reasoning"] == spent
    prices = price_per_token(MODEL)
    assert prices is not None
    assert report["token_use"]["reasoning"]["cost_usd"] == round(spent * prices[1], 6)
    card = (out / "README.md").read_text(encoding="utf-8")
    assert f"of which {spent:,} the teacher's reasoning" in card


def test_keep_from_the_cache_and_through_the_curation_worker(
    make_fake_teacher: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = make_fake_teacher(handler=reasoning_teacher("reasoning_content", 9))
    options: dict[str, Any] = dict(
        model=MODEL,
        base_url=fake.base_url,
        per_request=1,
        concurrency=1,
        language="off",
        reasoning="keep",
    )
    first = expand(SAMPLES / "support.jsonl", N, out_dir=tmp_path / "a", **options)
    monkeypatch.setenv(MODE_ENV, "on")  # curated in the worker process this time
    again = expand(SAMPLES / "support.jsonl", N, out_dir=tmp_path / "b", **options)
    assert fake.request_count == N  # the second run came from the response cache
    assert (tmp_path / "a" / "train.jsonl").read_bytes() == (
        tmp_path / "b" / "train.jsonl"
    ).read_bytes()
    assert [e.to_chat() for e in again.train] == [e.to_chat() for e in first.train]
    # Cached replies cost nothing: no tokens bought, no reasoning tokens counted.
    assert "reasoning" not in again.report["tokens"]


def test_keep_with_several_per_request_asks_for_written_reasoning(
    make_fake_teacher: Any, tmp_path: Path
) -> None:
    fake = make_fake_teacher(reasoning="reasoning_content", per_reply=3)
    out = tmp_path / "out"
    result = expand(
        SAMPLES / "support.jsonl",
        6,
        model=MODEL,
        base_url=fake.base_url,
        out_dir=out,
        per_request=3,
        concurrency=1,
        language="off",
        format="trl",
        reasoning="keep",
    )
    assert result.complete
    body = fake.requests[0]
    assert '"reasoning" field' in body["messages"][-1]["content"]
    schema = body["response_format"]["json_schema"]["schema"]
    message = schema["properties"]["conversations"]["items"]["properties"]["messages"]["items"]
    assert "reasoning" in message["required"]
    lines = read_jsonl(out / "train.jsonl") + read_jsonl(out / "eval.jsonl")
    for line in lines:
        final = final_turn(line)
        # Each answer has the reasoning written for it, not the trace of the whole batch.
        assert final["reasoning_content"].startswith("[demo] ")
        assert not final["reasoning_content"].startswith("[demo] Thinking:")
        assert all("reasoning_content" not in m for m in line["messages"][:-1])
    assert result.report["tokens"]["reasoning"] > 0
    assert validate_file(out / "train.jsonl", fmt="trl").ok


def test_keep_drops_replies_without_a_trace_and_says_why(
    make_fake_teacher: Any, tmp_path: Path
) -> None:
    def handler(body: dict[str, Any], index: int) -> Reply:
        text = json.dumps({"conversations": [fresh(random.Random(index))]})
        if index % 3 == 1:
            return Reply(text)  # no trace at all
        if index % 3 == 2:
            return Reply("<think>the reply ended in the middle of the tr")  # a cut trace
        return Reply(text, reasoning=trace(index))

    fake = make_fake_teacher(handler=handler)
    result = expand(
        SAMPLES / "support.jsonl",
        3,
        model=MODEL,
        base_url=fake.base_url,
        out_dir=tmp_path / "out",
        per_request=1,
        concurrency=1,
        language="off",
        reasoning="keep",
    )
    assert result.complete
    assert result.report["rejected"]["by_reason"] == {"no_reasoning": 2, "reasoning_cut": 2}
    rows = read_jsonl(tmp_path / "out" / ".synthgen" / "rejected.jsonl")
    assert {r["reason"] for r in rows} == {"no_reasoning", "reasoning_cut"}


def test_keep_with_a_format_without_a_place_for_it_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(ConfigError, match=r"reasoning='keep'.*format='alpaca'"):
        expand(
            SAMPLES / "support.jsonl",
            4,
            model="demo",
            out_dir=out,
            format="alpaca",
            reasoning="keep",
        )
    run = synthgen(
        "expand", str(SAMPLES / "support.jsonl"), "-n", "4", "--model", "demo",
        "-o", str(out), "--format", "sharegpt", "--reasoning", "keep",
    )  # fmt: skip
    assert run.returncode == 2 and not out.exists()
    assert run.stderr.strip().splitlines() == [
        "synthgen: error: --reasoning keep puts reasoning_content on assistant messages, which "
        "--format sharegpt has no place for: use --format openai, prompt-completion, trl, "
        "or --reasoning drop"
    ]


def test_kept_reasoning_survives_a_resume_from_the_journal(
    make_fake_teacher: Any, tmp_path: Path
) -> None:
    fake = make_fake_teacher(handler=reasoning_teacher("reasoning", None))
    out = tmp_path / "out"
    options: dict[str, Any] = dict(
        model=MODEL,
        base_url=fake.base_url,
        out_dir=out,
        per_request=1,
        concurrency=1,
        language="off",
        reasoning="keep",
        cache=False,  # what the first run accepted comes back from its journal alone
    )
    first = expand(SAMPLES / "support.jsonl", N, max_requests=2, **options)
    assert not first.complete
    done = expand(SAMPLES / "support.jsonl", N, **options)
    assert done.complete and fake.request_count == N
    lines = read_jsonl(out / "train.jsonl") + read_jsonl(out / "eval.jsonl")
    assert sorted(final_turn(x)["reasoning_content"] for x in lines) == sorted(
        trace(i) for i in range(N)
    )
    assert done.report["tokens"]["reasoning"] == sum(
        count_text_tokens(trace(i), MODEL) for i in range(N)
    )
