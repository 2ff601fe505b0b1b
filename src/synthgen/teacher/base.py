"""The one interface every teacher backend implements. Imports no backend."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from synthgen.errors import TeacherError
from synthgen.redact import redact_registered, register_secret
from synthgen.teacher.urls import host_of, public_endpoint, url_secrets, validate_base_url

__all__ = [
    "FORMAT_MODES",
    "ChatRequest",
    "Completion",
    "OpenAICompatible",
    "Teacher",
    "cached_tokens_of",
    "clean_text",
    "host_of",
    "reply_text",
    "request_body",
]

log = logging.getLogger("synthgen")

# Replies are capped at this many bytes unless a backend is told otherwise (max_reply_bytes):
# a reply of this size is hundreds of times what any request of synthgen asks for.
DEFAULT_MAX_REPLY_BYTES = 8 * 1024 * 1024

_SURROGATE = re.compile("[\ud800-\udfff]")


def reply_text(text: str) -> str:
    """A teacher reply as it may be kept: the keys in use masked (a server can echo them in a
    reply as well as in an error) and lone surrogates replaced (``clean_text``)."""
    return clean_text(redact_registered(text))


def clean_text(text: str) -> str:
    """``text`` with lone surrogates (half an emoji: ``"\\ud83d"`` in a JSON reply decodes to
    one) replaced by U+FFFD, so that it can be encoded, hashed, cached and written."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return text


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
    # Of prompt_tokens, those the provider served from its prompt cache (billed at its
    # cached rate): OpenAI's usage.prompt_tokens_details.cached_tokens and its equivalents.
    cached_tokens: int = 0
    # A reasoning model's trace, apart from ``text`` (teacher.reasoning), and the tokens of
    # completion_tokens it took (priced as output, reported apart).
    reasoning: str = ""
    reasoning_tokens: int = 0

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "text": self.text,
            "finish_reason": self.finish_reason,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cached_tokens": self.cached_tokens,
        }
        if self.reasoning or self.reasoning_tokens:
            d["reasoning"] = self.reasoning
            d["reasoning_tokens"] = self.reasoning_tokens
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Completion:
        """The completion ``to_dict`` made; ValueError if ``d`` has another shape."""
        got = cls.from_cached(d)
        if got is None:
            raise ValueError("not a stored completion: expected text, finish_reason and counts")
        return got

    @classmethod
    def from_cached(cls, d: object) -> Completion | None:
        """Like ``from_dict``, but None for anything of another shape (a damaged or foreign
        cache row is a miss, never a crash)."""
        if not isinstance(d, dict):
            return None
        text, reason = d.get("text"), d.get("finish_reason")
        # Entries written before cached_tokens was kept read as 0 cached.
        counts = [d.get(k) or 0 for k in ("prompt_tokens", "completion_tokens", "cached_tokens")]
        if not isinstance(text, str) or not (reason is None or isinstance(reason, str)):
            return None
        if not all(type(n) is int and n >= 0 for n in counts):
            return None
        # Entries written before traces were kept read as none.
        trace, spent = d.get("reasoning") or "", d.get("reasoning_tokens") or 0
        if not isinstance(trace, str) or type(spent) is not int or spent < 0:
            return None
        return cls(
            clean_text(text),
            reason,
            counts[0],
            counts[1],
            min(counts[2], counts[0]),
            clean_text(trace),
            spent,
        )


def _count(value: object) -> int:
    return value if type(value) is int and value > 0 else 0


def _field(obj: object, name: str) -> object:
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def cached_tokens_of(usage: object, prompt_tokens: int) -> int:
    """The prompt tokens a reply's ``usage`` (a dict, or an SDK/litellm object) says came
    from the provider's prompt cache, at most ``prompt_tokens``. OpenAI and the servers that
    copy it say ``prompt_tokens_details.cached_tokens``; DeepSeek ``prompt_cache_hit_tokens``;
    Anthropic-shaped usage (litellm, proxies) ``cache_read_input_tokens``."""
    if usage is None:
        return 0
    details = _field(usage, "prompt_tokens_details")
    cached = _count(_field(details, "cached_tokens")) if details is not None else 0
    for name in ("cache_read_input_tokens", "prompt_cache_hit_tokens"):
        cached = cached or _count(_field(usage, name))
    return min(cached, max(prompt_tokens, 0))


class Teacher(Protocol):
    model: str
    # What the cache key and the report name: a URL without credentials (public_endpoint),
    # or "litellm:<provider>".
    endpoint: str

    async def complete(self, request: ChatRequest) -> Completion: ...

    async def aclose(self) -> None: ...


