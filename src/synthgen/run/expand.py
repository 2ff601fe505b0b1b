"""expand / aexpand: seeds -> generate -> split -> write. The one place the stages meet."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from synthgen.errors import ConfigError, InputError, RunError, TeacherFatalError
from synthgen.run.control import RunControl
from synthgen.run.job import Job, SeedSource, prepare, seeds_section, shown_settings
from synthgen.run.journal import RunState
from synthgen.run.result import Result
from synthgen.run.stats import RunStats
from synthgen.run.teachers import open_judge, open_teacher
from synthgen.settings import Settings, Transport
from synthgen.settings.model import DEFAULT_MAX_REPLY_BYTES, Reasoning
from synthgen.settings.workers import Executor
from synthgen.teacher.pacing import Pacing

if TYPE_CHECKING:
    from synthgen.run.engine import Engine
    from synthgen.run.pairs import PairRun

__all__ = ["Interrupted", "Job", "Result", "aexpand", "expand", "prepare", "run_job"]


class Interrupted(RunError):
    """The run was interrupted (Ctrl-C); its state is saved and the same command resumes."""

    exit_code = 130


def expand(
    seeds: SeedSource,
    n: int,
    *,
    out_dir: str | Path = "out",
    model: str | None = None,
    base_url: str | None = None,
    template: str = "expand",
    system: str | None = None,
    eval_fraction: float = 0.1,
    seed: int = 0,
    concurrency: int = 16,
    balance_by: str | None = None,
    dedup_threshold: float = 0.8,
    dedup_index: str | None = None,
    max_requests: int | None = None,
    max_cost: float | None = None,
    timeout: float = 120.0,
    retries: int = 6,
    rate_limit_patience: float = 600.0,
    rpm: float | None = None,
    tpm: float | None = None,
    temperature: float | None = None,
    per_request: int | None = None,
    shots: int | None = None,
    min_yield: float = 0.05,
    attributes: str | Path | None = None,
    frontier: float | None = None,
    language: str | None = "auto",
    decontaminate: str | Path | None = None,
    decontaminate_ngram: int = 13,
    judge: str | None = None,
    judge_base_url: str | None = None,
    min_score: int = 6,
    command: str | None = None,
    transport: Transport = "aiohttp",
    cache: bool = True,
    force: bool = False,
    format: str = "openai",
    max_tokens: int | None = None,
    max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES,
    reasoning: Reasoning = "drop",
    license: str | None = None,
    pairs: bool = False,
    responses: int = 4,
    min_margin: int = 2,
    semantic_dedup: float | None = None,
    shard: str | None = None,
    workers: int = 1,
    executor: Executor = "local",
    ray_address: str | None = None,
    batch: bool = False,
    batch_poll: float = 30.0,
    on_progress: Callable[[RunStats], None] | None = None,
    dry_run: bool = False,
) -> Result:
    """Generate ``n`` examples from ``seeds`` and write them to ``out_dir``. Blocking; use
    :func:`aexpand` inside an event loop.

    Every keyword parameter but the last two is the Settings field of that name, with its
    type and default (None for ``model`` and ``base_url`` means the environment's default);
    ``synthgen expand --help`` says what each does. ``on_progress`` is called with the live
    counts (not with ``executor="ray"``, whose shards run in Ray's workers); ``dry_run``
    renders the first prompts and an estimate, and sends nothing."""
    _no_running_loop()
    settings = Settings.from_parameters(locals())  # the parameters that are Settings fields
    if settings.executor == "ray" and not dry_run:
        from synthgen.run.ray_exec import run_on_ray

        return run_on_ray(seeds, settings)
    return asyncio.run(_expand(seeds, settings, on_progress=on_progress, dry_run=dry_run))


def _no_running_loop() -> None:
    """asyncio.run() refuses to start inside a running loop with a bare RuntimeError; say
    what to do instead."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # no loop running in this thread: the usual case
        return
    raise InputError(
        "expand() cannot run inside a running event loop (a Jupyter notebook, an async "
        "app): there, use `result = await aexpand(...)` with the same arguments"
    )


async def aexpand(
    seeds: SeedSource,
    n: int,
    *,
    out_dir: str | Path = "out",
    model: str | None = None,
    base_url: str | None = None,
    template: str = "expand",
    system: str | None = None,
    eval_fraction: float = 0.1,
    seed: int = 0,
    concurrency: int = 16,
    balance_by: str | None = None,
    dedup_threshold: float = 0.8,
    dedup_index: str | None = None,
    max_requests: int | None = None,
    max_cost: float | None = None,
    timeout: float = 120.0,
    retries: int = 6,
    rate_limit_patience: float = 600.0,
    rpm: float | None = None,
    tpm: float | None = None,
    temperature: float | None = None,
    per_request: int | None = None,
    shots: int | None = None,
    min_yield: float = 0.05,
    attributes: str | Path | None = None,
    frontier: float | None = None,
    language: str | None = "auto",
    decontaminate: str | Path | None = None,
    decontaminate_ngram: int = 13,
    judge: str | None = None,
    judge_base_url: str | None = None,
    min_score: int = 6,
    command: str | None = None,
    transport: Transport = "aiohttp",
    cache: bool = True,
    force: bool = False,
    format: str = "openai",
    max_tokens: int | None = None,
    max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES,
    reasoning: Reasoning = "drop",
    license: str | None = None,
    pairs: bool = False,
    responses: int = 4,
    min_margin: int = 2,
    semantic_dedup: float | None = None,
    shard: str | None = None,
    workers: int = 1,
    executor: Executor = "local",
    ray_address: str | None = None,
    batch: bool = False,
    batch_poll: float = 30.0,
    on_progress: Callable[[RunStats], None] | None = None,
    dry_run: bool = False,
) -> Result:
    """:func:`expand`, for code already inside an event loop."""
    settings = Settings.from_parameters(locals())  # the parameters that are Settings fields
    if settings.executor == "ray" and not dry_run:
        from synthgen.run.ray_exec import run_on_ray

        # The driver blocks while it waits for its tasks: in a thread, off the caller's loop.
        return await asyncio.to_thread(run_on_ray, seeds, settings)
    return await _expand(seeds, settings, on_progress=on_progress, dry_run=dry_run)


async def _expand(
    seeds: SeedSource,
    settings: Settings,
    *,
    on_progress: Callable[[RunStats], None] | None,
    dry_run: bool,
) -> Result:
    # Reading and checking the seeds blocks for seconds on a large file: off the loop.
    job = await asyncio.to_thread(prepare, seeds, settings)
    if dry_run:
        return dry_run_result(job)
    return await run_job(job, on_progress=on_progress)


def dry_run_result(job: Job) -> Result:
    from synthgen.run.estimate import estimate
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
    report = {
        "dry_run": True,
        "settings": shown_settings(s).public(),
        "seeds": seeds_section(job.seeds),
        "estimate": estimate(job, prompt_tokens=prompt_tokens, reply_tokens=reply_tokens),
    }
    return Result(train=[], eval=[], report=report, complete=False, previews=previews)


async def run_job(
    job: Job,
    *,
    on_progress: Callable[[RunStats], None] | None = None,
    control: RunControl | None = None,
    api_key: str | None = None,
    pacing: Pacing | None = None,
) -> Result:
    """Run a prepared job and write its outputs; ``control`` lets the caller interrupt it;
    ``api_key`` is the teacher's key for this run (else the environment's); ``pacing`` is
    shared by the jobs on the same endpoint and key (default: the job's own)."""
    s = job.settings
    # A first run in a process imports the engine's modules (a fifth of a second): off the
    # loop, like the other blocking steps below.
    await asyncio.to_thread(_import_engine, s)
    from synthgen.run.batching import batch_counts, prices
    from synthgen.run.engine import Engine
    from synthgen.run.pairs import collect_pairs
    from synthgen.run.wiring import cache_key_for, curator_for, engine_config
    from synthgen.teacher import check_credentials
    from synthgen.teacher.cache import ResponseCache

    if not s.demo and api_key is None:
        check_credentials(s.model, s.base_url)
    _refuse(job)
    # Indexing the seeds for dedup and decontamination takes seconds on a large file.
    curator = await asyncio.to_thread(curator_for, job)
    cache = ResponseCache() if s.cache else None
    started = time.time()
    price, judge_price = prices(s)
    teacher_cm = open_teacher(s, api_key, state_dir=job.state.dir)
    async with teacher_cm as teacher, open_judge(s, teacher) as judge:
        engine = Engine(
            config=engine_config(job),
            planner=job.planner,
            build_request=job.request,
            cache_key=cache_key_for(s.seed, job.planner.request_number),
            teacher=teacher,
            curator=curator,
            state=job.state,
            cache=cache,
            price=price,
            on_progress=on_progress,
            judge=None if s.pairs else judge,  # --pairs: the judge scores the responses
            judge_price=judge_price,
            pacing=pacing,
        )
        if control is not None:
            control.attach(engine)
        # Locking the folder and replaying a long journal take a while: off the loop too.
        await asyncio.to_thread(job.state.open, resume=job.resume)
        try:
            await asyncio.to_thread(engine.restore)
            engine.stats.batch = batch_counts(teacher)  # not None: the live view says batches
            await engine.run()
            engine.stats.batch = batch_counts(teacher)
            pair_run = await collect_pairs(job, engine, teacher, judge, cache, price, judge_price)
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
    # Splitting and writing the outputs blocks too: off the loop, so other tasks keep running.
    return await asyncio.to_thread(_write_outputs, job, engine, pair_run, started)


def _refuse(job: Job) -> None:
    """ConfigError before anything is sent or written: --max-cost without a price for the
    model, --pairs on seeds with tools."""
    from synthgen.run.pairs import check_pairs_job
    from synthgen.teacher.pricing import estimate_cost

    s = job.settings
    if s.max_cost is not None and estimate_cost(s.model, 1000, 1000) is None:
        from synthgen.settings.naming import setting

        raise ConfigError(
            f"{setting('max_cost')} needs a known price, and {s.model!r} has none in "
            "litellm's table"
        )
    check_pairs_job(job)


def _write_outputs(job: Job, engine: Engine, pair_run: PairRun | None, started: float) -> Result:
    if pair_run is not None:
        from synthgen.run.pair_output import write_pair_outputs

        return write_pair_outputs(job, engine, pair_run, started=started)
    from synthgen.run.output import write_outputs

    return write_outputs(job, engine, started=started)


def _import_engine(settings: Settings) -> None:
    import synthgen.run.engine
    import synthgen.run.output
    import synthgen.run.wiring
    import synthgen.teacher.cache
    import synthgen.teacher.pricing

    if not settings.demo and settings.transport == "aiohttp":
        import synthgen.teacher.http  # noqa: F401


def _discard(state: RunState) -> None:
    """A run that failed before its first reply leaves no state behind, so the corrected
    command is not refused as 'a different job' (unless the job had written files before)."""
    state.discard()
