"""expand / aexpand: seeds -> generate -> split -> write. The one place the stages meet."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthgen.data.example import Example
from synthgen.errors import ConfigError, RunError, TeacherFatalError
from synthgen.run.job import Job, SeedSource, prepare, seeds_section
from synthgen.run.journal import RunState
from synthgen.run.stats import RunStats
from synthgen.settings import Settings
from synthgen.teacher import ChatRequest, Teacher

__all__ = ["Interrupted", "Job", "Result", "aexpand", "expand", "prepare", "run_job"]


@dataclass
class Result:
    """What ``expand`` produced. ``complete`` is False when a budget, the yield guard or
    an interrupt ended the run early; ``report["stop"]`` says which."""

    train: list[Example]
    eval: list[Example]
    report: dict[str, Any]
    out_dir: Path | None = None
    complete: bool = True
    previews: list[list[dict[str, str]]] = field(default_factory=list)


class Interrupted(RunError):
    """The run was interrupted (Ctrl-C); its state is saved and the same command resumes."""

    exit_code = 130


def expand(
    seeds: SeedSource,
    n: int,
    *,
    on_progress: Callable[[RunStats], None] | None = None,
    **options: Any,
) -> Result:
    """Generate ``n`` examples from ``seeds`` and write them to ``out_dir`` (see Settings
    for every option). Blocking; use :func:`aexpand` inside an event loop."""
    return asyncio.run(aexpand(seeds, n, on_progress=on_progress, **options))


async def aexpand(
    seeds: SeedSource,
    n: int,
    *,
    on_progress: Callable[[RunStats], None] | None = None,
    dry_run: bool = False,
    **options: Any,
) -> Result:
    if "out_dir" in options:
        options["out_dir"] = Path(options["out_dir"])
    try:
        settings = Settings(n=n, **options)
    except TypeError as e:
        raise ConfigError(str(e)) from None
    job = prepare(seeds, settings)
    if dry_run:
        return dry_run_result(job)
    return await run_job(job, on_progress=on_progress)


def dry_run_result(job: Job) -> Result:
    from synthgen.teacher.pricing import estimate_cost
    from synthgen.text.tokens import count_message_tokens

    s = job.settings
    plans = [job.planner.plan(i) for i in range(min(len(job.mix) + 1, s.n))]
    previews = [list(job.request(p).messages) for p in plans]
    prompt_tokens = sum(count_message_tokens(p, s.model) for p in previews) / len(previews)
    seed_tokens = [
        count_message_tokens([m.model_dump(exclude_none=True) for m in ex.turns], s.model)
        for ex in job.seeds.examples
    ]
    weights = sum(w for _, w in job.mix)
    per_request = sum(job.per_request(t) * w for t, w in job.mix) / weights
    reply_tokens = per_request * (sum(seed_tokens) / len(seed_tokens)) * 1.3 + 20
    # Expect about a fifth of candidates to be dropped by filters and dedup.
    requests = math.ceil(s.n / per_request / 0.8)
    total_in, total_out = int(prompt_tokens * requests), int(reply_tokens * requests)
    cost = estimate_cost(s.model, total_in, total_out)
    report = {
        "dry_run": True,
        "settings": s.public(),
        "seeds": seeds_section(job.seeds),
        "estimate": {
            "requests": requests,
            "prompt_tokens": total_in,
            "completion_tokens": total_out,
            "cost_usd": None if cost is None else round(cost, 4),
        },
    }
    return Result(train=[], eval=[], report=report, complete=False, previews=previews)


@contextlib.asynccontextmanager
async def _teacher(settings: Settings, model: str, base_url: str | None) -> AsyncIterator[Teacher]:
    from synthgen.teacher import make_teacher

    teacher = make_teacher(
        model,
        base_url=base_url,
        timeout=settings.timeout,
        max_connections=settings.concurrency,
        transport=settings.transport,
    )
    try:
        yield teacher
    finally:
        await teacher.aclose()


@contextlib.asynccontextmanager
async def open_teacher(settings: Settings) -> AsyncIterator[Teacher]:
    """The run's teacher; for ``--model demo``, the bundled FakeTeacher on a local port."""
    if not settings.demo:
        async with _teacher(settings, settings.model, settings.base_url) as teacher:
            yield teacher
        return
    from synthgen.testing import FakeTeacher

    with FakeTeacher(seed=settings.seed) as fake:
        async with _teacher(settings, "demo", fake.base_url) as teacher:
            teacher.endpoint = "demo"  # the port changes every run; the cache key must not
            yield teacher


