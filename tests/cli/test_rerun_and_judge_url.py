"""A re-run of a finished job writes the same report and card (times and paths aside, in
report.json's "run" section and the card's wall-time line); the judge on its own endpoint."""

from __future__ import annotations

import json
import re

from tests.fakes import fresh
from tests.helpers import SAMPLES, synthgen

KEY = {"OPENAI_API_KEY": "sk-test-key-0123456789"}


def _expand(out, *extra):
    return ("expand", str(SAMPLES / "support.jsonl"), "-o", str(out), *extra)


def test_a_rerun_writes_the_same_report_and_card(tmp_path):
    out = tmp_path / "o"
    args = _expand(out, "-n", "40", "--model", "demo", "--balance-by", "category")
    first = synthgen(*args)
    assert first.returncode == 0, first.stderr
    report_1 = json.loads((out / "report.json").read_text())
    card_1 = (out / "README.md").read_text()
    again = synthgen(*args)
    assert again.returncode == 0, again.stderr
    report_2 = json.loads((out / "report.json").read_text())
    card_2 = (out / "README.md").read_text()
    assert report_2["run"]["replayed"]["accepted"] == 40  # the re-run replayed the journal
    for report in (report_1, report_2):
        del report["run"]
    assert json.dumps(report_1, indent=2) == json.dumps(report_2, indent=2)
    wall = re.compile(r"^- wall time: .*$", re.M)
    assert len(wall.findall(card_1)) == 1
    assert wall.sub("", card_1) == wall.sub("", card_2)


def _judge_or_chat(body, index):
    if "score" in json.dumps(body.get("response_format", {})) or "rubric" in json.dumps(body):
        return {"score": 9, "reason": "fine"}
    return {"conversations": [fresh(__import__("random").Random(index)) for _ in range(4)]}


def test_the_judge_uses_its_own_endpoint(make_fake_teacher, tmp_path):
    teacher = make_fake_teacher(handler=_judge_or_chat)
    judge = make_fake_teacher(handler=lambda body, index: {"score": 9, "reason": "fine"})
    out = tmp_path / "o"
    args = _expand(
        out, "-n", "8", "--base-url", teacher.base_url, "--model", "m",
        "--judge", "j", "--judge-base-url", judge.base_url,
    )  # fmt: skip
    r = synthgen(*args, env=KEY)
    assert r.returncode == 0, r.stderr
    assert judge.request_count > 0
    assert {b["model"] for b in judge.requests} == {"j"}
    assert {b["model"] for b in teacher.requests} == {"m"}
    report = json.loads((out / "report.json").read_text())
    assert report["judge"]["endpoint"] == judge.base_url.rstrip("/") or report["judge"][
        "endpoint"
    ].startswith("http://127.0.0.1")
    assert "sk-test" not in json.dumps(report)
