"""The engine in process for unit tests: a prepared job, an in-process teacher, no server.

Delays are counted in event-loop turns (``asyncio.sleep(0)``), not seconds: which reply
completes first is then exact, and the tests take no time.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from synthgen.prompts.judge import Judge
from synthgen.run.engine import Engine
from synthgen.run.job import Job, prepare
from synthgen.run.runner import Price
from synthgen.run.stats import RunStats
from synthgen.run.wiring import cache_key_for, curator_for, engine_config
from synthgen.settings import Settings
from synthgen.teacher import ChatRequest, Completion
from synthgen.teacher.cache import ResponseCache
from synthgen.teacher.demo import DemoGenerator, demo_reply, prompt_tokens, rough_tokens
from synthgen.teacher.inprocess import InProcessTeacher
from tests.helpers import SAMPLES


def make_job(out: Path, n: int, seeds: str = "marv.jsonl", **options: Any) -> Job:
    """A prepared job whose teacher is never dialled (the tests hand the engine their own)."""
    settings = Settings(
        n=n,
        model="m",
        base_url="http://127.0.0.1:9/v1",
        out_dir=out,
        language="off",
        **options,
    )
    return prepare(SAMPLES / seeds, settings)


def completion(request: ChatRequest, reply: dict[str, Any] | str) -> Completion:
    text = reply if isinstance(reply, str) else json.dumps(reply, ensure_ascii=False)
    return Completion(text, "stop", prompt_tokens(request.messages), rough_tokens(text))


class Demo:
    """The demo's placeholder replies, each completing ``turns(i)`` loop turns after call
    ``i`` starts. ``pure``: the reply depends on the request alone (not on how many identical
    prompts came before), so a resumed run gets what an uninterrupted one would have."""

    def __init__(
        self,
        turns: Callable[[int], int] = lambda i: 0,
        *,
        pure: bool = False,
        per_reply: int | None = None,
    ) -> None:
        self.turns = turns
        self.pure = pure
        self.per_reply = per_reply
        self.generator = DemoGenerator(per_reply=per_reply)
        self.requests: list[ChatRequest] = []
        self.finished: list[int] = []  # call numbers, in the order the replies completed

    async def __call__(self, request: ChatRequest) -> Completion:
        i = len(self.requests)
        self.requests.append(request)
        if self.pure:
            reply = demo_reply(request.messages, per_reply=self.per_reply)
        else:
            reply = self.generator.reply(request.messages)
        for _ in range(self.turns(i)):
            await asyncio.sleep(0)
        self.finished.append(i)
        return completion(request, reply)


def judge_respond(request: ChatRequest) -> str:
    """A judge whose scores spread over 1-10 with the judged conversation's length, and
    whose reply now and then holds no score at all."""
    words = len(re.findall(r"\w+", request.messages[-1]["content"]))
    if words % 7 == 0:
        return "I would rather not say."
    return json.dumps({"score": 1 + words % 10, "reason": f"{words} words"})


def scrambled(i: int) -> int:
    """Delays under which each group of eight requests completes in reverse order."""
    return 3 * (7 - i % 8)


def make_engine(
    job: Job,
    teacher: InProcessTeacher,
    *,
    cache: ResponseCache | None = None,
    judge: Judge | None = None,
    price: Price | None = None,
    **config: Any,
) -> Engine:
    """The engine run_job would build for ``job``, with ``config`` overriding EngineConfig."""
    return Engine(
        config=replace(engine_config(job), **config),
        planner=job.planner,
        build_request=job.request,
        cache_key=cache_key_for(job.settings.seed),
        teacher=teacher,
        curator=curator_for(job),
        state=job.state,
        cache=cache,
        price=price,
        judge=judge,
        judge_price=price,
    )


def run(engine: Engine, *, resume: bool = False) -> Engine:
    """Restore (when resuming) and run to the end, as run_job does."""

    async def go() -> None:
        engine.state.open(resume=resume)
        try:
            engine.restore()
            await engine.run()
        finally:
            engine.state.close()

    asyncio.run(go())
    return engine


def never(request: ChatRequest) -> str:
    raise AssertionError("this teacher must not be called")


def replayed(job: Job) -> Engine:
    """A fresh engine that has only replayed ``job``'s journal."""
    engine = make_engine(job, InProcessTeacher(never))
    engine.restore()
    return engine


def counts(stats: RunStats) -> dict[str, Any]:
    """Everything the report counts, less where this process started."""
    data = stats.to_dict()
    del data["requests"]["resumed_from_request"]
    return data


def accepted(engine: Engine) -> list[str]:
    return [json.dumps([e.to_chat(), e.metadata], sort_keys=True) for e in engine.curator.accepted]
