"""Replies bought but never curated (in flight when the run stopped) are counted by the runs
after it too: a re-run or a resume starts from the totals the stopped run reported."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from synthgen.run.settled import SETTLED_LOG
from synthgen.teacher.inprocess import InProcessTeacher
from tests.engine_kit import Demo, counts, make_engine, make_job, replayed, run


def _stopped_by_cost(tmp_path: Path):
    job = make_job(tmp_path / "o", 500, concurrency=1)
    engine = run(
        make_engine(job, InProcessTeacher(Demo()), price=lambda pt, ct, cached: 0.25, max_cost=1.0)
    )
    assert engine.stop_reason == "max_cost"
    assert len(engine.ledger.settled) == 1  # the reply that crossed the cap: not curated
    return job, engine


def test_a_replay_counts_what_the_stopped_run_bought_but_did_not_curate(tmp_path: Path) -> None:
    job, live = _stopped_by_cost(tmp_path)
    again = replayed(job)
    assert again.stats.cost_usd == live.stats.cost_usd == 1.0
    assert counts(again.stats) == counts(live.stats)


def test_a_run_that_settles_nothing_adds_nothing(tmp_path: Path) -> None:
    job, _ = _stopped_by_cost(tmp_path)
    lines = (job.state.dir / SETTLED_LOG).read_text().splitlines()
    assert len(lines) == 1
    # Resuming with no budget: the settled reply is bought again here (no cache), and the
    # finished run leaves nothing in flight, so the log keeps its one line.
    job = make_job(tmp_path / "o", 500, concurrency=1)
    resumed = run(make_engine(job, InProcessTeacher(Demo())), resume=True)
    assert resumed.curator.done
    assert (job.state.dir / SETTLED_LOG).read_text().splitlines() == lines


def test_a_torn_line_is_skipped_not_fatal(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    job, live = _stopped_by_cost(tmp_path)
    with (job.state.dir / SETTLED_LOG).open("a") as fh:
        fh.write('{"i": 9, "bought": [{"pt"')  # a kill mid-write
    with caplog.at_level(logging.WARNING, logger="synthgen"):
        again = replayed(job)
    assert again.stats.cost_usd == live.stats.cost_usd
    assert "settled.jsonl: skipped a damaged line" in caplog.text
