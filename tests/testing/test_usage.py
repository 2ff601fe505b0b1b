"""FakeTeacher reports cached prompt tokens the way OpenAI does: from 1,024 tokens, in
128-token steps, for the prefix an earlier prompt shared."""

from __future__ import annotations

from typing import Any

import httpx

from synthgen.testing import FakeTeacher
from synthgen.testing.usage import PromptCache

# FakeTeacher counts four characters a token.
FIXED = "Fixed instructions that every request repeats. " * 120  # ≈ 1,400 tokens


def _usage(fake: FakeTeacher, messages: list[dict[str, str]], model: str = "m") -> dict[str, Any]:
    r = httpx.post(f"{fake.base_url}/chat/completions", json={"model": model, "messages": messages})
    r.raise_for_status()
    usage: dict[str, Any] = r.json()["usage"]
    return usage


def _prompt(varying: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": FIXED}, {"role": "user", "content": varying}]


def test_a_repeated_prefix_is_reported_cached_in_128_token_steps() -> None:
    with FakeTeacher() as fake:
        first = _usage(fake, _prompt("examples A " * 100))
        second = _usage(fake, _prompt("examples B " * 100))
        again = _usage(fake, _prompt("examples A " * 100))
        other_model = _usage(fake, _prompt("examples A " * 100), model="other")
        short = _usage(fake, [{"role": "user", "content": "hi"}])
        _usage(fake, [{"role": "user", "content": "hi"}])
        short_again = _usage(fake, [{"role": "user", "content": "hi"}])
        fake.reset()  # a fresh server has seen nothing
        after_reset = _usage(fake, _prompt("examples A " * 100))
    assert first["prompt_tokens_details"]["cached_tokens"] == 0  # nothing seen before
    shared = len(f"system:{FIXED}\nuser:examples ") // 4  # the tokens both prompts share
    cached = second["prompt_tokens_details"]["cached_tokens"]
    assert cached >= 1024 and cached % 128 == 0 and shared - 128 < cached <= shared
    # The whole prompt seen before: all of it, down to a step, never more than billed.
    whole = again["prompt_tokens_details"]["cached_tokens"]
    assert again["prompt_tokens"] - 128 < whole <= again["prompt_tokens"] and whole % 128 == 0
    assert other_model["prompt_tokens_details"]["cached_tokens"] == 0  # caches are per model
    assert short["prompt_tokens_details"]["cached_tokens"] == 0  # under 1,024 tokens
    assert short_again["prompt_tokens_details"]["cached_tokens"] == 0
    assert after_reset["prompt_tokens_details"]["cached_tokens"] == 0


def test_a_prefix_that_differs_early_is_not_cached() -> None:
    cache = PromptCache()
    body = {"model": "m", "messages": [{"role": "user", "content": "a" + FIXED}]}
    changed = {"model": "m", "messages": [{"role": "user", "content": "b" + FIXED}]}
    assert cache.cached_tokens(body, 2000) == 0
    assert cache.cached_tokens(changed, 2000) == 0
    assert cache.cached_tokens(body, 2000) > 0


def test_the_oldest_prefixes_are_forgotten_past_capacity() -> None:
    cache = PromptCache(capacity=4)
    one = {"model": "m", "messages": [{"role": "user", "content": FIXED}]}
    two = {"model": "m", "messages": [{"role": "user", "content": FIXED.upper()}]}
    cache.cached_tokens(one, 2000)
    cache.cached_tokens(two, 2000)  # four steps each: all of one's are evicted
    assert cache.cached_tokens(one, 2000) == 0
