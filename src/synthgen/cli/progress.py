"""Running a job from the terminal: progress on stderr (cli/live.py) and a clean Ctrl-C."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path
from typing import Literal

from synthgen.cli.live import Bar, Lines
from synthgen.run.control import RunControl
from synthgen.run.expand import Job, Result, prepare, run_job
from synthgen.settings import Settings

View = Literal["bar", "lines", "off"]


def run_with_progress(
    seeds: Path, settings: Settings, *, view: View = "off", notice: str | None = None
) -> Result:
    """Check everything, then (and only then) say ``notice`` and run, showing progress as
    ``view`` says: a bar (a terminal), plain lines (anywhere else) or nothing (-q)."""
    job = prepare(seeds, settings)
    if notice:
        print(notice, file=sys.stderr, flush=True)
    return asyncio.run(_run(job, view=view))


async def _run(job: Job, *, view: View) -> Result:
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    control = RunControl()

    def on_signal() -> None:
        # The first Ctrl-C (or SIGTERM, SIGHUP) stops cleanly: nothing more is sent, paid
        # replies in flight may land in the cache (bounded), state saved, resume hint
        # printed. A second one stops at once; a third, or one before the engine started,
        # cancels.
        if not (control.drain() or control.interrupt()) and main is not None:
            main.cancel()

    signals = [signal.SIGINT, signal.SIGTERM]
    hangup = getattr(signal, "SIGHUP", None)
    if hangup is not None and signal.getsignal(hangup) is not signal.SIG_IGN:
        signals.append(hangup)  # not under nohup, which asks to survive the hangup
    for signum in signals:
        loop.add_signal_handler(signum, on_signal)
    try:
        if view == "off":
            return await run_job(job, control=control)
        with Bar(job.settings) if view == "bar" else Lines(job.settings) as shown:
            return await run_job(job, on_progress=shown.update, control=control)
    except asyncio.CancelledError:
        raise KeyboardInterrupt from None
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)
