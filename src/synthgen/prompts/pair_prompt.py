"""Preference pairs ask the teacher for the assistant's next turn itself: the prompt of an
accepted conversation (everything before its last assistant turn) is sent as it is, and each
reply is one candidate response. The request names ``n`` (one choice each: every response is
a request of its own, with a cache key of its own), which also tells the bundled demo teacher
and FakeTeacher to answer in plain text rather than with conversations in JSON."""

from __future__ import annotations

from synthgen.data.example import Example, Message
from synthgen.teacher import ChatRequest

__all__ = ["prompt_of", "response_request", "with_response"]


def prompt_of(example: Example) -> Example | None:
    """``example`` up to its last assistant turn (its system prompt and metadata kept); None
    when nothing a user said comes before that turn, or the conversation uses tools (a
    response would have to call them: not supported in pairs)."""
    if example.tools or any(m.tool_calls or m.role == "tool" for m in example.messages):
        return None
    last = max((i for i, m in enumerate(example.messages) if m.role == "assistant"), default=-1)
    head = example.messages[:last]
    if last < 0 or not head or head[-1].role != "user":
        return None
    # The kept turns lose their reasoning: the responses are sampled without any.
    turns = tuple(m.model_copy(update={"reasoning_content": None}) for m in head)
    return example.model_copy(update={"messages": turns})


def response_request(prompt: Example, *, temperature: float, max_tokens: int | None) -> ChatRequest:
    """The request for one response to ``prompt``."""
    return ChatRequest(
        messages=tuple({"role": m.role, "content": m.content} for m in prompt.messages),
        temperature=temperature,
        max_tokens=max_tokens,
        extra={"n": 1},
    )


def with_response(prompt: Example, text: str) -> Example:
    """``prompt`` answered with ``text``: what the judge scores."""
    answer = Message(role="assistant", content=text)
    return prompt.model_copy(update={"messages": (*prompt.messages, answer)})
