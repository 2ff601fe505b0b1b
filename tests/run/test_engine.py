"""The engine with an in-process teacher: ordering, the lag window, the judge and the cache."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from synthgen.prompts.judge import Judge
from synthgen.run.control import RunControl
from synthgen.teacher import ChatRequest, Completion
from synthgen.teacher.cache import ResponseCache
from synthgen.teacher.inprocess import InProcessTeacher
from tests.engine_kit import (
    Demo,
    accepted,
    completion,
    judge_respond,
    make_engine,
    make_job,
    never,
    run,
    scrambled,
)


def journal(out: Path) -> list[dict[str, Any]]:
    lines = (out / ".synthgen" / "journal.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def test_replies_completing_out_of_order_are_curated_in_request_order(tmp_path: Path) -> None:
    shuffled = Demo(scrambled)
    live = run(make_engine(make_job(tmp_path / "a", 60, concurrency=8), InProcessTeacher(shuffled)))
    in_order = Demo()
    calm = run(make_engine(make_job(tmp_path / "b", 60, concurrency=8), InProcessTeacher(in_order)))

    assert shuffled.finished[:8] == [7, 6, 5, 4, 3, 2, 1, 0]
    assert in_order.finished == sorted(in_order.finished)
    assert live.curator.done and live.stop_reason is None
    assert accepted(live) == accepted(calm)  # what arrives when changes nothing
    ordinals = [line["i"] for line in journal(tmp_path / "a")]
    assert ordinals == list(range(len(ordinals)))
    origins = [e.metadata["request"] for e in live.curator.accepted]
    assert origins == sorted(origins)


def test_requests_run_at_most_lag_ahead_of_curation(tmp_path: Path) -> None:
    def runs(out: Path, stall: int) -> tuple[list[int], Demo, list[str]]:
        job = make_job(out, 300)
        assert job.lag == 32
        # The first request answers last, so later ones pile up behind it.
        demo = Demo(lambda i: stall if i == 0 else 0)
        leads: list[int] = []

        async def respond(request: ChatRequest) -> Completion:
            # This call's ordinal (every request is sent) minus the ordinals curated so far.
            leads.append(len(demo.requests) - engine.stats.requests)
            return await demo(request)

        engine = make_engine(job, InProcessTeacher(respond))
        run(engine)
        return leads, demo, accepted(engine)

    leads, stalled, stalled_out = runs(tmp_path / "a", stall=3000)
    calm_leads, calm, calm_out = runs(tmp_path / "b", stall=0)
    assert max(leads) == 31 and max(calm_leads) < 31
    # Which accepted examples a prompt shows does not depend on timing...
    assert [r.messages for r in stalled.requests] == [r.messages for r in calm.requests]
    assert stalled_out == calm_out
    # ...and prompts do show them (the frontier).
    texts = {json.loads(line)[0]["messages"][-1]["content"] for line in calm_out}
    assert any(text in texts for r in calm.requests for text in r.shown)


def test_judge_verdicts_and_a_rerun_served_from_the_cache(tmp_path: Path) -> None:
    cache_path = tmp_path / "cache.sqlite"
    job = make_job(tmp_path / "a", 38, judge="judge-model", concurrency=4)
    judge_teacher = InProcessTeacher(judge_respond, model="judge-model")
    demo = Demo(scrambled)
    teacher = InProcessTeacher(demo)
    with ResponseCache(cache_path) as cache:
        first = run(make_engine(job, teacher, cache=cache, judge=Judge(judge_teacher, min_score=6)))
    s = first.stats
    assert first.curator.done
    # Requests still in flight at the end were cancelled: each counts as sent (the server
    # saw it), but only what came back was bought.
    assert s.sent == teacher.calls > len(demo.finished)
    assert s.judge_calls == judge_teacher.calls > 0
    assert s.rejected["low_score"] > 0 and s.judge_scores["unscored"] > 0
    assert all(e.metadata["judge_score"] in (None, *range(6, 11)) for e in first.curator.accepted)

    again = make_job(tmp_path / "b", 38, judge="judge-model", concurrency=4)
    silent = InProcessTeacher(never)
    silent_judge = InProcessTeacher(never, model="judge-model")
    with ResponseCache(cache_path) as cache:
        second = run(
            make_engine(again, silent, cache=cache, judge=Judge(silent_judge, min_score=6))
        )
    assert silent.calls == silent_judge.calls == 0
    assert accepted(second) == accepted(first)
    t = second.stats
    assert (t.sent, t.judge_calls, t.judge_tokens, t.cache_hits) == (0, 0, 0, s.replies)
    assert (t.judge_scores, t.rejected) == (s.judge_scores, s.rejected)


def test_a_judge_of_another_model_does_not_reuse_verdicts(tmp_path: Path) -> None:
    cache_path = tmp_path / "cache.sqlite"
    for name, out in (("judge-a", "a"), ("judge-b", "b")):
        judge_teacher = InProcessTeacher(judge_respond, model=name)
        job = make_job(tmp_path / out, 10, judge=name, concurrency=2)
        with ResponseCache(cache_path) as cache:
            engine = run(
                make_engine(
                    job,
                    InProcessTeacher(Demo()),
                    cache=cache,
                    judge=Judge(judge_teacher, min_score=6),
                )
            )
        assert judge_teacher.calls == engine.stats.judge_calls > 0, name


def test_a_truncated_reply_is_journaled_and_counted(tmp_path: Path) -> None:
    def respond(request: ChatRequest) -> Completion:
        cut = completion(request, '{"conversations": [{"messages": [')
        return Completion(cut.text, "length", cut.prompt_tokens, cut.completion_tokens)

    job = make_job(tmp_path / "o", 5, max_requests=3, concurrency=1)
    engine = run(make_engine(job, InProcessTeacher(respond)))
    assert engine.stop_reason == "max_requests"
    assert engine.stats.rejected["truncated"] == 3 and engine.stats.candidates == 0
    assert [line["rej"][0]["reason"] for line in journal(tmp_path / "o")] == ["truncated"] * 3


def test_run_control_interrupts_a_running_engine_once(tmp_path: Path) -> None:
    control = RunControl()
    assert not control.interrupt()  # nothing running yet
    answers: list[bool] = []
    demo = Demo()

    async def respond(request: ChatRequest) -> Completion:
        if len(demo.requests) == 5:
            answers.extend([control.interrupt(), control.interrupt()])
        return await demo(request)

    job = make_job(tmp_path / "o", 200, concurrency=1)
    engine = make_engine(job, InProcessTeacher(respond))
    control.attach(engine)
    run(engine)
    assert answers == [True, False]  # the second Ctrl-C is for the caller to handle
    assert engine.stop_reason == "interrupted"
    # Curated work is journaled; the reply in flight when it stopped is not.
    assert [line["i"] for line in journal(tmp_path / "o")] == [0, 1, 2, 3, 4]
