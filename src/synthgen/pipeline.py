"""expand / aexpand: seeds -> generate -> split -> write. The one place the stages meet."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import math
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .errors import ConfigError, RunError, TeacherFatalError
from .models import Example
from .plan import Planner, RequestPlan, quotas
from .report import RunStats
from .seeds import SeedSet, load_seeds
from .settings import Settings
from .state import RunState
from .teacher import ChatRequest, Teacher
from .templates import Template, load_template

SeedSource = str | Path | Iterable[Example | Mapping[str, Any]]


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


@dataclass
class Job:
    """A validated run, before anything is written or sent."""

    settings: Settings
    seeds: SeedSet
    template: Template
    planner: Planner
    quotas: dict[str | None, int]
    state: RunState
    resume: bool
    temperature: float
    per_request: int
    engine: Any = None  # the live Engine, so the CLI can interrupt it

    def request(self, plan: RequestPlan) -> ChatRequest:
        from .reply import response_format

        shown = [self.seeds.examples[i] for i in plan.shots]
        messages = self.template.render(
            examples=[_for_template(ex) for ex in shown],
            n=self.per_request,
            system=self.seeds.system,
            category=plan.category,
        )
        return ChatRequest(
            messages=tuple(messages),
            temperature=self.temperature,
            response_format=response_format(),
        )


def _for_template(ex: Example) -> dict[str, Any]:
    return {
        "messages": [{"role": m.role, "content": m.content} for m in ex.turns],
        "metadata": ex.metadata,
    }


def prepare(source: SeedSource, settings: Settings) -> Job:
    """Read and check everything; raise InputError subclasses before any side effect."""
    seeds = load_seeds(source, system=settings.system)
    template = load_template(settings.template)
    if settings.balance_by is not None:
        seeds.categories(settings.balance_by)  # names the first seed lacking the field
    if settings.format != "openai":
        from .formats import FORMATS

        if settings.format not in FORMATS:
            raise ConfigError(
                f"unknown --format {settings.format!r}: use one of {', '.join(FORMATS)}"
            )
    shots = settings.shots or template.shots
    planner = Planner(
        seeds.examples, shots=shots, seed=settings.seed, balance_by=settings.balance_by
    )
    per_request = settings.per_request or template.per_request
    settings = replace(
        settings,
        max_requests=settings.max_requests or default_max_requests(settings.n, per_request),
    )
    state = RunState(settings.out_dir, job_identity(settings, seeds, template))
    resume = state.check(force=settings.force)
    return Job(
        settings=settings,
        seeds=seeds,
        template=template,
        planner=planner,
        quotas=quotas(planner.categories, settings.n),
        state=state,
        resume=resume,
        temperature=settings.temperature
        if settings.temperature is not None
        else template.temperature,
        per_request=per_request,
    )


def default_max_requests(n: int, per_request: int) -> int:
    """Five times what a teacher whose every answer is accepted would need: room for a poor
    yield, a hard stop for a teacher that only produces rejects."""
    return 5 * math.ceil(n / per_request) + 20


def seeds_digest(seeds: SeedSet) -> str:
    h = hashlib.sha256()
    for ex in seeds.examples:
        h.update(json.dumps(ex.to_chat(), ensure_ascii=False, sort_keys=True).encode())
        h.update(json.dumps(ex.metadata, ensure_ascii=False, sort_keys=True, default=str).encode())
    h.update((seeds.system or "").encode())
    return h.hexdigest()


def job_identity(settings: Settings, seeds: SeedSet, template: Template) -> dict[str, Any]:
    """What makes two runs the same job (so the second resumes the first). Budgets,
    concurrency and pacing are left out: changing them mid-job is fine."""
    s = settings
    return {
        "seeds": seeds_digest(seeds),
        "template": template.sha256,
        "model": s.model,
        "base_url": s.base_url,
        "n": s.n,
        "seed": s.seed,
        "balance_by": s.balance_by,
        "dedup_threshold": s.dedup_threshold,
        "temperature": s.temperature,
        "per_request": s.per_request,
        "shots": s.shots,
        "eval_fraction": s.eval_fraction,
        "format": s.format,
    }


def dry_run_result(job: Job) -> Result:
    from .pricing import estimate_cost
    from .tokens import count_message_tokens

    previews = [job.request(job.planner.plan(i)).messages for i in range(min(2, job.settings.n))]
    expected = math.ceil(job.settings.n / job.per_request)
    prompt_tokens = count_message_tokens(list(previews[0]), job.settings.model)
    seed_tokens = [
        count_message_tokens(
            [m.model_dump(exclude_none=True) for m in ex.turns], job.settings.model
        )
        for ex in job.seeds.examples
    ]
    reply_tokens = int(job.per_request * (sum(seed_tokens) / len(seed_tokens)) * 1.3) + 20
    # Expect about a fifth of candidates to be dropped by filters and dedup.
    requests = math.ceil(expected / 0.8)
    cost = estimate_cost(job.settings.model, prompt_tokens * requests, reply_tokens * requests)
    report = {
        "dry_run": True,
        "settings": job.settings.public(),
        "seeds": seeds_section(job.seeds),
        "estimate": {
            "requests": requests,
            "prompt_tokens": prompt_tokens * requests,
            "completion_tokens": reply_tokens * requests,
            "cost_usd": None if cost is None else round(cost, 4),
        },
    }
    return Result(
        train=[], eval=[], report=report, complete=False, previews=[list(p) for p in previews]
    )


def seeds_section(seeds: SeedSet) -> dict[str, Any]:
    return {
        "path": seeds.path,
        "format": seeds.fmt,
        "count": len(seeds),
        "system": seeds.system,
        "sha256": seeds_digest(seeds),
    }


@contextlib.asynccontextmanager
async def open_teacher(settings: Settings) -> AsyncIterator[Teacher]:
    from .teacher import make_teacher

    if settings.demo:
        from .testing import FakeTeacher

        with FakeTeacher(seed=settings.seed) as fake:
            teacher = make_teacher(
                "demo",
                base_url=fake.base_url,
                timeout=settings.timeout,
                max_connections=settings.concurrency,
            )
            teacher.endpoint = "demo"  # the port changes every run; the cache key must not
            try:
                yield teacher
            finally:
                await teacher.aclose()
        return
    teacher = make_teacher(
        settings.model,
        base_url=settings.base_url,
        timeout=settings.timeout,
        max_connections=settings.concurrency,
    )
    try:
        yield teacher
    finally:
        await teacher.aclose()


async def run_job(job: Job, *, on_progress: Callable[[RunStats], None] | None = None) -> Result:
    from .cache import ResponseCache, cache_key
    from .dedup import DedupIndex
    from .filters import QualityFilter
    from .generate import Engine, EngineConfig
    from .limits import Backoff
    from .pricing import estimate_cost
    from .teacher import check_credentials

    s = job.settings
    if not s.demo:
        check_credentials(s.model, s.base_url)
    if s.max_cost is not None and estimate_cost(s.model, 1000, 1000) is None:
        raise ConfigError(
            f"--max-cost needs a known price, and {s.model!r} has none in litellm's table"
        )
    from .curate import Curator

    curator = Curator(
        system=job.seeds.system,
        quality=QualityFilter.from_seeds(job.seeds.examples),
        index=DedupIndex(threshold=s.dedup_threshold),
        quotas=job.quotas,
        balance_by=s.balance_by,
        seeds=job.seeds.examples,
    )
    cache = ResponseCache() if s.cache else None
    started = time.time()
    async with open_teacher(s) as teacher:

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
    from .output import write_outputs

    return write_outputs(job, engine, started=started)


def _discard(state: RunState) -> None:
    """A run that failed before its first reply leaves no state behind, so the corrected
    command is not refused as 'a different job'."""
    import shutil

    shutil.rmtree(state.dir, ignore_errors=True)
    with contextlib.suppress(OSError):
        state.out_dir.rmdir()
