"""Splitting a leading <think> block off a text."""

from __future__ import annotations

import pytest

from synthgen.text.think import Think, has_tag, split_think


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("plain answer", Think("", "plain answer")),
        ("<think>\nstep 1\n</think>\n\nanswer", Think("step 1", "answer")),
        ("  <THINK>x</THINK>answer", Think("x", "answer")),
        # Served with the opening tag in the chat template (DeepSeek-R1 distills).
        ("step 1, step 2\n</think>\n\nanswer", Think("step 1, step 2", "answer")),
        (
            "<think>still thinking when the reply ended",
            Think("still thinking when the reply ended", "", cut=True),
        ),
        # A JSON reply whose strings mention the tag is all answer.
        ('{"a": "close with </think>"}', Think("", '{"a": "close with </think>"}')),
        # A tag later in the answer is not a trace: has_tag finds it.
        ("answer <think>later</think>", Think("", "answer <think>later</think>")),
    ],
)
def test_split_think(text: str, want: Think) -> None:
    assert split_think(text) == want


def test_has_tag() -> None:
    assert has_tag("so </think> here")
    assert has_tag("<Think>")
    assert not has_tag("I think> not a tag")
    assert not has_tag("thinking")
