"""The card's YAML is what the Hub reads: the keys of its dataset card spec, with the run's
values (license only when given, size bucket, splits)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from synthgen import ConfigError, Result, expand
from synthgen.data.hf import read_card
from synthgen.report.card import dataset_card
from synthgen.report.model import Report, Split
from tests.helpers import SAMPLES, synthgen

COMMAND = "synthgen expand seeds.jsonl -n 1000 -o out"


def _meta(card: str) -> dict[str, Any]:
    head, sep, _ = card.removeprefix("---\n").partition("\n---\n")
    assert card.startswith("---\n") and sep
    meta = yaml.safe_load(head)
    assert isinstance(meta, dict)
    return meta


def test_written_card_has_the_hub_keys(real_run: Result) -> None:
    out = real_run.out_dir
    assert out is not None
    meta, text = read_card(out)
    assert meta == _meta((out / "README.md").read_text(encoding="utf-8"))
    assert "license" not in meta  # the run gave none
    assert meta["annotations_creators"] == meta["language_creators"] == ["machine-generated"]
    assert meta["task_categories"] == ["text-generation"]
    assert meta["size_categories"] == ["n<1K"]
    assert meta["tags"] == ["synthetic", "synthgen"]
    assert meta["configs"] == [
        {
            "config_name": "default",
            "data_files": [
                {"split": "train", "path": "train.jsonl"},
                {"split": "validation", "path": "eval.jsonl"},
            ],
        }
    ]
    assert text.startswith("# ")


@pytest.mark.parametrize(
    ("train", "evals", "bucket"),
    [
        (899, 100, "n<1K"),
        (900, 100, "1K<n<10K"),
        (9_000, 999, "1K<n<10K"),
        (9_000, 1_000, "10K<n<100K"),
    ],
)
def test_size_bucket_at_the_boundary(real_run: Result, train: int, evals: int, bucket: str) -> None:
    """The bucket counts every written example, train and eval together."""
    assert real_run.typed_report is not None
    sized = real_run.typed_report.model_copy(
        update={"split": Split(train=train, eval=evals, eval_fraction=0.1)}
    )
    assert _meta(dataset_card(sized, command=COMMAND))["size_categories"] == [bucket]


def test_license_from_the_argument_or_the_run(real_run: Result) -> None:
    report = real_run.typed_report
    assert isinstance(report, Report)
    card = dataset_card(report, command=COMMAND, license="apache-2.0")
    assert _meta(card)["license"] == "apache-2.0"
    data = report.as_json()
    data["settings"]["license"] = "cc-by-4.0"
    assert _meta(dataset_card(data, command=COMMAND))["license"] == "cc-by-4.0"


def test_expand_writes_the_license(tmp_path: Path) -> None:
    expand(SAMPLES / "support.jsonl", 3, model="demo", out_dir=tmp_path / "o", license="mit")
    meta, _ = read_card(tmp_path / "o")
    assert meta["license"] == "mit"
    with pytest.raises(ConfigError, match="license: must be a Hub license id such as mit"):
        expand(SAMPLES / "support.jsonl", 3, model="demo", out_dir=tmp_path / "p", license="MIT")
    assert not (tmp_path / "p").exists()


def test_cli_license_flag(tmp_path: Path) -> None:
    bad = synthgen(
        "expand", str(SAMPLES / "support.jsonl"), "-n", "3", "--model", "demo",
        "-o", str(tmp_path / "o"), "--license", "MIT License",
    )  # fmt: skip
    assert bad.returncode == 2
    assert (
        bad.stderr.strip()
        .splitlines()[-1]
        .endswith(
            "--license: must be a Hub license id such as mit, apache-2.0 or cc-by-4.0"
            " (got 'MIT License')"
        )
    )
    assert not (tmp_path / "o").exists()
