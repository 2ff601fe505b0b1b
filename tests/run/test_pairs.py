"""--pairs end to end against FakeTeacher: seeds -> teacher -> filters -> dedup -> responses ->
judge -> pairs -> split -> OpenAI DPO / TRL preference rows -> synthgen validate; drops counted
by reason; a resumed job buys no response or verdict twice; the demo teacher offline."""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections import Counter
from typing import Any

import pytest

from synthgen import expand
from synthgen.cli.summary import spend_line
from synthgen.data.validate import validate_file
from synthgen.errors import ConfigError
from synthgen.testing import Reply
from tests.fakes import fresh
from tests.helpers import SAMPLES, read_jsonl
from tests.helpers import synthgen as run_cli

K = 4
# What each kind of prompt gets: the judge scores of its K responses (None: the judge's reply
# cannot be read; "empty": the teacher answers with nothing).
PLANS: dict[str, list[Any]] = {
    "kept": [9, 5, 2, 7],
    "tie": [6, 6, 6, 6],
    "no_margin": [6, 7, 6, 7],
    "judge_failed": [None, None, 8, None],
    "teacher_failed": ["empty", "empty", "empty", 8],
}
KINDS = list(PLANS)
_SCORE = re.compile(r"score=(\w+)")


class DirtyTeacher:
    """Conversations for generation requests; for each prompt, responses whose judge scores
    follow the prompt's plan (chosen by a hash of the prompt); verdicts read back from the
    response text. ``kinds`` records the plan of every prompt asked."""

    def __init__(self) -> None:
        self.kinds: dict[str, str] = {}
        self.asked: Counter[str] = Counter()
        self.responses = 0
        self.verdicts = 0

    def __call__(self, body: dict[str, Any], index: int) -> Any:
        fmt = (body.get("response_format") or {}).get("json_schema", {}).get("name")
        if fmt == "verdict":
            self.verdicts += 1
            found = _SCORE.search(body["messages"][-1]["content"])
            if found is None or found.group(1) == "None":
                return "I think it is fine."
            return {"score": int(found.group(1)), "reason": "scripted"}
        if "n" in body:
            self.responses += 1
            prompt = json.dumps(body["messages"], sort_keys=True)
            kind = KINDS[int(hashlib.sha256(prompt.encode()).hexdigest(), 16) % len(KINDS)]
            self.kinds[prompt] = kind
            j = self.asked[prompt] % K
            self.asked[prompt] += 1
            score = PLANS[kind][j]
            if score == "empty":
                return Reply("")
            return f"Response {j} of {kind}, score={score}: {prompt[-40:]}"
        return {"conversations": [fresh(random.Random(index * 7 + i)) for i in range(4)]}


def _run(fake: Any, out: Any, n: int = 20, **kw: Any) -> Any:
    options = dict(model="m", base_url=fake.base_url, judge="m", pairs=True, concurrency=4)
    return expand(SAMPLES / "marv.jsonl", n, out_dir=out, **{**options, **kw})


def test_pairs_in_openai_dpo_rows_with_drops_by_reason(make_fake_teacher, tmp_path):
    teacher = DirtyTeacher()
    fake = make_fake_teacher(handler=teacher)
    result = _run(fake, tmp_path / "o")
    pairs = result.report["pairs"]
    expected = Counter(teacher.kinds.values())
    assert pairs["prompts"] == 20 and pairs["responses"] == K
    assert pairs["kept"] == expected["kept"] > 0
    for reason in ("tie", "no_margin", "judge_failed", "teacher_failed"):
        assert pairs["dropped"][reason] == expected[reason], reason
    assert pairs["kept"] + sum(pairs["dropped"].values()) == pairs["prompts"]
    rows = read_jsonl(tmp_path / "o" / "train.jsonl") + read_jsonl(tmp_path / "o" / "eval.jsonl")
    assert len(rows) == pairs["kept"] == len(result.train) + len(result.eval)
    for row in rows:
        assert set(row) == {"input", "preferred_output", "non_preferred_output"}
        assert row["input"]["messages"][-1]["role"] == "user"
        assert "score=9" in row["preferred_output"][0]["content"]
        assert "score=2" in row["non_preferred_output"][0]["content"]
    for name in ("train.jsonl", "eval.jsonl"):
        check = validate_file(tmp_path / "o" / name)
        assert check.format == "openai-dpo" and not check.errors.keys() - {"too_few_examples"}
    assert result.report["validation"]["train"]["ok"]
    assert result.report["judge"]["unscored"] == 3 * expected["judge_failed"]
    # A pair's prompt is the conversation up to its last assistant turn, system prompt kept.
    assert all(r["input"]["messages"][0]["role"] == "system" for r in rows)


