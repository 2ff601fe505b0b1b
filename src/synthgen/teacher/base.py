"""The one interface every teacher backend implements. Imports no backend."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit


@dataclass(frozen=True)
class ChatRequest:
    """One chat-completion request; everything that determines the reply (no secrets)."""

    messages: tuple[dict[str, str], ...]
    temperature: float = 1.0
    max_tokens: int | None = None
    response_format: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # The texts of the examples the prompt shows: never sent, used to spot copies.
    shown: tuple[str, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class Completion:
    text: str
    finish_reason: str | None
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "finish_reason": self.finish_reason,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Completion:
        return cls(
            text=d.get("text") or "",
            finish_reason=d.get("finish_reason"),
            prompt_tokens=int(d.get("prompt_tokens") or 0),
            completion_tokens=int(d.get("completion_tokens") or 0),
        )


class Teacher(Protocol):
    model: str
    endpoint: str  # what the cache key and the report name; a URL or "litellm:<provider>"

    async def complete(self, request: ChatRequest) -> Completion: ...

    async def aclose(self) -> None: ...


def request_body(model: str, request: ChatRequest, *, structured: bool) -> dict[str, Any]:
    """The chat-completions body for ``request`` (``response_format`` only if ``structured``)."""
    body: dict[str, Any] = {
        "model": model,
        "messages": list(request.messages),
        "temperature": request.temperature,
        **request.extra,
    }
    if request.max_tokens:
        body["max_tokens"] = request.max_tokens
    if structured and request.response_format:
        body["response_format"] = request.response_format
    return body


OPENAI_URL = "https://api.openai.com/v1"


class OpenAICompatible:
    """What the two OpenAI-compatible transports share: the endpoint, and the fallback for
    servers that reject a json_schema ``response_format`` with a 400 (it is dropped for the
    rest of the run on the first refusal; the lenient parser copes with free-form JSON).
    Subclasses implement ``_send(request, structured)``."""

    _structured = True

    def __init__(self, model: str, base_url: str | None) -> None:
        self.model = model
        self.endpoint = (base_url or OPENAI_URL).rstrip("/")
        self._where = host_of(self.endpoint)

    async def complete(self, request: ChatRequest) -> Completion:
        from synthgen.errors import TeacherError

        try:
            return await self._send(request, structured=self._structured)
        except TeacherError as e:
            if e.kind == "bad_request" and self._structured and request.response_format:
                self._structured = False
                return await self._send(request, structured=False)
            raise

    async def _send(self, request: ChatRequest, *, structured: bool) -> Completion:
        raise NotImplementedError


def host_of(url: str) -> str:
    """The host[:port] of an endpoint, for messages and reports (never a path or a query
    string, which is where some gateways put keys)."""
    parts = urlsplit(url)
    return parts.netloc.rsplit("@", 1)[-1] or url