@contextlib.asynccontextmanager
async def open_judge(settings: Settings, teacher: Teacher) -> AsyncIterator[Any]:
    """The LLM judge of --judge MODEL: the teacher itself when MODEL is the teacher's model,
    else its own backend on the same endpoint rules."""
    from synthgen.prompts.judge import Judge

    if not settings.judge:
        yield None
    elif settings.judge == settings.model:
        yield Judge(teacher, min_score=settings.min_score)
    else:
        async with _teacher(settings, settings.judge, settings.base_url) as own:
            yield Judge(own, min_score=settings.min_score)


async def run_job(job: Job, *, on_progress: Callable[[RunStats], None] | None = None) -> Result:
    from synthgen.curate.filters import QualityFilter
    from synthgen.run.engine import Engine, EngineConfig
    from synthgen.teacher import check_credentials
    from synthgen.teacher.cache import ResponseCache, cache_key
    from synthgen.teacher.pacing import Backoff
    from synthgen.teacher.pricing import estimate_cost
    from synthgen.text.dedup import DedupIndex

    s = job.settings
    if not s.demo:
        check_credentials(s.model, s.base_url)
    if s.max_cost is not None and estimate_cost(s.model, 1000, 1000) is None:
        raise ConfigError(
            f"--max-cost needs a known price, and {s.model!r} has none in litellm's table"
        )
    from synthgen.curate.curator import Curator

    curator = Curator(
        system=job.seeds.system,
        quality=QualityFilter.from_seeds(job.seeds.examples),
        index=DedupIndex(threshold=s.dedup_threshold),
        quotas=job.quotas,
        balance_by=s.balance_by,
        seeds=job.seeds.examples,
        checks=job.checks,
        min_score=s.min_score if s.judge else 0,
    )
    job.curator = curator
    cache = ResponseCache() if s.cache else None
    started = time.time()
    async with open_teacher(s) as teacher, open_judge(s, teacher) as judge:

        def key(request: ChatRequest, ordinal: int) -> str:
            return cache_key(
                {
                    "endpoint": teacher.endpoint,
                    "model": teacher.model,
                    "messages": request.messages,
                    "temperature": request.temperature,
                    "max_tokens": request.max_tokens,
                    "response_format": request.response_format,
                    "extra": request.extra,
                    "ordinal": ordinal,
                    "seed": s.seed,
                }
            )

        engine = Engine(
            config=EngineConfig(
                concurrency=s.concurrency,
                max_requests=s.max_requests,
                max_cost=s.max_cost,
                timeout=s.timeout,
                backoff=Backoff(retries=s.retries),
                rpm=s.rpm,
                tpm=s.tpm,
                min_yield=s.min_yield,
                seed=s.seed,
                lag=job.lag,
                per_request=job.mean_per_request,
            ),
            planner=job.planner,
            build_request=job.request,
            cache_key=key,
            teacher=teacher,
            curator=curator,
            state=job.state,
            cache=cache,
            price=lambda pt, ct: estimate_cost(s.model, pt, ct),
            on_progress=on_progress,
            judge=judge,
            judge_price=(lambda pt, ct: estimate_cost(s.judge or s.model, pt, ct)),
        )
        job.engine = engine
        job.state.open(resume=job.resume)
        try:
            engine.restore()
            await engine.run()
        except TeacherFatalError:
            if engine.stats.requests == 0:
                _discard(job.state)
            raise
        finally:
            job.state.close()
            if cache is not None:
                cache.close()
    if engine.stop_reason == "interrupted":
        raise Interrupted(
            f"interrupted with {engine.stats.accepted}/{s.n} accepted; "
            "run the same command again to resume"
        )
    from synthgen.run.output import write_outputs

    return write_outputs(job, engine, started=started)


def _discard(state: RunState) -> None:
    """A run that failed before its first reply leaves no state behind, so the corrected
    command is not refused as 'a different job'."""
    import shutil

    shutil.rmtree(state.dir, ignore_errors=True)
    with contextlib.suppress(OSError):
        state.out_dir.rmdir()