def test_trl_preference_rows(make_fake_teacher, tmp_path):
    fake = make_fake_teacher(handler=DirtyTeacher())
    result = _run(fake, tmp_path / "o", n=10, format="trl", min_margin=1)
    rows = read_jsonl(tmp_path / "o" / "train.jsonl")
    assert rows and all({"prompt", "chosen", "rejected", "metadata"} <= set(r) for r in rows)
    assert all(r["chosen"][0]["role"] == "assistant" for r in rows)
    assert all(r["metadata"]["chosen_score"] > r["metadata"]["rejected_score"] for r in rows)
    check = validate_file(tmp_path / "o" / "train.jsonl")
    assert check.format == "trl-preference" and check.ok
    # --min-margin 1 keeps the no_margin prompts too.
    assert result.report["pairs"]["dropped"]["no_margin"] == 0


def test_resumed_job_buys_no_response_or_verdict_twice(make_fake_teacher, tmp_path):
    teacher = DirtyTeacher()
    fake = make_fake_teacher(handler=teacher)
    first = _run(fake, tmp_path / "o", max_requests=30)  # stops part-way through the pairs
    assert first.report["pairs"]["dropped"]["not_sent"] > 0
    second = _run(fake, tmp_path / "o", max_requests=500)
    assert second.report["pairs"]["dropped"]["not_sent"] == 0
    # Every response was asked once only, whatever the first run had done when it stopped.
    assert all(count == K for count in teacher.asked.values())
    verdicts = teacher.verdicts
    requests = fake.request_count
    again = _run(fake, tmp_path / "o", max_requests=500)
    assert fake.request_count == requests and teacher.verdicts == verdicts
    assert again.report["pairs"] == second.report["pairs"]
    assert again.report["requests"]["sent"] == second.report["requests"]["sent"]


def test_demo_teacher_makes_pairs_offline(tmp_path):
    result = expand(
        SAMPLES / "seeds.txt",
        12,
        model="demo",
        judge="demo",
        pairs=True,
        system="Popraw gramatykę zdania.",
        out_dir=tmp_path / "o",
    )
    assert result.report["pairs"]["kept"] > 0
    assert validate_file(tmp_path / "o" / "train.jsonl").format == "openai-dpo"
    assert result.report["validation"]["train"]["ok"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "--pairs needs --judge MODEL"),
        (["--judge", "demo", "--format", "sharegpt"], "--format sharegpt cannot carry"),
        (["--judge", "demo", "--format", "alpaca"], "--format alpaca cannot carry"),
        (["--judge", "demo", "--responses", "1"], "--responses"),
    ],
)
def test_bad_pairs_input_is_one_line_and_exit_2(tmp_path, extra, message):
    out = tmp_path / "o"
    args = ["expand", str(SAMPLES / "seeds.txt"), "-n", "5", "--model", "demo", "--pairs"]
    done = run_cli(*args, *extra, "-o", str(out))
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], done.stderr
    assert not out.exists()


def test_response_tokens_are_the_pairs_not_a_drop(tmp_path):
    # They were charged to not_curated, which the summary lists as the costliest drop.
    result = expand(
        SAMPLES / "seeds.txt",
        8,
        model="demo",
        judge="demo",
        pairs=True,
        system="Popraw gramatykę zdania.",
        out_dir=tmp_path / "o",
        cache=False,
        concurrency=1,
    )
    report = result.report
    use = report["token_use"]["by_outcome"]
    assert use["pair_responses"]["count"] == report["pairs"]["prompts"] * 4
    assert use["pair_responses"]["share"] > use.get("not_curated", {"share": 0})["share"]
    assert "pair_responses" not in (spend_line(report) or "")


