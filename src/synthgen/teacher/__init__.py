"""Picking a teacher backend for a model, importing it only when it is used."""

from __future__ import annotations

import os
from typing import Any

from synthgen.errors import ConfigError
from synthgen.teacher.base import DEFAULT_MAX_REPLY_BYTES, ChatRequest, Completion, Teacher
from synthgen.teacher.urls import host_of, public_endpoint, validate_base_url

__all__ = [
    "ChatRequest",
    "Completion",
    "Teacher",
    "host_of",
    "make_teacher",
    "public_endpoint",
    "route",
    "validate_base_url",
]

# The usual key variables of providers litellm reaches; one of them must be set before a
# run starts, so a missing key fails in milliseconds instead of after importing litellm.
PROVIDER_KEYS: dict[str, tuple[str, ...]] = {
    "anthropic": ("ANTHROPIC_API_KEY",),
    "gemini": ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
    "vertex_ai": ("GOOGLE_APPLICATION_CREDENTIALS", "VERTEXAI_PROJECT"),
    "bedrock": ("AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_ROLE_NAME", "AWS_WEB_IDENTITY_TOKEN_FILE"),
    "mistral": ("MISTRAL_API_KEY",),
    "groq": ("GROQ_API_KEY",),
    "together_ai": ("TOGETHERAI_API_KEY", "TOGETHER_API_KEY"),
    "cohere": ("COHERE_API_KEY",),
    "deepseek": ("DEEPSEEK_API_KEY",),
    "openrouter": ("OPENROUTER_API_KEY",),
    "fireworks_ai": ("FIREWORKS_API_KEY", "FIREWORKS_AI_API_KEY"),
    "azure": ("AZURE_API_KEY", "AZURE_OPENAI_API_KEY"),
    "xai": ("XAI_API_KEY",),
}
NO_KEY_PROVIDERS = {"ollama", "ollama_chat", "lm_studio", "hosted_vllm", "llamafile"}


def route(model: str, base_url: str | None) -> str:
    """'openai' for OpenAI and OpenAI-compatible URLs, 'litellm' for other providers."""
    if base_url:
        return "openai"
    prefix = model.split("/", 1)[0] if "/" in model else ""
    return "litellm" if prefix and prefix != "openai" else "openai"


def check_credentials(model: str, base_url: str | None) -> None:
    """Fail fast, before any import or request, when no key can possibly work."""
    from synthgen.settings.naming import setting

    demo = setting("model", "demo")
    if route(model, base_url) == "openai":
        if base_url is None and not os.environ.get("OPENAI_API_KEY"):
            raise ConfigError(
                f"model {model!r} needs an API key: set OPENAI_API_KEY, or point "
                f"{setting('base_url')} at an OpenAI-compatible server (vLLM, Ollama, ...), "
                f"or try {demo}"
            )
        return
    provider = model.split("/", 1)[0]
    names = PROVIDER_KEYS.get(provider)
    if names and not any(os.environ.get(n) for n in names):
        raise ConfigError(
            f"model {model!r} needs credentials: set {' or '.join(names)} "
            f"(or try {demo} to see the pipeline offline)"
        )


TRANSPORTS = ("aiohttp", "openai-sdk")


def make_teacher(
    model: str,
    *,
    base_url: str | None = None,
    timeout: float = 120.0,
    max_connections: int = 64,
    transport: str = "aiohttp",
    max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES,
    api_key: str | None = None,
) -> Teacher:
    """The backend for ``model``: OpenAI and OpenAI-compatible URLs over ``transport``
    (direct aiohttp, or the openai SDK), other providers through litellm. ``base_url`` is
    checked first (ConfigError for anything but an http(s) URL with a host); replies over
    ``max_reply_bytes`` fail with kind "too_large" (litellm: not enforced). ``api_key``
    (OpenAI-compatible endpoints only) replaces $OPENAI_API_KEY for this teacher."""
    if transport not in TRANSPORTS:
        raise ConfigError(f"unknown --transport {transport!r}: use {' or '.join(TRANSPORTS)}")
    if base_url:
        base_url = validate_base_url(base_url)  # before anything is imported or sent
    if api_key is None or route(model, base_url) == "litellm":
        check_credentials(model, base_url)
    if route(model, base_url) == "litellm":
        from synthgen.teacher.litellm_backend import LiteLLMTeacher

        return LiteLLMTeacher(model, timeout=timeout)
    cls: Any
    if transport == "openai-sdk":
        from synthgen.teacher.openai_compat import OpenAICompatTeacher as cls
    else:
        from synthgen.teacher.http import HTTPTeacher as cls
    teacher: Teacher = cls(
        model.removeprefix("openai/") if base_url is None else model,
        base_url=base_url,
        api_key=api_key or os.environ.get("OPENAI_API_KEY"),
        timeout=timeout,
        max_connections=max_connections,
        max_reply_bytes=max_reply_bytes,
    )
    return teacher
