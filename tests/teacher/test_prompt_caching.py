"""Cached prompt tokens: read from every transport in each provider's shape, kept in the
response cache, and priced at the provider's cached rate from litellm's table."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web

from synthgen.teacher import ChatRequest, Completion, make_teacher
from synthgen.teacher.base import cached_tokens_of
from synthgen.teacher.cache import ResponseCache
from synthgen.teacher.pricing import (
    cache_saving,
    cached_price_per_token,
    estimate_cost,
    price_per_token,
)
from synthgen.teacher.prompt_cache import cacheable, caches_automatically

REQ = ChatRequest(messages=({"role": "user", "content": "hi"},))

# The usage objects providers send, and the cached tokens each means.
USAGES: dict[str, tuple[dict[str, Any], int]] = {
    "openai": ({"prompt_tokens_details": {"cached_tokens": 1152, "audio_tokens": 0}}, 1152),
    "deepseek": ({"prompt_cache_hit_tokens": 1280, "prompt_cache_miss_tokens": 720}, 1280),
    "anthropic-shaped": ({"cache_read_input_tokens": 1024}, 1024),
    "none": ({}, 0),
}


def _reply(usage: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "x",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 2000, "completion_tokens": 5, "total_tokens": 2005, **usage},
    }


def _complete(teacher: Any) -> Completion:
    async def go() -> Completion:
        try:
            result: Completion = await teacher.complete(REQ)
            return result
        finally:
            await teacher.aclose()

    return asyncio.run(go())


@pytest.mark.parametrize("shape", sorted(USAGES))
@pytest.mark.parametrize("transport", ["aiohttp", "openai-sdk", "litellm"])
def test_every_transport_reads_cached_tokens_in_every_shape(
    serve: Any, transport: str, shape: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    usage, expected = USAGES[shape]

    async def answer(request: web.Request) -> web.Response:
        return web.json_response(_reply(usage))

    server = serve(answer)
    if transport == "litellm":
        from synthgen.teacher.litellm_backend import LiteLLMTeacher

        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-real")
        teacher: Any = LiteLLMTeacher("openai/m", api_base=server.base_url, timeout=10)
    else:
        teacher = make_teacher("m", base_url=server.base_url, transport=transport)
    got = _complete(teacher)
    assert (got.prompt_tokens, got.completion_tokens, got.cached_tokens) == (2000, 5, expected)


def test_cached_tokens_are_never_more_than_the_prompt_nor_garbage() -> None:
    assert cached_tokens_of({"prompt_tokens_details": {"cached_tokens": 900}}, 500) == 500
    assert cached_tokens_of({"prompt_tokens_details": None, "cache_read_input_tokens": 7}, 50) == 7
    for junk in (-3, "128", True, 1.5, None):
        assert cached_tokens_of({"prompt_tokens_details": {"cached_tokens": junk}}, 500) == 0
    assert cached_tokens_of(None, 500) == 0


def test_the_response_cache_keeps_cached_tokens(tmp_path: Any) -> None:
    reply = Completion("hello", "stop", 2000, 40, 1536)
    assert Completion.from_dict(reply.to_dict()) == reply
    with ResponseCache(tmp_path / "c.sqlite") as cache:
        cache.put("k", reply.to_dict())
        assert cache.get_completion("k") == reply
        # Entries written before the key existed read as nothing cached; a count over the
        # prompt's is cut to the prompt.
        cache.put("old", {"text": "a", "finish_reason": "stop", "prompt_tokens": 9})
        assert cache.get_completion("old") == Completion("a", "stop", 9, 0, 0)
        cache.put("odd", {**reply.to_dict(), "cached_tokens": 5000})
        got = cache.get_completion("odd")
        assert got is not None and got.cached_tokens == 2000
        cache.put("bad", {**reply.to_dict(), "cached_tokens": "lots"})
        assert cache.get_completion("bad") is None


def test_cached_tokens_are_priced_at_the_cached_rate() -> None:
    # gpt-4o-mini in litellm's table: input 0.15 $/M, cached input 0.075 $/M, output 0.6 $/M.
    prices = price_per_token("gpt-4o-mini")
    cached_rate = cached_price_per_token("gpt-4o-mini")
    assert prices is not None and cached_rate is not None and 0 < cached_rate < prices[0]
    full = estimate_cost("gpt-4o-mini", 10_000, 1_000)
    cheaper = estimate_cost("gpt-4o-mini", 10_000, 1_000, 8_192)
    assert full is not None and cheaper is not None
    assert cheaper == pytest.approx(
        (10_000 - 8_192) * prices[0] + 8_192 * cached_rate + 1_000 * prices[1]
    )
    assert full - cheaper == pytest.approx(cache_saving("gpt-4o-mini", 8_192))
    # No cached rate in the table: cached tokens cost the full input price.
    assert cache_saving("demo", 8_192) == 0.0 and estimate_cost("demo", 10, 1, 5) is None


def test_the_openai_caching_rule() -> None:
    assert [cacheable(n) for n in (0, 1023, 1024, 1151, 1152, 5000)] == [
        0,
        0,
        1024,
        1024,
        1152,
        4992,
    ]
    assert caches_automatically("gpt-4o-mini") and caches_automatically("deepseek/deepseek-chat")
    # Anthropic caches only what a request marks; unknown models are not assumed to cache.
    assert cached_price_per_token("claude-haiku-4-5") is not None
    assert not caches_automatically("claude-haiku-4-5")
    assert not caches_automatically("demo") and not caches_automatically("hosted_vllm/llama")