def request_body(
    model: str, request: ChatRequest, *, response_format: dict[str, Any] | None
) -> dict[str, Any]:
    """The chat-completions body for ``request``, with ``response_format`` as given (the
    request's own, or a degraded form of it; None sends none)."""
    body: dict[str, Any] = {
        "model": model,
        "messages": list(request.messages),
        "temperature": request.temperature,
        **request.extra,
    }
    if request.max_tokens:
        body["max_tokens"] = request.max_tokens
    if response_format:
        body["response_format"] = response_format
    return body


OPENAI_URL = "https://api.openai.com/v1"

# How structured output is asked for, best first. Each refusal steps down one: llama.cpp,
# Ollama and others take a schema beside json_object; some take only json_object; the last
# step sends none, and the lenient reply parser copes with free-form JSON.
FORMAT_MODES = ("json_schema", "json_object+schema", "json_object", "none")
_NAMES_FORMAT = re.compile(r"response[_ ]?format|json_schema|json_object", re.IGNORECASE)
# Statuses that say nothing about the request's shape, whatever their body echoes.
_NOT_ABOUT_SHAPE = frozenset({401, 403, 407, 408, 429})


def degraded_format(wanted: dict[str, Any] | None, mode: str) -> dict[str, Any] | None:
    """``wanted`` in the form ``mode`` allows: never better than asked for, never better
    than the endpoint has accepted."""
    if not wanted:
        return None
    kind = wanted.get("type")
    if kind not in ("json_schema", "json_object"):
        return wanted if mode != "none" else None  # "text" or unknown: as is, or nothing
    step = max(FORMAT_MODES.index(mode), 0 if kind == "json_schema" else 2)
    spec = wanted.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, dict) else None
    if step == 1 and not isinstance(schema, dict):
        step = 2  # nothing to put beside json_object
    if step == 0:
        return wanted
    if step == 1:
        return {"type": "json_object", "schema": schema}
    return {"type": "json_object"} if step == 2 else None


def format_mode_of(sent: dict[str, Any] | None) -> str:
    """The mode that produced ``sent``; a format of another type counts as json_object, so
    that its refusal steps straight down to none."""
    if not sent:
        return "none"
    if sent.get("type") == "json_schema":
        return "json_schema"
    return "json_object+schema" if "schema" in sent else "json_object"


class OpenAICompatible:
    """What the two OpenAI-compatible transports share: the endpoint (validated, kept with
    its credentials for sending only), and structured output degrading step by step on
    endpoints that refuse it (FORMAT_MODES). The first refusal of any status whose body names
    ``response_format`` steps down, for the rest of the run; ``response_format_mode`` says
    where this endpoint stands. Subclasses implement ``_send(request, response_format)``."""

    def __init__(self, model: str, base_url: str | None) -> None:
        self.model = model
        self._base_url = validate_base_url(base_url) if base_url else OPENAI_URL
        for secret in url_secrets(self._base_url):
            register_secret(secret)
        self.endpoint = public_endpoint(self._base_url)
        self._where = host_of(self._base_url)
        self.response_format_mode = FORMAT_MODES[0]

    async def complete(self, request: ChatRequest) -> Completion:
        # Ends: after a refusal the mode is below the one just used, and "none" sends nothing
        # that can be refused.
        while True:
            sent = degraded_format(request.response_format, self.response_format_mode)
            try:
                return await self._send(request, response_format=sent)
            except TeacherError as e:
                if sent is None or not _refuses_format(e):
                    raise
                self._step_down(format_mode_of(sent), e)

    def _step_down(self, used: str, error: TeacherError) -> None:
        # Requests in flight when the first refusal came back used the same mode; only the
        # first of them steps down, the others retry with what it chose.
        if FORMAT_MODES.index(self.response_format_mode) > FORMAT_MODES.index(used):
            return
        self.response_format_mode = FORMAT_MODES[FORMAT_MODES.index(used) + 1]
        log.warning(
            "%s refused response_format %s (%s); using %s for the rest of the run",
            self._where,
            used,
            f"HTTP {error.status}",
            self.response_format_mode,
        )

    async def _send(
        self, request: ChatRequest, *, response_format: dict[str, Any] | None
    ) -> Completion:
        raise NotImplementedError


def _refuses_format(error: TeacherError) -> bool:
    status = error.status
    if status is None or status < 400 or status in _NOT_ABOUT_SHAPE:
        return False
    return bool(_NAMES_FORMAT.search(error.detail))
