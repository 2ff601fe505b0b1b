"""What ``--dry-run`` estimates a job will buy: requests, tokens and cost, with and without
the provider's automatic prompt caching.

The cached part is estimated the way OpenAI caches (teacher.prompt_cache): the first prompts
of the job are rendered and tokenised, and each is cached for the longest token prefix it
shares with one before it, rounded down to a 128-token step and only from 1,024 tokens.
Every request but the first is assumed to find that prefix still cached (a run sends
requests seconds apart; providers keep prefixes for minutes).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from synthgen.run.job import Job

__all__ = ["cached_share", "estimate"]

# Prompts rendered to find the prefix they share: enough to see a category and template
# rotation through, few enough to be instant.
_SAMPLE = 16


def _prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


def cached_share(prompts: Sequence[Sequence[int]]) -> float:
    """The share of the prompt tokens of ``prompts[1:]`` (token ids, in sending order) a
    provider caching like OpenAI serves from its cache: each is cached for the longest
    prefix it shares with a prompt before it. The first prompt finds nothing cached, as only
    the first of a whole run does."""
    from synthgen.teacher.prompt_cache import cacheable

    later = prompts[1:]
    total = sum(len(p) for p in later)
    if not total:
        return 0.0
    cached = sum(
        cacheable(max(_prefix(p, q) for q in prompts[: i + 1])) for i, p in enumerate(later)
    )
    return cached / total


def _tokenised(job: Job, count: int) -> list[list[int]]:
    from synthgen.text.tokens import encoding_for, get_encoding

    encoding = get_encoding(encoding_for(job.settings.model))
    texts = []
    for i in range(count):
        messages = job.request(job.planner.plan(i)).messages
        texts.append("".join(f"{m['role']}\n{m['content']}\n" for m in messages))
    return [encoding.encode(t, disallowed_special=()) for t in texts]


def estimate(job: Job, *, prompt_tokens: float, reply_tokens: float) -> dict[str, Any]:
    """The dry-run estimate for ``job``, whose requests have ``prompt_tokens`` and
    ``reply_tokens`` tokens each on average."""
    from synthgen.teacher.pricing import estimate_cost
    from synthgen.teacher.prompt_cache import caches_automatically

    s = job.settings
    weights = sum(w for _, w in job.mix)
    per_request = sum(job.per_request(t) * w for t, w in job.mix) / weights
    # Expect about a fifth of candidates to be dropped by filters and dedup.
    requests = math.ceil(s.n / per_request / 0.8)
    total_in, total_out = int(prompt_tokens * requests), int(reply_tokens * requests)
    share = cached_share(_tokenised(job, min(_SAMPLE, max(requests, 2))))
    cacheable = int(share * prompt_tokens * max(requests - 1, 0))
    cached = cacheable if caches_automatically(s.model) else 0
    with_cache = estimate_cost(s.model, total_in, total_out, cached)
    without = estimate_cost(s.model, total_in, total_out)
    return {
        "requests": requests,
        "prompt_tokens": total_in,
        "completion_tokens": total_out,
        "cost_usd": None if with_cache is None else round(with_cache, 4),
        # What an OpenAI-style prompt cache would serve; counted in cost_usd only for models
        # whose provider caches unasked (teacher.prompt_cache.caches_automatically).
        "cacheable_prompt_tokens": cacheable,
        "cached_prompt_tokens": cached,
        "cost_usd_without_caching": None if without is None else round(without, 4),
        **_batch_estimate(s.model, total_in, total_out),
    }


def _batch_estimate(model: str, prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    """The same requests through the provider's batch API (--batch), and where its price
    came from: litellm's table, or half the live price where the table has none."""
    from synthgen.teacher.batch_pricing import batch_price_per_token, estimate_batch_cost

    cost = estimate_batch_cost(model, prompt_tokens, completion_tokens)
    prices = batch_price_per_token(model)
    return {
        "cost_usd_batch": None if cost is None else round(cost, 4),
        "batch_price": None if prices is None else "listed" if prices[2] else "half_live",
    }
