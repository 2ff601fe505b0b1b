"""expand / aexpand: seeds -> generate -> split -> write. The one place the stages meet."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import math
import random
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .errors import ConfigError, RunError, TeacherFatalError
from .models import Example
from .plan import Planner, RequestPlan, Strategy, quotas
from .report import RunStats
from .seeds import SeedSet, load_seeds
from .settings import Settings
from .state import RunState
from .teacher import ChatRequest, Teacher
from .templates import Template, load_mix

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
    mix: list[tuple[Template, int]]
    planner: Planner
    quotas: dict[str | None, int]
    state: RunState
    resume: bool
    lag: int | None = None  # frontier examples come from requests at least this far back
    checks: list[Any] = field(default_factory=list)  # extra filters: language, decontamination
    language: str | None = None  # the language replies must be in (None: not checked)
    curator: Any = None  # the live Curator: the pool of accepted examples for the frontier
    engine: Any = None  # the live Engine, so the CLI can interrupt it

    @property
    def mean_per_request(self) -> float:
        weights = sum(w for _, w in self.mix)
        return sum(self.per_request(t) * w for t, w in self.mix) / weights

    def template(self, plan: RequestPlan) -> Template:
        return self.mix[plan.strategy][0]

    def per_request(self, template: Template) -> int:
        return self.settings.per_request or template.per_request

    def temperature(self, template: Template) -> float:
        t = self.settings.temperature
        return template.temperature if t is None else t

    def frontier(self, template: Template) -> float:
        f = self.settings.frontier
        return template.frontier if f is None else f

    def shown(self, plan: RequestPlan, template: Template) -> list[dict[str, Any]]:
        """The examples a request shows: its seeds, with a share of them replaced by
        examples accepted at least ``lag`` requests earlier (the frontier), so the teacher
        builds on what it already wrote instead of circling the seeds."""
        seeds = [self.seeds.examples[i] for i in plan.shots]
        share = self.frontier(template)
        if self.curator is None or self.lag is None or share <= 0:
            return [_for_template(ex) for ex in seeds]
        pool, available = self.curator.eligible(plan.category, plan.ordinal - self.lag)
        k = min(round(len(seeds) * share), available)
        if len(seeds) < 2 or k == 0:
            return [_for_template(ex) for ex in seeds]
        rng = random.Random(f"{self.settings.seed}:frontier:{plan.ordinal}")
        picked = [pool[i] for i in sorted(rng.sample(range(available), k))]
        return [_for_template(ex) for ex in seeds[: len(seeds) - k] + picked]

    def request(self, plan: RequestPlan) -> ChatRequest:
        from .reply import response_format

        template = self.template(plan)
        shown = self.shown(plan, template)
        messages = template.render(
            examples=shown,
            n=self.per_request(template),
            system=self.seeds.system,
            category=plan.category,
            attributes=plan.attributes,
        )
        return ChatRequest(
            messages=tuple(messages),
            temperature=self.temperature(template),
            response_format=response_format(),
            shown=tuple(m["content"] for ex in shown for m in ex["messages"]),
        )


def _for_template(ex: Example) -> dict[str, Any]:
    return {
        "messages": [{"role": m.role, "content": m.content} for m in ex.turns],
        "metadata": ex.metadata,
    }


def prepare(source: SeedSource, settings: Settings) -> Job:
    """Read and check everything; raise InputError subclasses before any side effect."""
    from .attributes import load_attributes

    seeds = load_seeds(source, system=settings.system)
    mix = load_mix(settings.template)
    user_attrs = load_attributes(settings.attributes) if settings.attributes else {}
    for template, _ in mix:
        if template.needs_attributes and not user_attrs:
            raise ConfigError(
                f"template {template.name!r} needs --attributes FILE (a YAML or JSON mapping of "
                "names to lists, e.g. persona, difficulty, topic)"
            )
    if user_attrs and not any(t.needs_attributes for t, _ in mix):
        raise ConfigError("--attributes is for templates that use them: add --template persona")
    if settings.balance_by is not None:
        seeds.categories(settings.balance_by)  # names the first seed lacking the field
    if settings.format != "openai":
        from .formats import FORMATS

        if settings.format not in FORMATS:
            raise ConfigError(
                f"unknown --format {settings.format!r}: use one of {', '.join(FORMATS)}"
            )
    strategies = [
        Strategy(
            name=t.name,
            weight=w,
            shots=settings.shots or t.shots,
            attributes=user_attrs if t.needs_attributes else t.attributes,
        )
        for t, w in mix
    ]
    planner = Planner(
        seeds.examples, seed=settings.seed, balance_by=settings.balance_by, strategies=strategies
    )
    mean_per_request = sum((settings.per_request or t.per_request) * w for t, w in mix) / sum(
        w for _, w in mix
    )
    settings = replace(
        settings,
        max_requests=settings.max_requests
        or default_max_requests(settings.n, max(1, int(mean_per_request))),
    )
    checks, language = extra_checks(settings, seeds)
    state = RunState(settings.out_dir, job_identity(settings, seeds, mix, user_attrs))
    resume = state.check(force=settings.force)
    uses_frontier = any(
        (settings.frontier if settings.frontier is not None else t.frontier) > 0 for t, _ in mix
    )
    return Job(
        settings=settings,
        seeds=seeds,
        mix=mix,
        planner=planner,
        quotas=quotas(planner.categories, settings.n),
        state=state,
        resume=resume,
        # Fixed by the concurrency, so that which accepted examples a request may show does
        # not depend on timing; the engine never runs further ahead than this.
        lag=max(32, 2 * settings.concurrency) if uses_frontier else None,
        checks=checks,
        language=language,
    )


def extra_checks(settings: Settings, seeds: SeedSet) -> tuple[list[Any], str | None]:
    """The optional filters: reply language (the seeds' own by default) and
    decontamination against a held-out set."""
    checks: list[Any] = []
    language = None
    # Contamination first: it is the reason a user most needs to see.
    if settings.decontaminate is not None:
        from .decontam import Decontaminator

        checks.append(
            Decontaminator.from_file(settings.decontaminate, ngram=settings.decontaminate_ngram)
        )
    choice = (settings.language or "off").lower()
    if choice not in ("off", "none") and not (settings.demo and choice == "auto"):
        from .language import LanguageFilter, dominant_language

        if choice == "auto":
            language = dominant_language(ex.dedup_text() for ex in seeds.examples)
        else:
            language = choice
        if language is not None:
            # The assistant turns are what the model learns to write; a user turn in another
            # language can be the task itself (translation). ConfigError for unknown codes.
            checks.append(LanguageFilter(language, roles=("assistant",)))
    return checks, language


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


def job_identity(
    settings: Settings, seeds: SeedSet, mix: list[tuple[Template, int]], attributes: dict[str, Any]
) -> dict[str, Any]:
    """What makes two runs the same job (so the second resumes the first). Budgets and
    pacing are left out: changing them mid-job is fine."""
    s = settings
    return {
        "seeds": seeds_digest(seeds),
        "templates": [[t.name, t.sha256, w] for t, w in mix],
        "attributes": attributes,
        "frontier": s.frontier,
        "language": s.language,
        "decontaminate": _file_digest(s.decontaminate),
        "decontaminate_ngram": s.decontaminate_ngram,
        "judge": [s.judge, s.min_score] if s.judge else None,
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


def _file_digest(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def dry_run_result(job: Job) -> Result:
    from .pricing import estimate_cost
    from .tokens import count_message_tokens

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


def seeds_section(seeds: SeedSet) -> dict[str, Any]:
    return {
        "path": seeds.path,
        "format": seeds.fmt,
        "count": len(seeds),
        "system": seeds.system,
        "sha256": seeds_digest(seeds),
    }


@contextlib.asynccontextmanager
async def _teacher(settings: Settings, model: str, base_url: str | None) -> AsyncIterator[Teacher]:
    from .teacher import make_teacher

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
    from .testing import FakeTeacher

    with FakeTeacher(seed=settings.seed) as fake:
        async with _teacher(settings, "demo", fake.base_url) as teacher:
            teacher.endpoint = "demo"  # the port changes every run; the cache key must not
            yield teacher


@contextlib.asynccontextmanager
async def open_judge(settings: Settings, teacher: Teacher) -> AsyncIterator[Any]:
    """The LLM judge of --judge MODEL: the teacher itself when MODEL is the teacher's model,
    else its own backend on the same endpoint rules."""
    from .judge import Judge

    if not settings.judge:
        yield None
    elif settings.judge == settings.model:
        yield Judge(teacher, min_score=settings.min_score)
    else:
        async with _teacher(settings, settings.judge, settings.base_url) as own:
            yield Judge(own, min_score=settings.min_score)


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
    from .output import write_outputs

    return write_outputs(job, engine, started=started)


def _discard(state: RunState) -> None:
    """A run that failed before its first reply leaves no state behind, so the corrected
    command is not refused as 'a different job'."""
    import shutil

    shutil.rmtree(state.dir, ignore_errors=True)
    with contextlib.suppress(OSError):
        state.out_dir.rmdir()
