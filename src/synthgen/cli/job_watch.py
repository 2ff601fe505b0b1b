"""``synthgen jobs watch``: a server job's event stream, shown with expand's own live view
(cli/live.py): the stream's counts become the RunStats the view reads."""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter
from typing import TYPE_CHECKING

import typer

from synthgen.cli.live import Bar, Lines
from synthgen.run.stats import RunStats
from synthgen.service.client import AsyncClient
from synthgen.settings import Settings

if TYPE_CHECKING:
    from synthgen.service.api_models import JobView


def watch(server: str, job_id: str, *, quiet: bool = False) -> JobView:
    """Follow the job until it ends, showing its progress on stderr (a bar on a terminal,
    plain lines elsewhere, nothing with ``quiet``); then one line on how it ended."""
    view = "off" if quiet else "bar" if sys.stderr.isatty() else "lines"
    try:
        final = asyncio.run(_follow(server, job_id, view))
    except KeyboardInterrupt:
        typer.echo(
            f"synthgen: stopped watching job {job_id}; it goes on "
            f"(synthgen jobs watch {job_id}, or synthgen jobs cancel {job_id})",
            err=True,
        )
        raise typer.Exit(130) from None
    typer.echo(outcome(final), err=True)
    return final


def outcome(view: JobView) -> str:
    n = view.progress.n or view.settings.get("n", "?")
    line = f"synthgen: job {view.id} {view.state}: accepted {view.progress.accepted}/{n}"
    if view.error:
        line += f": {view.error}"
    elif view.state == "succeeded":
        line += f"; fetch it with: synthgen jobs download {view.id} -o OUT"
    return line


async def _follow(server: str, job_id: str, view: str) -> JobView:
    async with AsyncClient(server) as client:
        job = await client.job(job_id)
        if view == "off":
            return await job.wait(check=False)
        n = job.view.progress.n or int(job.view.settings.get("n") or 0)
        settings = Settings.model_construct(n=n, tpm=job.view.settings.get("tpm"))
        shown = Bar(settings) if view == "bar" else Lines(settings)
        with shown:
            async for seen in job.events():
                if seen.started_at is not None:
                    started = _monotonic(seen.started_at)
                    shown.since = started
                    if seen.progress.requests or seen.progress.accepted:
                        shown.update(stats_of(seen, started))
        return job.view


def stats_of(view: JobView, started: float) -> RunStats:
    """The live view's counters from the job's progress; ``started``: when the job started,
    on this process's monotonic clock (the rate and ETA are counted from it)."""
    p = view.progress
    return RunStats(
        requests=p.requests,
        accepted=p.accepted,
        rejected=Counter(p.rejected),
        per_category=Counter(p.per_category),
        prompt_tokens=p.prompt_tokens,
        completion_tokens=p.completion_tokens,
        cost_usd=p.cost_usd,
        live_retries=p.retries,
        started=started,
        resumed_at=started,
    )


def _monotonic(wall: float) -> float:
    """A wall-clock time (the server's) on this process's monotonic clock."""
    return time.monotonic() - max(0.0, time.time() - wall)
