"""Providers' automatic prompt caching, as synthgen estimates it.

OpenAI (and Azure, DeepSeek, Gemini's implicit cache, xAI, ...) bill the part of a prompt that
repeats the start of a recent prompt at a cached rate, with no flag to send. OpenAI's rule,
which the dry-run estimate and FakeTeacher follow: a prompt of at least 1,024 tokens may be
served from the cache, and the cached part is the longest prefix seen before, counted in
128-token steps from 1,024. So a prompt pays off when its fixed part (system prompt,
instructions, output schema) comes first and the examples that vary come last.

Anthropic models cache only what a request marks with ``cache_control``; synthgen marks
nothing, so their runs are estimated with no cached tokens.
"""

from __future__ import annotations

from synthgen.teacher.pricing import cached_price_per_token, model_info

__all__ = ["MIN_CACHED", "STEP", "cacheable", "caches_automatically"]

MIN_CACHED = 1024
STEP = 128

# Providers whose caching must be asked for per request: nothing of synthgen's is cached.
_EXPLICIT = ("anthropic", "vertex_ai-anthropic_models", "bedrock")


def cacheable(shared_prefix: int) -> int:
    """The cached tokens a provider reports for a prompt whose first ``shared_prefix``
    tokens it has seen before: 0 below MIN_CACHED, else that prefix rounded down to a
    STEP."""
    if shared_prefix < MIN_CACHED:
        return 0
    return MIN_CACHED + (shared_prefix - MIN_CACHED) // STEP * STEP


def caches_automatically(model: str) -> bool:
    """Whether ``model``'s provider caches prompt prefixes unasked, as far as litellm's
    table tells (a cached rate, and not a provider that needs cache_control)."""
    info = model_info(model)
    if info is None or cached_price_per_token(model) is None:
        return False
    provider = str(info.get("litellm_provider", ""))
    return not (provider.startswith(_EXPLICIT) or "claude" in model.lower())
