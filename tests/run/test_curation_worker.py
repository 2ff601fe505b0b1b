"""The curation worker process: the same outcomes as curating on the loop, in order, and the
loop is free while it curates."""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from synthgen.curate.curator import Curator, Outcome
from synthgen.curate.drop import Drop
from synthgen.data.example import Example
from synthgen.errors import RunError
from synthgen.run.curation_worker import MODE_ENV, CurationWorker, wanted
from synthgen.run.runner import Answer, Failure
from synthgen.run.wiring import curator_for
from synthgen.teacher import ChatRequest, Completion
from synthgen.teacher.demo import demo_reply
from tests.engine_kit import make_job


def _reply(i: int, request: ChatRequest, earlier: list[dict[str, Any]]) -> Completion:
    """Fresh conversations, copies of earlier ones, and replies that are dropped whole."""
    if i % 7 == 3:
        return Completion("not json at all", "stop")
    if i % 11 == 5:
        return Completion('{"conversations": [', "length")
    conversations = demo_reply(request.messages, ordinal=i)["conversations"]
    if i % 4 == 1 and earlier:  # one conversation copies one of a reply or two before
        conversations[0] = earlier[-min(8, len(earlier))]
    earlier.extend(conversations)
    return Completion(json.dumps({"conversations": conversations}), "stop")


def _answers(job: Any, count: int) -> list[Answer]:
    answers: list[Answer] = []
    earlier: list[dict[str, Any]] = []
    for i in range(count):
        plan = job.planner.plan(i)
        request = job.request(plan)
        if i % 9 == 8:
            answers.append(Answer(plan, request, Failure("server_error", 500, "boom")))
        elif i % 13 == 12:
            answers.append(Answer(plan))  # skipped: its category was full
        else:
            answers.append(Answer(plan, request, _reply(i, request, earlier)))
    return answers


def _start(curator: Curator, woken: asyncio.Event) -> CurationWorker[Answer]:
    worker: CurationWorker[Answer] | None = CurationWorker.start(curator, first=0, wake=woken.set)
    assert worker is not None
    return worker


def _same(a: Outcome | None, b: Outcome | None) -> bool:
    if a is None or b is None:
        return a is b
    return (
        [e.to_chat() | {"m": e.metadata} for e in a.accepted]
        == [e.to_chat() | {"m": e.metadata} for e in b.accepted]
        and a.drops == b.drops
        and (a.candidates, a.surplus) == (b.candidates, b.surplus)
    )


def _in_loop(curator: Curator, answer: Answer) -> Outcome | None:
    if not isinstance(answer.result, Completion) or curator.done:
        return None
    return curator.curate(answer.plan, answer.result, answer.request)


async def _through_worker(
    curator: Curator, answers: list[Answer], *, batch: int, kill_after: int | None = None
) -> list[Any]:
    """Feed ``answers`` ``batch`` at a time, out of order within each batch, and apply what
    take() gives in order as the engine does (mirror the worker's outcomes into ``curator``;
    curate on the loop what it hands back). ``kill_after``: kill the worker process once
    that many outcomes are in."""
    woken = asyncio.Event()
    worker = _start(curator, woken)
    taken: list[Any] = []

    async def apply() -> None:
        await woken.wait()
        woken.clear()
        for answer, outcome in worker.take():
            if not isinstance(answer.result, Completion) or curator.done:
                outcome = None
            elif outcome is None:
                outcome = curator.curate(answer.plan, answer.result, answer.request)
            else:
                for example in outcome.accepted:
                    curator.admit(example, answer.plan.category)
            taken.append((answer, outcome))

    try:
        for start in range(0, len(answers), batch):
            ready = {a.plan.ordinal: a for a in reversed(answers[start : start + batch])}
            worker.feed(ready)
            assert not ready
            if kill_after is not None and start + batch >= kill_after:
                while len(taken) < kill_after:
                    await apply()
                worker._proc.kill()  # type: ignore[union-attr]
                kill_after = None
        while len(taken) < len(answers):
            await apply()
    finally:
        await worker.aclose()
    return taken


@pytest.mark.parametrize(("batch", "kill_after"), [(1, None), (7, None), (5, 20)])
def test_the_worker_gives_the_outcomes_curating_in_order_gives(
    tmp_path: Path, batch: int, kill_after: int | None, caplog: pytest.LogCaptureFixture
) -> None:
    """Also when the worker process dies half-way (kill_after): the engine's curator takes
    over, with what the worker had accepted in its dedup index."""
    job = make_job(tmp_path / "out", n=120)
    answers = _answers(job, 60)
    here = curator_for(job)
    expected = [_in_loop(here, a) for a in answers]
    there = curator_for(job)
    taken = asyncio.run(_through_worker(there, answers, batch=batch, kill_after=kill_after))
    assert [a.plan.ordinal for a, _ in taken] == list(range(60))
    assert all(_same(o, e) for (_, o), e in zip(taken, expected, strict=True))
    # Every kind of outcome was there to compare.
    reasons = {row["reason"] for o in expected if o for row in o.drops}
    assert {"unparseable", "truncated", "exact_duplicate"} <= reasons
    assert sum(o is None for o in expected) >= 8
    assert there.filled == here.filled
    assert [e.to_chat() for e in there.accepted] == [e.to_chat() for e in here.accepted]
    lost = [r.message for r in caplog.records if "curation worker process stopped" in r.message]
    assert len(lost) == (kill_after is not None)


