"""Resume: replaying the journal rebuilds exactly the counts the live run had, and a stopped
run finishes as an uninterrupted one would have."""

from __future__ import annotations

from pathlib import Path

from synthgen.errors import TeacherError
from synthgen.prompts.judge import Judge
from synthgen.run.engine import Engine
from synthgen.run.job import Job
from synthgen.teacher import ChatRequest, Completion
from synthgen.teacher.cache import ResponseCache
from synthgen.teacher.inprocess import InProcessTeacher
from synthgen.teacher.pacing import Backoff
from tests.engine_kit import (
    Demo,
    accepted,
    counts,
    judge_respond,
    make_engine,
    make_job,
    replayed,
    run,
    scrambled,
)


class Flaky:
    """Demo replies, except that every ninth call fails for good (400) and every ninth,
    three calls later, fails once with a 503 (retried)."""

    def __init__(self) -> None:
        self.demo = Demo(scrambled)
        self.calls = 0

    async def __call__(self, request: ChatRequest) -> Completion:
        self.calls += 1
        if self.calls % 9 == 4:
            raise TeacherError("invalid request", kind="bad_request", status=400)
        if self.calls % 9 == 7:
            raise TeacherError("overloaded", kind="server", status=503)
        return await self.demo(request)


def _engine(job: Job, cache: ResponseCache, respond: Flaky, **config: object) -> Engine:
    judge = Judge(InProcessTeacher(judge_respond, model="judge-model"), min_score=6)
    return make_engine(
        job,
        InProcessTeacher(respond),
        cache=cache,
        judge=judge,
        price=lambda pt, ct, cached: (pt + 3 * ct) / 1e6,
        backoff=Backoff(base=0.0, retries=2),
        **config,
    )


def assert_replay_matches(live: Engine, job: Job) -> Engine:
    assert live.ledger.settled == []  # everything bought was curated and journaled
    again = replayed(job)
    assert counts(again.stats) == counts(live.stats)
    assert list(again.ledger.recent) == list(live.ledger.recent)
    # Resuming starts after the last journaled request (skipped ones are not journaled).
    assert again.stats.resumed_from == [r.i for r in job.state.replay()][-1] + 1
    assert accepted(again) == accepted(live)
    return again


def test_replay_of_a_run_with_faults_judge_and_cache_hits(tmp_path: Path) -> None:
    options = {"judge": "judge-model", "concurrency": 8, "balance_by": "category"}
    with ResponseCache(tmp_path / "cache.sqlite") as cache:
        # A first, short run leaves its replies in the cache for the run under test.
        warm = make_job(tmp_path / "warm", 400, seeds="support.jsonl", **options)
        run(_engine(warm, cache, Flaky(), max_requests=6))
        job = make_job(tmp_path / "o", 400, seeds="support.jsonl", **options)
        live = run(_engine(job, cache, Flaky(), max_requests=40))
    s = live.stats
    assert live.stop_reason == "max_requests"
    assert s.cache_hits > 0 and s.sent > 0 and s.failed > 0 and s.retries > 0
    assert s.faults["bad_request"] > 0 and s.faults["server"] > 0
    assert s.judge_calls > 0 and s.judge_scores["unscored"] > 0 and s.rejected["low_score"] > 0
    assert s.cost_usd > 0 and len(s.per_category) == 3
    assert_replay_matches(live, job)


def test_replay_of_a_finished_balanced_run_with_surplus(tmp_path: Path) -> None:
    options = {"judge": "judge-model", "concurrency": 1, "balance_by": "category"}
    job = make_job(tmp_path / "o", 30, seeds="support.jsonl", **options)
    with ResponseCache(tmp_path / "cache.sqlite") as cache:
        live = run(_engine(job, cache, Flaky()))
    assert live.curator.done and live.stop_reason is None
    assert live.stats.surplus > 0 and live.stats.accepted == 30
    assert_replay_matches(live, job)


def test_a_stopped_run_resumes_to_what_an_uninterrupted_one_makes(tmp_path: Path) -> None:
    # 250 examples take about 50 requests: past the lag of 32, so later prompts show
    # examples accepted before the stop, which the resumed run must have restored.
    whole = Demo(pure=True)
    uninterrupted = run(make_engine(make_job(tmp_path / "u", 250), InProcessTeacher(whole)))

    first = Demo(pure=True)
    stopped = run(
        make_engine(make_job(tmp_path / "r", 250, max_requests=40), InProcessTeacher(first))
    )
    assert stopped.stop_reason == "max_requests" and stopped.stats.requests == 40
    job = make_job(tmp_path / "r", 250)
    assert job.resume
    rest = Demo(pure=True)
    resumed = run(make_engine(job, InProcessTeacher(rest)), resume=True)

    assert resumed.curator.done and resumed.stats.resumed_from == 40
    assert len(first.requests) + len(rest.requests) == len(whole.requests)
    assert [r.messages for r in first.requests + rest.requests] == [
        r.messages for r in whole.requests
    ]
    assert accepted(resumed) == accepted(uninterrupted)
    assert counts(resumed.stats) == counts(uninterrupted.stats)
