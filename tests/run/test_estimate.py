"""--dry-run estimates the cost with and without the provider's prompt caching."""

from __future__ import annotations

from pathlib import Path

from synthgen.cli.summary import estimate_lines
from synthgen.run.estimate import cached_share
from synthgen.run.expand import dry_run_result, prepare
from synthgen.settings import Settings
from tests.helpers import SAMPLES
from tests.run.test_token_use import LONG_SYSTEM


def _estimate(tmp_path: Path, model: str, system: str | None) -> dict[str, object]:
    settings = Settings(n=300, model=model, out_dir=tmp_path / "o", system=system)
    est: dict[str, object] = dry_run_result(prepare(SAMPLES / "seeds.txt", settings)).report[
        "estimate"
    ]
    return est


def test_a_long_fixed_part_is_estimated_cached_and_cheaper(tmp_path: Path) -> None:
    est = _estimate(tmp_path, "gpt-4o-mini", LONG_SYSTEM)
    cached, prompt = est["cached_prompt_tokens"], est["prompt_tokens"]
    assert isinstance(cached, int) and isinstance(prompt, int) and 0.5 * prompt < cached < prompt
    assert est["cacheable_prompt_tokens"] == cached
    with_cache, without = est["cost_usd"], est["cost_usd_without_caching"]
    assert isinstance(with_cache, float) and isinstance(without, float)
    assert with_cache < without
    lines = estimate_lines(est)
    assert "served from the provider's cache" in lines[1] and f"${without:.4f}" in lines[1]


def test_short_prompts_and_unknown_providers_are_estimated_uncached(tmp_path: Path) -> None:
    short = _estimate(tmp_path, "gpt-4o-mini", None)
    assert short["cached_prompt_tokens"] == short["cacheable_prompt_tokens"] == 0
    assert short["cost_usd"] == short["cost_usd_without_caching"]
    assert "none expected" in estimate_lines(short)[1]
    # A model of no known provider: the repeated prefix is shown, not counted.
    local = _estimate(tmp_path, "local-llama", LONG_SYSTEM)
    assert local["cached_prompt_tokens"] == 0 and local["cost_usd"] is None
    assert (
        isinstance(local["cacheable_prompt_tokens"], int) and local["cacheable_prompt_tokens"] > 0
    )
    assert "not known to cache them unasked" in estimate_lines(local)[1]


def test_cached_share_follows_the_openai_rule() -> None:
    fixed = list(range(1500))
    prompts = [fixed + [10_000 + i] * 500 for i in range(3)]
    # The first prompt finds nothing; each later one its 1,500 shared tokens, down to 1,408.
    assert cached_share(prompts) == 1408 / 2000
    assert cached_share([list(range(900)), list(range(900))]) == 0.0  # under 1,024 tokens
    assert cached_share([fixed]) == 0.0