def test_once_every_quota_is_full_the_worker_curates_nothing_more(tmp_path: Path) -> None:
    job = make_job(tmp_path / "out", n=12)
    answers = [a for a in _answers(job, 40) if isinstance(a.result, Completion)]
    answers = [Answer(job.planner.plan(i), a.request, a.result) for i, a in enumerate(answers)]
    here = curator_for(job)
    expected = [_in_loop(here, a) for a in answers]
    there = curator_for(job)
    taken = asyncio.run(_through_worker(there, answers, batch=40))
    assert here.done and there.done
    assert all(_same(o, e) for (_, o), e in zip(taken, expected, strict=True))
    assert taken[-1][1] is None


@dataclass(frozen=True)
class WaitForFile:
    """A check that holds a candidate until ``path`` exists (at most ``limit`` polls), and
    says which process ran it."""

    path: str
    limit: int = 3000

    def __call__(self, example: Example) -> Drop | None:
        import time

        for _ in range(self.limit):
            if os.path.exists(self.path):
                return Drop("checked", f"pid {os.getpid()}")
            time.sleep(0.01)
        return Drop("never_released", f"pid {os.getpid()}")


def test_the_loop_runs_while_the_worker_curates(tmp_path: Path) -> None:
    """The check blocks until a task on the loop creates a file: curating on the loop would
    never finish (the check would give up), in another process it is released."""
    job = make_job(tmp_path / "out", n=20)
    flag = tmp_path / "release"
    curator = curator_for(job)
    curator.checks.append(WaitForFile(str(flag)))
    plan = job.planner.plan(0)
    request = job.request(plan)
    answer = Answer(plan, request, _reply(0, request, []))

    async def main() -> Outcome | None:
        woken = asyncio.Event()
        worker = _start(curator, woken)
        try:
            worker.feed({0: answer})
            await asyncio.sleep(0)
            flag.touch()  # only a loop that is not curating gets here
            while not (taken := worker.take()):
                await woken.wait()
                woken.clear()
            return taken[0][1]
        finally:
            await worker.aclose()

    outcome = asyncio.run(main())
    assert outcome is not None and outcome.drops
    assert {row["reason"] for row in outcome.drops} == {"checked"}
    pids = {row["detail"] for row in outcome.drops}
    assert pids != {f"pid {os.getpid()}"}


def test_a_failing_curation_fails_the_run_with_the_reason(tmp_path: Path) -> None:
    job = make_job(tmp_path / "out", n=20)
    curator = curator_for(job)
    curator.checks.append(Boom())
    plan = job.planner.plan(0)
    request = job.request(plan)

    async def main() -> None:
        woken = asyncio.Event()
        worker = _start(curator, woken)
        try:
            worker.feed({0: Answer(plan, request, _reply(0, request, []))})
            while True:
                await woken.wait()
                woken.clear()
                worker.take()
        finally:
            await worker.aclose()

    with pytest.raises(RunError, match="curation failed in the worker process"):
        asyncio.run(main())


@dataclass(frozen=True)
class Boom:
    def __call__(self, example: Example) -> Drop | None:
        raise ValueError("a check that breaks")


def test_a_curator_that_cannot_be_copied_stays_on_the_loop(tmp_path: Path) -> None:
    job = make_job(tmp_path / "out", n=20)
    curator = curator_for(job)
    curator.checks.append(lambda example: None)  # a lambda does not pickle

    async def main() -> CurationWorker[Answer] | None:
        return CurationWorker.start(curator, first=0, wake=lambda: None)

    assert asyncio.run(main()) is None


def test_when_a_worker_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MODE_ENV, raising=False)
    assert wanted(concurrency=4, requests=20_000, judge=False) is False
    assert wanted(concurrency=256, requests=20_000, judge=True) is False
    monkeypatch.setenv(MODE_ENV, "on")
    assert wanted(concurrency=4, requests=20_000, judge=False) is True
    assert wanted(concurrency=256, requests=20_000, judge=True) is False
    monkeypatch.setenv(MODE_ENV, "off")
    assert wanted(concurrency=256, requests=20_000, judge=False) is False
