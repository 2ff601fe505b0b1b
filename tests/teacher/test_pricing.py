from __future__ import annotations

import json
import subprocess
import sys

import pytest

import synthgen.teacher.pricing as pricing


@pytest.fixture(scope="module")
def table() -> dict[str, dict[str, object]]:
    path = pricing.table_path()
    assert path is not None, "litellm's bundled price table was not found"
    data: dict[str, dict[str, object]] = json.loads(path.read_text(encoding="utf-8"))
    return data


def test_gpt_4o_mini_has_a_price(table: dict[str, dict[str, object]]) -> None:
    per_token = table["gpt-4o-mini"]["input_cost_per_token"]
    assert isinstance(per_token, float) and per_token > 0
    cost = pricing.estimate_cost("gpt-4o-mini", 1_000_000, 0)
    assert cost == pytest.approx(per_token * 1_000_000)


def test_cost_adds_input_and_output(table: dict[str, dict[str, object]]) -> None:
    inp = table["gpt-4o-mini"]["input_cost_per_token"]
    out = table["gpt-4o-mini"]["output_cost_per_token"]
    assert isinstance(inp, float) and isinstance(out, float)
    assert pricing.estimate_cost("gpt-4o-mini", 1000, 500) == pytest.approx(1000 * inp + 500 * out)
    assert pricing.estimate_cost("gpt-4o-mini", 0, 0) == 0.0


def test_unknown_model() -> None:
    assert pricing.model_info("no-such-model-xyz") is None
    assert pricing.estimate_cost("no-such-model-xyz", 1000, 1000) is None
    assert pricing.context_window("no-such-model-xyz") is None


def test_provider_prefix_is_stripped_only_for_that_provider() -> None:
    assert pricing.model_info("openai/gpt-4o-mini") == pricing.model_info("gpt-4o-mini")
    # A self-hosted model that happens to share the name has no OpenAI price.
    assert pricing.model_info("hosted_vllm/gpt-4o-mini") is None


def test_bare_name_stored_with_provider_prefix(table: dict[str, dict[str, object]]) -> None:
    prefixed = [k for k, v in table.items() if k.startswith("groq/") and "/" not in k[5:]]
    key = next(k for k in prefixed if k[5:] not in table)
    assert pricing.model_info(key[5:]) == table[key]


def test_fine_tuned_model_uses_ft_price(table: dict[str, dict[str, object]]) -> None:
    info = pricing.model_info("ft:gpt-4o-mini-2024-07-18:my-org:custom:abc123")
    assert info == table["ft:gpt-4o-mini-2024-07-18"]


def test_context_window(table: dict[str, dict[str, object]]) -> None:
    assert pricing.context_window("gpt-4o-mini") == table["gpt-4o-mini"]["max_input_tokens"]


def test_import_does_not_import_litellm() -> None:
    code = (
        "import sys, synthgen.teacher.pricing as p;"
        "assert p.estimate_cost('gpt-4o-mini', 10, 10) is not None;"
        "assert p.context_window('gpt-4o-mini');"
        "print('litellm' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
