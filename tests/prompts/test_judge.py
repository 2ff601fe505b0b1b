from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest

from synthgen.curate.drop import Drop, judge_drop
from synthgen.data.example import Example
from synthgen.errors import ConfigError
from synthgen.prompts.judge import Judge, Verdict, parse_verdict
from synthgen.prompts.templates import load_template
from synthgen.teacher import make_teacher
from synthgen.testing import FakeTeacher, Reply

SYSTEM = "Answer in one short sentence."


def _ex(user: str, assistant: str) -> Example:
    return Example.from_pairs([("user", user), ("assistant", assistant)], system=SYSTEM)


def _judged_user_text(body: dict[str, Any]) -> str:
    return str(body["messages"][-1]["content"])


def _handler(body: dict[str, Any], index: int) -> str | Reply:
    """Scores by what the judged assistant said, as a real judge would read it."""
    text = _judged_user_text(body)
    if "ASSISTANT: Paris." in text:
        return json.dumps({"score": 9, "reason": "Correct and concise."})
    if "ASSISTANT: Berlin." in text:
        return '```json\n{"score": 2, "reason": "Wrong capital."}\n```'
    if "ASSISTANT: Lyon." in text:
        return 'Here is my verdict: {"score": "5", "reason": "Vague."} Hope it helps.'
    if "ASSISTANT: cut" in text:
        return Reply('{"score": 8, "reason": "Fi', finish_reason="length")
    if "ASSISTANT: eleven" in text:
        return '{"score": 11, "reason": "Too enthusiastic."}'
    return "I think this conversation is rather good overall."


def _run(
    make_fake_teacher: Callable[..., FakeTeacher], examples: list[Example], **judge_options: Any
) -> tuple[list[tuple[int | None, str]], FakeTeacher, Judge]:
    fake = make_fake_teacher(handler=_handler)

    async def go() -> tuple[list[tuple[int | None, str]], Judge]:
        teacher = make_teacher("judge-model", base_url=fake.base_url)
        try:
            judge = Judge(teacher, min_score=judge_options.pop("min_score", 7), **judge_options)
            return [await judge.score(ex) for ex in examples], judge
        finally:
            await teacher.aclose()

    scores, judge = asyncio.run(go())
    return scores, fake, judge


def test_scores_from_a_real_client(make_fake_teacher: Callable[..., FakeTeacher]) -> None:
    examples = [
        _ex("Capital of France?", "Paris."),
        _ex("Capital of France?", "Berlin."),
        _ex("A city in France?", "Lyon."),
    ]
    scores, fake, judge = _run(make_fake_teacher, examples)
    assert scores == [(9, "Correct and concise."), (2, "Wrong capital."), (5, "Vague.")]
    assert judge.calls == 3 and judge.prompt_tokens > 0 and judge.completion_tokens > 0

    body = fake.requests[0]
    assert body["model"] == "judge-model"
    assert body["temperature"] == 0.0
    assert body["response_format"]["type"] == "json_schema"
    schema = body["response_format"]["json_schema"]["schema"]
    assert schema["required"] == ["score", "reason"]
    roles = [m["role"] for m in body["messages"]]
    assert roles == ["system", "user"]
    prompt = _judged_user_text(body)
    assert f'"""{SYSTEM}"""' in prompt
    assert "USER: Capital of France?\nASSISTANT: Paris." in prompt


def test_unreadable_replies_score_none(make_fake_teacher: Callable[..., FakeTeacher]) -> None:
    examples = [_ex("q", "no json here"), _ex("q", "cut"), _ex("q", "eleven")]
    scores, _, _ = _run(make_fake_teacher, examples)
    assert scores[0] == (None, "unparseable judge reply: no JSON object with a score found")
    assert scores[1] == (None, "judge reply cut off at the token limit")
    assert scores[2] == (None, "judge score 11 is outside 1..10")


def test_judge_as_a_filter(make_fake_teacher: Callable[..., FakeTeacher]) -> None:
    """The judge gives verdicts; curation's judge_drop turns them into drops."""
    fake = make_fake_teacher(handler=_handler)

    async def go() -> list[Verdict]:
        teacher = make_teacher("m", base_url=fake.base_url)
        try:
            judge = Judge(teacher, min_score=6)
            examples = [_ex("q", "Paris."), _ex("q", "Berlin."), _ex("q", "junk")]
            return [await judge.score(ex) for ex in examples]
        finally:
            await teacher.aclose()

    verdicts = asyncio.run(go())
    assert all(isinstance(v, Verdict) for v in verdicts)
    keep = [judge_drop(v, 6) for v in verdicts]
    strict: list[Drop | None] = [judge_drop(v, 6, keep_unscored=False) for v in verdicts]
    assert keep == [None, Drop("low_score", "judge scored 2/10 < 6: Wrong capital."), None]
    assert strict[2] is not None and strict[2].reason == "judge_failed"


def test_custom_template_and_no_system(tmp_path: Any) -> None:
    path = tmp_path / "strict.j2"
    path.write_text(
        "---\nkind: judge\n---\n"
        "<|user|>\n{% if system %}S={{ system }}{% else %}no system{% endif %}\n"
        "{% for m in conversation %}{{ m.role }}={{ m.content }};{% endfor %}\n",
        encoding="utf-8",
    )
    judge = Judge(object(), load_template(path), min_score=5)  # type: ignore[arg-type]
    request = judge.request(Example.from_pairs([("user", "hi"), ("assistant", "hello")]))
    assert request.messages == ({"role": "user", "content": "no system\nuser=hi;assistant=hello;"},)
    assert request.temperature == 0.0


@pytest.mark.parametrize("bad", [0, 11])
def test_min_score_range(bad: int) -> None:
    with pytest.raises(ConfigError, match=r"--min-score must be within 1\.\.10"):
        Judge(object(), min_score=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"score": 7, "reason": "ok"}', (7, "ok")),
        ('{"score": 7.0, "reason": "  two\n lines "}', (7, "two lines")),
        ('{"score": "8"}', (8, "")),
        ('Verdict:\n```\n{"score": 3, "reason": "meh"}\n```', (3, "meh")),
        (
            '{"score": 6, "reason": "says "hi" badly"}',
            (6, 'says "hi" badly'),
        ),  # broken JSON, bare score
        ("score: 4", (4, "")),
        ('{"score": 5, "reason": "cut off mid', (5, "cut off mid")),
        ('{"score": true, "reason": "x"}', (None, "judge reply has no integer score (got True)")),
        ('{"score": 6.5}', (None, "judge reply has no integer score (got 6.5)")),
        ('{"reason": "forgot"}', (None, "judge reply has no integer score (got None)")),
        ("", (None, "unparseable judge reply: empty reply")),
        ("[1, 2]", (None, "unparseable judge reply: no JSON object with a score found")),
    ],
)
def test_parse_verdict(text: str, expected: tuple[int | None, str]) -> None:
    assert parse_verdict(text) == expected


def test_builtin_template_is_loadable() -> None:
    tpl = load_template("judge")
    assert tpl.settings.get("kind") == "judge"
    messages = tpl.render(conversation=[{"role": "user", "content": "{{ 7*7 }}"}], system=None)
    assert messages[0]["role"] == "system" and messages[-1]["role"] == "user"
    assert "USER: {{ 7*7 }}" in messages[-1]["content"]  # seeds and replies stay data
    assert "general-purpose assistant" in messages[-1]["content"]
