"""The run's teacher and judge, opened from its settings and closed after it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

from synthgen.run.sizing import JUDGE_MAX_TOKENS
from synthgen.settings import DEMO_MODEL, Settings
from synthgen.teacher import Teacher

if TYPE_CHECKING:
    from synthgen.prompts.judge import Judge

__all__ = ["open_judge", "open_teacher"]


@contextlib.asynccontextmanager
async def _teacher(
    settings: Settings, model: str, base_url: str | None, api_key: str | None = None
) -> AsyncIterator[Teacher]:
    teacher: Teacher
    if model == DEMO_MODEL:
        # The bundled placeholder teacher, in process: it sends nothing anywhere.
        from synthgen.teacher.demo import demo_teacher

        teacher = demo_teacher(seed=settings.seed)
    else:
        from synthgen.teacher import make_teacher

        teacher = make_teacher(
            model,
            base_url=base_url,
            timeout=settings.timeout,
            max_connections=settings.concurrency,
            transport=settings.transport,
            max_reply_bytes=settings.max_reply_bytes,
            api_key=api_key,
        )
    try:
        yield teacher
    finally:
        await teacher.aclose()


@contextlib.asynccontextmanager
async def open_teacher(
    settings: Settings, api_key: str | None = None, *, state_dir: Path | None = None
) -> AsyncIterator[Teacher]:
    """The run's teacher; for ``--model demo``, the bundled placeholder teacher, in process.
    ``api_key``: the key for this run instead of the environment's (a service job's); with
    --batch, the provider's batch API, its batches recorded in ``state_dir``."""
    if settings.batch and state_dir is not None:
        from synthgen.teacher.batch import batch_teacher

        batched = batch_teacher(
            settings.model,
            state_dir=state_dir,
            base_url=settings.base_url,
            api_key=api_key,
            poll=settings.batch_poll,
            timeout=settings.timeout,
        )
        try:
            yield batched
        finally:
            await batched.aclose()
        return
    async with _teacher(settings, settings.model, settings.base_url, api_key) as teacher:
        yield teacher


@contextlib.asynccontextmanager
async def open_judge(settings: Settings, teacher: Teacher) -> AsyncIterator[Judge | None]:
    """The LLM judge of --judge MODEL: the teacher itself when MODEL is the teacher's model,
    else its own backend on --judge-base-url when given, else on the teacher's endpoint
    (keys from the same environment variables; ``demo``: the bundled teacher, which
    answers a judge's request with a score). A verdict is short: its replies are capped at
    JUDGE_MAX_TOKENS."""
    from synthgen.prompts.judge import Judge

    if not settings.judge:
        yield None
    elif settings.judge == settings.model and not settings.judge_base_url:
        yield Judge(teacher, min_score=settings.min_score, max_tokens=JUDGE_MAX_TOKENS)
    else:
        url = settings.judge_base_url or settings.base_url
        async with _teacher(settings, settings.judge, url) as own:
            yield Judge(own, min_score=settings.min_score, max_tokens=JUDGE_MAX_TOKENS)
