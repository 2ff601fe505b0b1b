"""Running a job from the terminal: a progress bar on stderr and a clean Ctrl-C."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from synthgen.run.control import RunControl
from synthgen.run.expand import Job, Result, prepare, run_job
from synthgen.run.stats import RunStats
from synthgen.settings import Settings


def run_with_progress(
    seeds: Path, settings: Settings, *, show: bool, notice: str | None = None
) -> Result:
    """Check everything, then (and only then) say ``notice`` and run."""
    job = prepare(seeds, settings)
    if notice:
        print(notice, file=sys.stderr, flush=True)
    return asyncio.run(_run(job, show=show))


async def _run(job: Job, *, show: bool) -> Result:
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    control = RunControl()

    def on_sigint() -> None:
        # The first Ctrl-C stops cleanly (state saved, resume hint printed); a second one,
        # or one before the engine started, cancels.
        if not control.interrupt() and main is not None:
            main.cancel()

    loop.add_signal_handler(signal.SIGINT, on_sigint)
    try:
        if not show:
            return await run_job(job, control=control)
        with _Bar(job.settings.n) as bar:
            return await run_job(job, on_progress=bar.update, control=control)
    except asyncio.CancelledError:
        raise KeyboardInterrupt from None
    finally:
        loop.remove_signal_handler(signal.SIGINT)


class _Bar:
    """accepted / n, with requests, rejections, rate and ETA; redrawn at most 10x a second."""

    def __init__(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn("[bold]accepted {task.completed}/{task.total}"),
            BarColumn(),
            TextColumn("{task.fields[info]}"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            refresh_per_second=10,
        )
        self.task = self.progress.add_task("expand", total=total, info="")

    def __enter__(self) -> _Bar:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def update(self, stats: RunStats) -> None:
        rate = stats.accepted / stats.elapsed if stats.elapsed > 0 else 0.0
        info = (
            f"requests {stats.requests} · rejected {stats.rejected_total} "
            f"· failed {stats.failed} · {rate:.1f}/s"
        )
        self.progress.update(self.task, completed=stats.accepted, info=info)