def test_pairs_with_tool_seeds_is_one_line_and_exit_2(tmp_path):
    out = tmp_path / "o"
    args = ["expand", str(SAMPLES / "tools.jsonl"), "-n", "5", "--model", "demo"]
    done = run_cli(*args, "--pairs", "--judge", "demo", "-o", str(out))
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "does not support seeds with tools" in errors[0], done.stderr
    assert "Traceback" not in done.stderr and not out.exists()
    # Without --pairs the same seeds run (the check must not refuse every tool job).
    assert run_cli(*args, "-q", "-o", str(tmp_path / "t")).returncode == 0


def test_margin_without_pairs_is_refused():
    with pytest.raises(ConfigError, match="min_margin applies only with pairs"):
        expand(SAMPLES / "seeds.txt", 5, model="demo", min_margin=3)


def _dpo(**change: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "input": {"messages": [{"role": "user", "content": "Hi?"}]},
        "preferred_output": [{"role": "assistant", "content": "Hello!"}],
        "non_preferred_output": [{"role": "assistant", "content": "Go away."}],
    }
    return {**row, **change}


@pytest.mark.parametrize(
    ("row", "kind"),
    [
        (_dpo(input={"messages": []}), "missing_messages_list"),
        (_dpo(input={"messages": [{"role": "user"}]}), "message_missing_key"),
        (
            _dpo(input={"messages": [{"role": "user", "content": "x", "x": 1}]}),
            "message_unrecognized_key",
        ),
        (_dpo(input={"messages": [{"role": "robot", "content": "x"}]}), "unrecognized_role"),
        (_dpo(input={"messages": [{"role": "user", "content": ""}]}), "missing_content"),
        (_dpo(input={"messages": ["hi"]}), "data_type"),
        (_dpo(preferred_output=[]), "invalid_preferred_output"),
        (_dpo(preferred_output=[{"role": "user", "content": "x"}]), "invalid_preferred_output"),
        (_dpo(non_preferred_output="no"), "invalid_non_preferred_output"),
        (
            _dpo(
                input={
                    "messages": [
                        {"role": "user", "content": "a"},
                        {"role": "assistant", "content": "b"},
                    ]
                }
            ),
            "input_missing_final_user_message",
        ),
        (
            _dpo(non_preferred_output=[{"role": "assistant", "content": "Hello!"}]),
            "identical_outputs",
        ),
    ],
)
def test_validate_rejects_dpo_error_kinds(tmp_path, row, kind):
    path = tmp_path / "dpo.jsonl"
    lines = [_dpo()] * 11 + [row]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    check = validate_file(path, fmt="openai-dpo")
    assert check.errors.get(kind) == 1 and check.first_line[kind] == 12, check.errors
    good = tmp_path / "good.jsonl"
    good.write_text("".join(json.dumps(_dpo()) + "\n" for _ in range(12)))
    assert validate_file(good).ok and validate_file(good).format == "openai-dpo"


def test_validate_rejects_preference_error_kinds(tmp_path):
    rows = [
        {"prompt": [{"role": "user", "content": "Hi?"}], "chosen": [], "rejected": []},
        {"prompt": "Hi?", "chosen": "Yes.", "rejected": "Yes."},
        {
            "prompt": [{"role": "user", "content": "Hi?"}],
            "chosen": [{"role": "user", "content": "a"}],
            "rejected": [{"role": "assistant", "content": "b"}],
        },
        {"prompt": "Hi?", "chosen": "Yes."},
    ]
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in rows))
    check = validate_file(path, fmt="trl-preference")
    assert set(check.errors) == {
        "wrong_type",
        "identical_outputs",
        "example_missing_assistant_message",
        "missing_key",
    }
