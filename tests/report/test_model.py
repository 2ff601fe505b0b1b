"""The typed report: report.json is its dump, and what does not fit it is an error."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from pydantic import ValidationError

import synthgen
from synthgen import Result
from synthgen.report.model import SCHEMA_VERSION, Report, RunSettings, SplitValidation

KEYS = [
    "schema_version",
    "synthgen_version",
    "complete",
    "stop",
    "teacher",
    "settings",
    "seeds",
    "requests",
    "replies",
    "candidates",
    "rejected",
    "accepted",
    "surplus",
    "per_category",
    "tokens",
    "cost_usd",
    "token_use",
    "judge",
    "quotas",
    "split",
    "language",
    "diversity",
    "validation",
    "run",
]


def test_report_json_is_the_model_dumped(real_run: Result, report_data: dict[str, Any]) -> None:
    assert real_run.out_dir is not None and real_run.typed_report is not None
    written = (real_run.out_dir / "report.json").read_text(encoding="utf-8")
    again = Report.model_validate(report_data)
    assert json.dumps(again.as_json(), ensure_ascii=False, indent=2) + "\n" == written
    assert again == real_run.typed_report
    assert real_run.report == real_run.typed_report.as_json()


def test_keys_and_versions(report_data: dict[str, Any]) -> None:
    assert list(report_data) == KEYS
    assert report_data["schema_version"] == SCHEMA_VERSION == 2
    assert report_data["synthgen_version"] == synthgen.__version__
    assert list(report_data["requests"]) == [
        "total",
        "sent",
        "cache_hits",
        "retries",
        "failed",
        "faults",
    ]
    # Where a run resumed is a fact of this run, not of the dataset: it lives under "run".
    assert "resumed_from_request" in report_data["run"]


def test_parts_that_do_not_apply_are_left_out_not_null(real_run: Result) -> None:
    report = real_run.typed_report
    assert report is not None
    without_judge = report.model_copy(update={"judge": None}).as_json()
    assert "judge" not in without_judge and list(without_judge) == [k for k in KEYS if k != "judge"]
    assert SplitValidation(ok=True, n_examples=0).model_dump() == {"ok": True, "n_examples": 0}
    # Values that are unknown, rather than not applicable, stay as null.
    unknown = report.model_copy(update={"language": None}).as_json()
    assert unknown["language"] is None


@pytest.mark.parametrize(
    ("section", "change"),
    [
        ("requests", lambda r: r.update(paid=r.pop("sent"))),  # the key the card once read
        ("requests", lambda r: r.pop("cache_hits")),
        ("tokens", lambda t: t.update(thinking=0)),
        ("diversity", lambda d: d.update(distinct_3=0.5)),
        ("split", lambda s: s.update(train="many")),
    ],
)
def test_a_renamed_missing_or_unknown_key_is_an_error(
    report_data: dict[str, Any], section: str, change: Any
) -> None:
    data = copy.deepcopy(report_data)
    change(data[section])
    with pytest.raises(ValidationError):
        Report.model_validate(data)


def test_unknown_top_level_key_is_an_error(report_data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="paid_requests"):
        Report.model_validate({**report_data, "paid_requests": 6})


def test_settings_pass_through_in_their_own_order() -> None:
    given = {"seed": 3, "n": 10, "out_dir": "o", "balance_by": None, "format": "trl", "x": [1]}
    settings = RunSettings.model_validate(given)
    assert settings.n == 10 and settings.format == "trl" and settings.balance_by is None
    assert settings.model_dump() == given and list(settings.model_dump()) == list(given)
    with pytest.raises(ValidationError, match="balance_by"):
        RunSettings.model_validate({"n": 10, "format": "openai"})
