"""What the command line says besides the progress: help and version, log records, the
summary (this run against what the journal replayed, the judge, the report's warnings), -q,
and `synthgen validate --format`."""

from __future__ import annotations

import json
import logging
import random

import pytest

import synthgen
from synthgen.data.example import Example
from synthgen.data.formats import to_record, write_jsonl
from synthgen.testing import Fault
from tests.fakes import fresh
from tests.helpers import SAMPLES
from tests.helpers import synthgen as run_cli

KEY = {"OPENAI_API_KEY": "sk-test"}


def _expand(out, *extra: str) -> list[str]:
    return ["expand", str(SAMPLES / "marv.jsonl"), "-o", str(out), *extra]


# -- help and version -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["expand"],
        ["validate"],
        ["templates"],
        ["dedup"],
        ["split"],
        ["cache"],
        ["cache", "info"],
    ],
)
def test_h_is_help_everywhere(args):
    r = run_cli(*args, "-h")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Usage:") and "-h, --help" in r.stdout


def test_version():
    r = run_cli("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"synthgen {synthgen.__version__}"


# -- log records on stderr -------------------------------------------------------------------


def _mixed_language_seeds(tmp_path):
    seeds = tmp_path / "mixed.txt"
    seeds.write_text(
        "Good morning, how are you today?; I am fine, thank you very much.\n"
        "Dzień dobry, jak się dzisiaj masz?; Mam się dobrze, bardzo dziękuję.\n"
        "Guten Morgen, wie geht es dir heute?; Mir geht es gut, vielen Dank.\n"
        "Bonjour, comment allez-vous aujourd'hui?; Je vais bien, merci beaucoup.\n",
        encoding="utf-8",
    )
    return seeds


def test_warnings_reach_stderr_by_default_and_q_hides_them(fake_teacher, tmp_path):
    """A library warning (here: seeds in several languages) was dropped without -v."""
    seeds = _mixed_language_seeds(tmp_path)
    args = [
        "expand",
        str(seeds),
        "-n",
        "5",
        "--base-url",
        fake_teacher.base_url,
        "--model",
        "m",
        "-o",
        str(tmp_path / "o"),
    ]
    r = run_cli(*args, env=KEY)
    assert r.returncode == 0, r.stderr
    warned = [x for x in r.stderr.splitlines() if x.startswith("synthgen: warning: ")]
    assert any("several languages" in x for x in warned), r.stderr
    quiet = run_cli(*args, "-q", "--force", env=KEY)
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr


def test_v_shows_info_records(make_fake_teacher, tmp_path):
    fake = make_fake_teacher(replies=[Fault("500")])  # the first request fails once
    args = _expand(tmp_path / "o", "-n", "10", "--base-url", fake.base_url, "--model", "m")
    r = run_cli(*args, "-v", env=KEY)
    assert r.returncode == 0, r.stderr
    assert "synthgen: info: request " in r.stderr and "retry 1 in" in r.stderr, r.stderr


def test_the_stderr_handler_redacts_records_of_child_loggers(capsys):
    from synthgen.cli.logs import setup_logging

    logger = logging.getLogger("synthgen")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    try:
        setup_logging()
        logging.getLogger("synthgen.teacher").warning(
            "server said: bad key sk-abcdefghijklmnopqrstuvwx\nsecond line"
        )
        logging.getLogger("synthgen").info("not shown without -v")
    finally:
        logger.handlers[:], logger.level, logger.propagate = saved
    err = capsys.readouterr().err
    assert err == "synthgen: warning: server said: bad key *** second line\n"


# -- -q and why a run stopped -----------------------------------------------------------------


def test_q_still_says_why_the_run_stopped(tmp_path):
    args = _expand(tmp_path / "o", "-n", "200", "--model", "demo", "--max-requests", "1", "-q")
    r = run_cli(*args)
    assert r.returncode == 1
    assert r.stderr == "stopped early (max_requests): --max-requests 1 reached\n"


# -- the summary: this run and the journal -------------------------------------------------


def test_a_rerun_of_a_finished_job_does_not_claim_traffic(make_fake_teacher, tmp_path):
    fake = make_fake_teacher()
    args = _expand(tmp_path / "o", "-n", "20", "--base-url", fake.base_url, "--model", "m")
    first = run_cli(*args, env=KEY)
    assert first.returncode == 0, first.stderr
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert "replayed" not in report["run"]
    sent = fake.request_count
    again = run_cli(*args, env=KEY)
    assert again.returncode == 0, again.stderr
    assert fake.request_count == sent
    assert "sent to the teacher, " not in again.stderr  # no "N sent ... tokens ... in"
    assert "this run: nothing sent to the teacher" in again.stderr
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    replayed = report["run"]["replayed"]
    assert replayed["requests"] == report["requests"]["total"] > 0
    assert replayed["accepted"] == 20
    assert (
        f"replayed from the journal (earlier runs, not sent again): {replayed['requests']} "
        "requests, 20 accepted" in again.stderr
    )


def test_a_resumed_run_splits_this_run_from_the_replayed(tmp_path):
    out = tmp_path / "o"
    stopped = run_cli(*_expand(out, "-n", "40", "--model", "demo", "--max-requests", "2"))
    assert stopped.returncode == 1
    done = run_cli(*_expand(out, "-n", "40", "--model", "demo"))
    assert done.returncode == 0, done.stderr
    report = json.loads((out / "report.json").read_text())
    old = report["run"]["replayed"]
    assert 0 < old["accepted"] < 40
    this_run = report["requests"]["sent"] - old["sent"]
    assert f"this run: {this_run} sent to the teacher, " in done.stderr, done.stderr
    assert f"{40 - old['accepted']} accepted; tokens " in done.stderr


def _judged(body, index):
    if body.get("response_format", {}).get("json_schema", {}).get("name") == "verdict":
        conversation = body["messages"][-1]["content"]
        return {"score": 2 if "sloppy" in conversation else 9, "reason": "checked"}
    convs = [fresh(random.Random(index)) for _ in range(4)]
    convs[0]["messages"][1]["content"] = "sloppy " + convs[0]["messages"][1]["content"]
    return {"conversations": convs}


def test_the_summary_says_what_the_judge_did(make_fake_teacher, tmp_path):
    fake = make_fake_teacher(handler=_judged)
    args = _expand(
        tmp_path / "o", "-n", "12", "--base-url", fake.base_url, "--model", "m", "--judge", "m"
    )
    r = run_cli(*args, env=KEY)
    assert r.returncode == 0, r.stderr
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    low = report["rejected"]["by_reason"]["low_score"]
    assert low > 0
    assert f"judge m: {report['judge']['scored']} scored (mean " in r.stderr
    assert f", {low} below 6 dropped" in r.stderr


def test_the_reports_warnings_print_once(tmp_path):
    """Seeds with a category field and no --balance-by: the report's hint reaches stderr
    once (logged when it arose; the summary does not repeat it)."""
    args = ["expand", str(SAMPLES / "support.jsonl"), "-n", "10", "--model", "demo"]
    r = run_cli(*args, "-o", str(tmp_path / "o"))
    assert r.returncode == 0, r.stderr
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    hint = next(w for w in report["warnings"] if "--balance-by category" in w)
    assert r.stderr.count(f"synthgen: warning: {hint}\n") == 1, r.stderr


def test_a_judge_that_scored_nothing_says_so():
    from synthgen.cli.summary import summary_lines, warning_lines

    report = {
        "split": {"train": 9, "eval": 1},
        "requests": {"sent": 2, "cache_hits": 0, "retries": 0, "failed": 0},
        "replies": 2,
        "candidates": 10,
        "accepted": 10,
        "rejected": {"total": 0, "by_reason": {}},
        "tokens": {"prompt": 10, "completion": 10},
        "cost_usd": 0.0,
        "run": {"wall_time_s": 0.1},
        "settings": {"judge": "demo", "min_score": 6},
    }
    lines = summary_lines(report, "out")
    assert "judge demo: scored nothing (no candidate was judged)" in lines[-1]
    assert warning_lines(report) == []  # a report without warnings (older ones) is fine
    warned = {**report, "warnings": ["eval holds 1 of the 10% asked for"]}
    assert warning_lines(warned) == ["synthgen: warning: eval holds 1 of the 10% asked for"]


# -- validate --format ---------------------------------------------------------------------


def test_validate_format_checks_the_rules_asked_for(tmp_path):
    path = tmp_path / "data.jsonl"
    pairs = [[("user", f"Question number {i}?"), ("assistant", f"Answer {i}.")] for i in range(12)]
    write_jsonl(path, (to_record(Example.from_pairs(p), "sharegpt") for p in pairs))
    detected = run_cli("validate", str(path))
    assert detected.returncode == 0 and "ShareGPT" in detected.stdout.splitlines()[0]
    as_openai = run_cli("validate", str(path), "--format", "openai")
    assert as_openai.returncode == 1, as_openai.stdout
    assert "missing_messages_list" in as_openai.stdout
    bad = run_cli("validate", str(path), "--format", "nope")
    assert bad.returncode == 2 and "unknown format 'nope'" in bad.stderr
    help_text = run_cli("validate", "--help").stdout
    assert "the way the OpenAI cookbook does" not in help_text and "--format" in help_text
