"""Every built-in prompt puts its fixed part first (system message, instructions, output
shape, the dataset's system prompt) and what varies per request last (category, examples,
attributes), so that providers' automatic prompt caching serves the fixed part."""

from __future__ import annotations

from typing import Any

import pytest

from synthgen.prompts.templates import list_templates, load_template

SYSTEM = "You are the support assistant of Lumen Notes. Answer briefly."


def _examples(tag: str) -> list[dict[str, Any]]:
    return [
        {
            "messages": [
                {"role": "user", "content": f"Question {tag}{i}?"},
                {"role": "assistant", "content": f"Answer {tag}{i}."},
            ]
        }
        for i in range(3)
    ]


def _text(messages: list[dict[str, str]]) -> str:
    return "".join(f"<{m['role']}>{m['content']}" for m in messages)


def _shared(a: str, b: str) -> str:
    """The text ``a`` and ``b`` start with."""
    n = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return a[:n]


@pytest.mark.parametrize("name", [t.name for t in list_templates()])
def test_generation_prompts_vary_only_at_their_end(name: str) -> None:
    template = load_template(name)
    attrs = {k: v[0] for k, v in template.attributes.items()}
    other_attrs = {k: v[-1] for k, v in template.attributes.items()}
    if not attrs:  # persona: attributes come from --attributes
        attrs, other_attrs = {"persona": "a nurse"}, {"persona": "a pupil"}
    one = template.render(
        examples=_examples("a"), n=3, system=SYSTEM, category="billing", attributes=attrs
    )
    other = template.render(
        examples=_examples("b"), n=3, system=SYSTEM, category="account", attributes=other_attrs
    )
    # Deterministic: the same inputs render the same prompt.
    same = template.render(
        examples=_examples("a"), n=3, system=SYSTEM, category="billing", attributes=attrs
    )
    assert one == same
    shared = _shared(_text(one), _text(other))
    assert one[0]["role"] == "system" and one[0]["content"] in shared
    user = one[-1]["content"]
    # The instructions and the output shape come before anything that varies...
    shape = user.index('{"conversations": [')
    assert user[: shape + len('{"conversations": [')] in shared
    assert SYSTEM in shared
    # ...and nothing that varies comes before them.
    assert "billing" not in shared and "Question a0" not in shared
    assert "exactly 3" in user[user.index("Question a0") :]  # the count asked for is last


def test_the_judge_prompt_puts_the_conversation_last() -> None:
    judge = load_template("judge")
    conversation = [{"role": "user", "content": "Q0?"}, {"role": "assistant", "content": "A0."}]
    a = judge.render(conversation=conversation, system=SYSTEM)
    b = judge.render(conversation=[{"role": "user", "content": "Other?"}], system=SYSTEM)
    shared = _shared(_text(a), _text(b))
    assert '{"score": 7' in shared and SYSTEM in shared and "Q0?" not in shared
    assert a[-1]["content"].endswith("USER: Q0?\nASSISTANT: A0.")
