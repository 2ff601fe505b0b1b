"""What a FakeTeacher answers with: scripted replies, injected faults, and the OpenAI-shaped
bodies both become on the wire."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from synthgen.errors import ConfigError
from synthgen.teacher.demo import prompt_tokens, rough_tokens

__all__ = [
    "ERRORS",
    "FAULT_KINDS",
    "REASONING_SHAPES",
    "Fault",
    "Handler",
    "Reply",
    "ReplyItem",
    "error_body",
]

REASONING_SHAPES = ("reasoning_content", "reasoning", "think")
FAULT_KINDS = frozenset(
    {"400", "401", "403", "404", "429", "500", "503"}
    | {"slow", "hang", "drop", "malformed", "length", "empty"}
)


@dataclass(frozen=True)
class Reply:
    """Assistant content sent as is, with the given ``finish_reason``.

    ``reasoning`` is a reasoning model's trace, sent as ``reasoning_as``: the message field of
    that name (``reasoning_content``: vLLM's reasoning parsers, DeepSeek; ``reasoning``:
    OpenRouter) or ``think``, a ``<think>`` block opening the content (a server without a
    parser). ``reasoning_tokens`` goes in ``usage.completion_tokens_details`` (None: not
    reported, as vLLM does not)."""

    content: str
    finish_reason: str = "stop"
    reasoning: str | None = None
    reasoning_as: str = "reasoning_content"
    reasoning_tokens: int | None = None

    def __post_init__(self) -> None:
        if self.reasoning_as not in REASONING_SHAPES:
            raise ConfigError(
                f"unknown reasoning_as {self.reasoning_as!r}; "
                f"expected one of {', '.join(REASONING_SHAPES)}"
            )


@dataclass(frozen=True)
class Fault:
    """A failure to inject; ``kind`` is one of FAULT_KINDS.

    ``retry_after`` is the 429 ``Retry-After`` header in seconds (None: no header).
    ``delay`` is the extra wait of "slow" (default 1 s) or the cap of "hang" (default 600 s).
    ``reply`` is what "slow" and "length" serve (and cut, for "length"); None: the generator.
    """

    kind: str
    retry_after: float | None = 1.0
    delay: float | None = None
    reply: dict[str, Any] | str | Reply | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ConfigError(
                f"unknown fault kind {self.kind!r}; "
                f"expected one of {', '.join(sorted(FAULT_KINDS))}"
            )


ReplyItem = dict[str, Any] | str | Reply | Fault
Handler = Callable[[dict[str, Any], int], ReplyItem | Awaitable[ReplyItem]]

ERRORS: dict[str, tuple[int, str, str | None, str]] = {
    # kind: (status, error type, code, message) — the shapes OpenAI sends
    "400": (400, "invalid_request_error", None, "Invalid request (injected by FakeTeacher)."),
    "401": (401, "invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    "403": (403, "invalid_request_error", "unsupported_country_region_territory", "Forbidden."),
    "404": (404, "invalid_request_error", "model_not_found", "The model does not exist."),
    "429": (429, "requests", "rate_limit_exceeded", "Rate limit reached. Please try again."),
    "500": (500, "server_error", None, "The server had an error while processing your request."),
    "503": (503, "server_error", None, "The engine is currently overloaded, please try later."),
}


def error_body(kind: str, message: str | None = None) -> dict[str, Any]:
    _, etype, code, default = ERRORS[kind]
    return {"error": {"message": message or default, "type": etype, "param": None, "code": code}}


def completion_body(body: dict[str, Any], reply: Reply, index: int) -> dict[str, Any]:
    """The chat.completion object answering ``body`` with ``reply``."""
    prompt = prompt_tokens(body["messages"])
    message: dict[str, Any] = {"role": "assistant", "content": reply.content, "refusal": None}
    completion = rough_tokens(reply.content)
    if reply.reasoning is not None:
        if reply.reasoning_as == "think":
            message["content"] = f"<think>\n{reply.reasoning}\n</think>\n\n{reply.content}"
            completion = rough_tokens(message["content"])
        else:
            message[reply.reasoning_as] = reply.reasoning
            completion += rough_tokens(reply.reasoning)
    usage: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    if reply.reasoning_tokens is not None:
        usage["completion_tokens_details"] = {"reasoning_tokens": reply.reasoning_tokens}
    return {
        "id": f"chatcmpl-fake{index:010d}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", ""),
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": reply.finish_reason,
            }
        ],
        "usage": usage,
    }
