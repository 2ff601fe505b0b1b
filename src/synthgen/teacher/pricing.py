"""Prices and context windows from the table litellm ships, read as plain JSON.

``import litellm`` costs ≈5 s and 170 MB (and may stall on a network fetch), so the table is
located with ``importlib.util.find_spec`` and parsed directly. Prices are per token, in USD.
Prompt tokens the provider served from its prompt cache are priced at the table's
``cache_read_input_token_cost`` (the full input price where it has none); tiered prices
(above 200k tokens, batch, priority) and cache writes (explicit caching only) are not modelled.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from synthgen.text.litellm_files import litellm_file

TABLE_NAME = "model_prices_and_context_window_backup.json"


def table_path() -> Path | None:
    """Where litellm's bundled price table is, or None when litellm is not installed."""
    path = litellm_file(TABLE_NAME)
    return path if path is not None and path.is_file() else None


@cache
def _table() -> dict[str, dict[str, Any]]:
    path = table_path()
    if path is None:
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(raw, dict):
        return {}
    # "sample_spec" documents the schema with strings where numbers belong.
    return {k: v for k, v in raw.items() if isinstance(v, dict) and k != "sample_spec"}


def _provider_matches(prefix: str, provider: object) -> bool:
    # litellm_provider is sometimes a refinement of the prefix users type
    # ("vertex_ai-language-models" for "vertex_ai/", "text-completion-openai" for "openai/").
    if not isinstance(provider, str):
        return False
    return (
        provider == prefix or provider.startswith(prefix + "-") or provider.endswith("-" + prefix)
    )


@cache
def _by_bare_name() -> dict[str, list[str]]:
    """Bare model name -> keys stored as "<provider>/<name>" whose prefix is their provider."""
    index: dict[str, list[str]] = {}
    for key, info in _table().items():
        prefix, sep, rest = key.partition("/")
        if sep and _provider_matches(prefix, info.get("litellm_provider")):
            index.setdefault(rest, []).append(key)
    return index


def _lookup(model: str) -> dict[str, Any] | None:
    table = _table()
    if model in table:
        return table[model]
    if model.startswith("ft:"):
        # "ft:gpt-4o-mini-2024-07-18:org:suffix:id": litellm prices by "ft:<base>".
        base = model.split(":")[1]
        if not base:
            return None
        return table.get(f"ft:{base}") or _lookup(base)
    prefix, sep, rest = model.partition("/")
    if sep:
        # "openai/gpt-4o-mini" is stored as "gpt-4o-mini"; only trust it when the stored entry
        # belongs to that provider (a self-hosted "hosted_vllm/gpt-4o" is not OpenAI's price).
        info = table.get(rest)
        if info is not None and _provider_matches(prefix, info.get("litellm_provider")):
            return info
        return None
    # A bare name stored only with its provider prefix ("llama-3.1-8b-instant" -> "groq/...").
    keys = _by_bare_name().get(model, [])
    return table[keys[0]] if len(keys) == 1 else None


def model_info(model: str) -> dict[str, Any] | None:
    """litellm's entry for ``model`` (prices, limits, provider), or None when unknown."""
    info = _lookup(model)
    if info is None and model != model.lower():
        info = _lookup(model.lower())
    return info


def _number(info: dict[str, Any], key: str) -> float | None:
    value = info.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def price_per_token(model: str) -> tuple[float, float] | None:
    """(input, output) USD per token, or None when the model has no known price."""
    info = model_info(model)
    if info is None:
        return None
    inp = _number(info, "input_cost_per_token")
    out = _number(info, "output_cost_per_token")
    if inp is None and out is None:
        return None
    return (inp or 0.0, out or 0.0)


def cached_price_per_token(model: str) -> float | None:
    """USD per prompt token served from the provider's prompt cache, or None when the table
    has no cached rate for ``model``."""
    info = model_info(model)
    return None if info is None else _number(info, "cache_read_input_token_cost")


def estimate_cost(
    model: str, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0
) -> float | None:
    """USD for that many tokens at ``model``'s list price, ``cached_tokens`` of the prompt
    tokens at its cached rate; None when the price is unknown."""
    prices = price_per_token(model)
    if prices is None:
        return None
    cost = prompt_tokens * prices[0] + completion_tokens * prices[1]
    return cost - cache_saving(model, cached_tokens) if cached_tokens > 0 else cost


def cache_saving(model: str, cached_tokens: int) -> float:
    """USD that ``cached_tokens`` prompt tokens cost less at the cached rate than at the
    full input price (0 when either price is unknown)."""
    prices = price_per_token(model)
    cached = cached_price_per_token(model)
    if prices is None or cached is None or cached_tokens <= 0:
        return 0.0
    return cached_tokens * max(prices[0] - cached, 0.0)


def context_window(model: str) -> int | None:
    """Maximum input tokens of ``model``, or None when unknown."""
    info = model_info(model)
    if info is None:
        return None
    for key in ("max_input_tokens", "max_tokens"):
        value = info.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def max_output_tokens(model: str) -> int | None:
    """Most tokens ``model`` writes in one reply, or None when unknown. Only the table's
    ``max_output_tokens``: its legacy ``max_tokens`` means input or output by entry."""
    info = model_info(model)
    if info is None:
        return None
    value = info.get("max_output_tokens")
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None
