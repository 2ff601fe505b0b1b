from __future__ import annotations

from typing import Any

import pytest
import yaml

from synthgen.report.card import dataset_card, size_category

COMMAND = "synthgen expand seeds/faq-pl.jsonl -n 1200 --model gpt-4o-mini -o out/faq"


def _report(**changes: Any) -> dict[str, Any]:
    report: dict[str, Any] = {
        "complete": True,
        "stop": {"reason": "done", "detail": ""},
        "teacher": {
            "model": "gpt-4o-mini",
            "endpoint": "api.openai.com",
            "template": {"name": "expand", "sha256": "ab" * 32},
            "temperature": 1.0,
            "per_request": 5,
        },
        "settings": {"n": 1200, "format": "openai", "balance_by": None, "seed": 0},
        "seeds": {
            "path": "seeds/faq-pl.jsonl",
            "format": "jsonl",
            "count": 40,
            "system": "Odpowiadaj krótko i po polsku.",
            "sha256": "cd" * 32,
        },
        "requests": {"total": 260, "paid": 250, "cache_hits": 10, "retries": 3, "failed": 0},
        "replies": 260,
        "candidates": 1300,
        "rejected": {"total": 100, "by_reason": {"near_duplicate": 70, "refusal": 30}},
        "accepted": 1200,
        "per_category": {"all": 1200},
        "tokens": {"prompt": 390_000, "completion": 210_000},
        "cost_usd": 0.1845,
        "quotas": {"all": 1200},
        "split": {"train": 1080, "eval": 120, "eval_fraction": 0.1},
        "wall_time_s": 95.25,
    }
    report.update(changes)
    return report


def _front(card: str) -> dict[str, Any]:
    assert card.startswith("---\n")
    head, _, _ = card[4:].partition("\n---\n")
    data = yaml.safe_load(head)
    assert isinstance(data, dict)
    return data


def test_front_matter_is_hub_metadata() -> None:
    meta = _front(dataset_card(_report(), command=COMMAND, language="pl"))
    assert meta["language"] == ["pl"]
    assert meta["task_categories"] == ["text-generation"]
    assert meta["size_categories"] == ["1K<n<10K"]
    assert meta["tags"] == ["synthetic", "synthgen"]
    assert meta["pretty_name"] == "faq-pl (synthetic, synthgen)"
    assert meta["configs"] == [
        {
            "config_name": "default",
            "data_files": [
                {"split": "train", "path": "train.jsonl"},
                {"split": "validation", "path": "eval.jsonl"},
            ],
        }
    ]


def test_language_from_report_and_none() -> None:
    assert _front(dataset_card(_report(language="kk"), command=COMMAND))["language"] == ["kk"]
    assert "language" not in _front(dataset_card(_report(), command=COMMAND))


def test_no_validation_split_when_eval_is_empty() -> None:
    report = _report(split={"train": 5, "eval": 0, "eval_fraction": 0.1})
    files = _front(dataset_card(report, command=COMMAND))["configs"][0]["data_files"]
    assert files == [{"split": "train", "path": "train.jsonl"}]


@pytest.mark.parametrize(
    ("n", "bucket"),
    [(0, "n<1K"), (999, "n<1K"), (1_000, "1K<n<10K"), (54_321, "10K<n<100K"), (10**6, "1M<n<10M")],
)
def test_size_category(n: int, bucket: str) -> None:
    assert size_category(n) == bucket


def test_sections_carry_the_report() -> None:
    card = dataset_card(_report(), command=COMMAND, language="pl")
    for text in (
        "1,200 synthetic conversations written by `gpt-4o-mini` from 40 seed examples",
        "train 1,080, validation 120 (10% held out)",
        "OpenAI chat fine-tuning JSONL",
        "- Endpoint: api.openai.com",
        f"| `expand` | `{'ab' * 32}` |",
        "- File: `seeds/faq-pl.jsonl` (jsonl)",
        f"- sha256: `{'cd' * 32}`",
        "```text\nOdpowiadaj krótko i po polsku.\n```",
        "The teacher proposed 1,300 conversations; 1,200 were accepted (92%) and 100 dropped.",
        "| `near_duplicate` | 70 | a near-duplicate of an accepted example (MinHash) |",
        "| `refusal` | 30 |",
        "- requests: 260 (paid 250, from cache 10, retries 3, failed 0)",
        "- prompt tokens: 390,000",
        "- cost: $0.1845",
        f"```bash\n{COMMAND}\n```",
        "## Synthetic data",
    ):
        assert text in card, text
    assert "### Diversity" not in card and "### Validation" not in card
    assert "Incomplete run" not in card


def test_template_mix_and_diversity() -> None:
    report = _report(
        diversity={
            "distinct_1": 0.21,
            "distinct_2": 0.63,
            "seeds_distinct_1": 0.5,
            "seeds_distinct_2": 0.9,
            "mean_pairwise_jaccard": 0.031,
            "max_pairwise_jaccard": 0.41,
            "jaccard_sample": 500,
            "inspired": {"per_seed": {0: 3, 1: 0}, "min": 0, "max": 3, "unused": [1]},
        }
    )
    report["teacher"] = {
        "model": "m",
        "endpoint": "localhost:8000",
        "templates": [
            {"name": "expand", "sha256": "1" * 64, "weight": 3},
            {"name": "rewrite", "sha256": "2" * 64, "weight": 1},
        ],
    }
    card = dataset_card(report, command=COMMAND)
    assert "| template | sha256 | weight |" in card
    assert f"| `rewrite` | `{'2' * 64}` | 1 |" in card
    assert "| distinct-2 | 0.6300 | 0.9000 |" in card
    assert "| mean pairwise Jaccard (word 3-grams, 500 sampled) | 0.0310 |  |" in card
    assert "between 0 and 3 accepted examples; 1 inspired none (indices 1)." in card


def test_incomplete_run_is_flagged() -> None:
    report = _report(
        complete=False,
        accepted=300,
        stop={"reason": "budget", "detail": "--max-cost $1.00 reached"},
    )
    card = dataset_card(report, command=COMMAND)
    assert "**Incomplete run**: stopped (budget: --max-cost $1.00 reached)" in card
    assert "with 300 of 1,200 requested examples." in card


def test_minimal_report_does_not_break() -> None:
    card = dataset_card({}, command="synthgen expand s.txt -n 5")
    assert _front(card)["size_categories"] == ["n<1K"]
    assert "# Synthetic dataset (synthgen)" in card
    assert "```bash\nsynthgen expand s.txt -n 5\n```" in card


def test_markdown_is_escaped() -> None:
    report = _report(
        rejected={"total": 1, "by_reason": {"odd|reason": 1}},
        validation={"errors": "none | all good", "lines": 1200},
    )
    report["seeds"]["system"] = "Answer with ```code``` blocks when useful."
    card = dataset_card(report, command="synthgen expand 'a b.txt' -n 3")
    assert "| `odd\\|reason` | 1 |" in card
    assert "- errors: none \\| all good" in card
    assert "````text\nAnswer with ```code``` blocks when useful.\n````" in card
