"""Prices of a provider's batch API, from litellm's table: ``input_cost_per_token_batches``
and ``output_cost_per_token_batches`` where the table has them (OpenAI, Azure, Bedrock and
others: half the live price for OpenAI's models); else half the live price, the discount
OpenAI, Azure OpenAI, Anthropic and Vertex AI all give batches. Prompt tokens a batch reply
served from the provider's prompt cache are priced like any other prompt token (the live
cached rate is not applied to batches)."""

from __future__ import annotations

from synthgen.teacher.pricing import model_info, price_per_token

__all__ = ["BATCH_DISCOUNT", "batch_price_per_token", "estimate_batch_cost"]

# The share of the live price a batch costs where the table has no batch price.
BATCH_DISCOUNT = 0.5


def batch_price_per_token(model: str) -> tuple[float, float, bool] | None:
    """(input, output) USD per token in a batch, and whether both came from the table (False:
    the live price times BATCH_DISCOUNT, for what the table lacks); None: no price at all."""
    live = price_per_token(model)
    if live is None:
        return None
    info = model_info(model) or {}
    listed = [info.get(f"{side}_cost_per_token_batches") for side in ("input", "output")]
    prices = [
        float(p) if isinstance(p, (int, float)) and not isinstance(p, bool) else None
        for p in listed
    ]
    inp = prices[0] if prices[0] is not None else live[0] * BATCH_DISCOUNT
    out = prices[1] if prices[1] is not None else live[1] * BATCH_DISCOUNT
    return inp, out, None not in prices


def estimate_batch_cost(
    model: str, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0
) -> float | None:
    """USD for that many tokens bought in a batch; None when the model has no price."""
    prices = batch_price_per_token(model)
    if prices is None:
        return None
    return prompt_tokens * prices[0] + completion_tokens * prices[1]
