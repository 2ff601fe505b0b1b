"""What a finished run writes: report.json, the card and the Result agree, and the card is
written atomically like every other output."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import synthgen
import synthgen.run.expand
import synthgen.run.result
from synthgen import expand
from synthgen.errors import WriteError
from synthgen.report.card import dataset_card
from synthgen.testing import FakeTeacher
from tests.helpers import SAMPLES


def _run(fake: FakeTeacher, out: Path) -> synthgen.Result:
    return expand(SAMPLES / "marv.jsonl", 10, model="m", base_url=fake.base_url, out_dir=out)


def test_report_json_card_and_result_agree(make_fake_teacher, tmp_path):
    out = tmp_path / "o"
    result = _run(make_fake_teacher(per_reply=5), out)
    report = result.typed_report
    assert report is not None and result.complete
    written = (out / "report.json").read_text(encoding="utf-8")
    assert written == json.dumps(result.report, ensure_ascii=False, indent=2) + "\n"
    assert result.report == report.as_json()
    assert report.split.train == len(result.train) and report.split.eval == len(result.eval)
    card = (out / "README.md").read_text(encoding="utf-8")
    command = card.split("```bash\n", 1)[1].split("\n```", 1)[0]
    assert command.startswith(f"synthgen expand {SAMPLES / 'marv.jsonl'} -n 10 ")
    assert card == dataset_card(report, command=command)
    assert [p.name for p in out.iterdir() if p.name.endswith(".tmp")] == []


def test_card_is_replaced_whole_or_not_at_all(make_fake_teacher, tmp_path, monkeypatch):
    fake = make_fake_teacher(per_reply=5)
    out = tmp_path / "o"
    _run(fake, out)
    before = (out / "README.md").read_bytes()
    real_replace = os.replace

    def replace(src, dst, *args, **kwargs):
        if Path(dst).name == "README.md":
            raise OSError(28, "No space left on device")
        return real_replace(src, dst, *args, **kwargs)

    # The same command again rewrites the outputs of the finished job; the card's final
    # move fails, as on a full disk: the old card stays whole and no temp file is left.
    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(WriteError, match=r"README\.md: cannot be written \(No space left"):
        _run(fake, out)
    assert (out / "README.md").read_bytes() == before
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".README.md")) == []


def test_dry_run_has_an_estimate_and_no_typed_report(tmp_path):
    result = expand(SAMPLES / "marv.jsonl", 10, model="m", out_dir=tmp_path / "o", dry_run=True)
    assert result.typed_report is None and result.report["dry_run"] is True
    assert result.report["estimate"]["requests"] >= 1
    assert not (tmp_path / "o").exists()


def test_result_is_one_class_under_every_name():
    assert synthgen.Result is synthgen.run.result.Result is synthgen.run.expand.Result
