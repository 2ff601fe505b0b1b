"""No silent no-ops (issue 9.6, 10.16): the demo judge really judges, a short eval split, seeds
with categories and odd flags each get a warning, kept in report.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from synthgen import expand
from synthgen.run.job import prepare
from synthgen.run.sizing import concurrency_limit
from synthgen.settings import Settings
from tests.helpers import SAMPLES

MARV = SAMPLES / "marv.jsonl"


def test_judge_demo_scores_and_drops_low_scores(tmp_path: Path) -> None:
    result = expand(MARV, 30, model="demo", judge="demo", out_dir=tmp_path / "o", language="off")
    judge = result.report["judge"]
    assert judge["scored"] > 0 and judge["unscored"] == 0
    assert result.report["rejected"]["by_reason"]["low_score"] > 0
    assert all(ex.metadata["judge_score"] >= 6 for ex in result.train + result.eval)


def test_judge_demo_beside_a_real_teacher_judges_in_process(
    make_fake_teacher: Any, tmp_path: Path
) -> None:
    fake = make_fake_teacher()
    result = expand(
        MARV, 10, model="m", base_url=fake.base_url, judge="demo", out_dir=tmp_path / "o"
    )
    assert result.report["judge"]["scored"] > 0
    formats = [body["response_format"]["json_schema"]["name"] for body in fake.requests]
    assert "verdict" not in formats  # the demo judge sends nothing anywhere


def _near_copies(body: dict[str, Any], index: int) -> dict[str, Any]:
    """Conversations that differ from one base text by two words each: distinct enough to
    pass dedup (Jaccard ≈ 0.65), close enough that the split's clusters join them all."""
    base = [f"word{k}" for k in range(60)]
    convs = []
    for j in range(5):
        words = list(base)
        i = index * 5 + j
        words[(7 * i) % 60] = f"alt{i}a"
        words[(13 * i + 29) % 60] = f"alt{i}b"
        convs.append(
            {
                "messages": [
                    {"role": "user", "content": "Describe the words, please."},
                    {"role": "assistant", "content": " ".join(words) + "."},
                ]
            }
        )
    return {"conversations": convs}


def test_a_short_eval_split_is_warned_about(make_fake_teacher: Any, tmp_path: Path) -> None:
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text(
        "".join(
            json.dumps(
                {
                    "messages": [
                        {"role": "user", "content": f"Describe set {i}, please."},
                        {"role": "assistant", "content": " ".join(f"s{i}w{k}" for k in range(60))},
                    ]
                }
            )
            + "\n"
            for i in range(5)
        ),
        encoding="utf-8",
    )
    fake = make_fake_teacher(handler=_near_copies)
    result = expand(
        seeds, 20, model="m", base_url=fake.base_url, out_dir=tmp_path / "o", language="off"
    )
    assert result.complete and result.report["split"]["eval"] == 0
    (warning,) = result.report["warnings"]
    assert warning.startswith("eval.jsonl has 0 of the 2 examples asked")
    assert "clusters" in warning and "the largest of 20" in warning


def test_seeds_with_categories_get_one_hint(tmp_path: Path) -> None:
    seeds = SAMPLES / "support.jsonl"
    job = prepare(seeds, Settings(n=30, model="demo", out_dir=tmp_path / "o"))
    (hint,) = job.warnings
    assert "'category' field (3 values)" in hint and "balance_by='category'" in hint
    balanced = Settings(n=30, model="demo", balance_by="category", out_dir=tmp_path / "o")
    assert prepare(seeds, balanced).warnings == []
    assert prepare(MARV, Settings(n=30, model="demo", out_dir=tmp_path / "o")).warnings == []


def test_an_eval_fraction_leaving_almost_no_training_rows_warns(tmp_path: Path) -> None:
    job = prepare(MARV, Settings(n=1000, model="demo", eval_fraction=0.999, out_dir=tmp_path))
    (warning,) = job.warnings
    assert "eval_fraction=0.999" in warning and "about 1 of 1000 rows" in warning
    result = expand(MARV, 20, model="demo", eval_fraction=0.9, out_dir=tmp_path / "o")
    assert any("eval_fraction=0.9" in w for w in result.report["warnings"])


@pytest.mark.skipif(concurrency_limit() is None, reason="no open-file limit on this platform")
def test_concurrency_is_capped_at_what_the_os_allows(tmp_path: Path) -> None:
    cap = concurrency_limit()
    assert cap is not None
    job = prepare(MARV, Settings(n=5, model="demo", concurrency=100_000, out_dir=tmp_path))
    assert job.settings.concurrency == cap < 100_000
    assert any("concurrency=100000" in w and f"using {cap}" in w for w in job.warnings)
