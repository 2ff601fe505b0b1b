"""What a running job shows on stderr: a progress bar on a terminal, a plain line every few
seconds anywhere else (nohup, CI, a notebook's ``!synthgen``), where a bar would print
nothing readable.

Both read the same figures (:func:`figures`): accepted / n, the rate with its unit and the
ETA, counted over this run only (a resumed run starts with the journal's examples, which took
no time now), cost so far and projected for n, tokens per minute against ``--tpm``, retries
and 429s as they happen, and the concurrency in use, with why it is below ``--concurrency``.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from synthgen.run.stats import RunStats

if TYPE_CHECKING:
    from synthgen.settings import Settings

__all__ = ["Bar", "Lines", "figures", "line_interval"]

# Seconds between two plain progress lines; SYNTHGEN_PROGRESS_EVERY changes it.
DEFAULT_INTERVAL = 5.0


def line_interval() -> float:
    try:
        value = float(os.environ.get("SYNTHGEN_PROGRESS_EVERY") or DEFAULT_INTERVAL)
    except ValueError:
        return DEFAULT_INTERVAL
    return value if value > 0 else DEFAULT_INTERVAL


@dataclass
class Figures:
    """What the view says, as text: ``head`` beside the bar, ``detail`` under it."""

    accepted: int
    head: list[str] = field(default_factory=list)
    detail: list[str] = field(default_factory=list)


def figures(
    stats: RunStats | None, *, n: int, tpm: float | None, since: float, now: float | None = None
) -> Figures:
    """The view of ``stats`` (None before the first reply was curated); ``since`` is when
    the view started, for the elapsed time before there are stats."""
    now = time.monotonic() if now is None else now
    if stats is None:
        return Figures(0, [f"elapsed {duration(now - since)}", "waiting for the first reply"])
    base = stats.replayed or RunStats(started=0.0, resumed_at=0.0)
    elapsed = max(now - stats.resumed_at, 1e-9)
    rate = (stats.accepted - base.accepted) / elapsed
    head = [rate_text(rate), f"elapsed {duration(now - since)}"]
    remaining = n - stats.accepted
    if remaining > 0:
        head.append(f"ETA {duration(remaining / rate)}" if rate > 0 else "ETA ?")
    if stats.replayed is not None:
        head.append(f"{base.accepted} resumed")
    if stats.waiting_since is not None:  # a 429 storm: one probe at a time until it ends
        head.append(f"rate limited, waiting {duration(now - stats.waiting_since)}")
    cached = stats.cache_hits - base.cache_hits
    detail = [
        f"requests {stats.requests - base.requests}"
        + (f" ({cached} from cache)" if cached else ""),
        f"rejected {stats.rejected_total - base.rejected_total}",
        f"failed {stats.failed - base.failed}",
        f"retries {stats.live_retries}",
    ]
    if stats.live_faults.get("rate_limit"):
        detail.append(f"429s {stats.live_faults['rate_limit']}")
    if stats.batch is not None:  # --batch: a round is what is still needed, not a limit
        detail.append("in batches")
    elif stats.concurrency:
        cut = stats.concurrency < stats.concurrency_max
        detail.append(
            f"rate limited: concurrency {stats.concurrency_max}→{stats.concurrency}"
            if cut
            else f"concurrency {stats.concurrency}"
        )
    if stats.cost_usd > 0:
        cost = f"${stats.cost_usd:.4f}"
        if stats.accepted and remaining > 0:
            cost += f" (≈ ${stats.cost_usd / stats.accepted * n:.4f} for {n})"
        detail.append(cost)
    tokens = stats.prompt_tokens + stats.completion_tokens
    per_minute = (tokens - base.prompt_tokens - base.completion_tokens) / elapsed * 60
    if tpm is not None:
        detail.append(f"{per_minute:,.0f} tokens/min of {tpm:,.0f}")
    elif per_minute > 0:
        detail.append(f"{per_minute:,.0f} tokens/min")
    return Figures(stats.accepted, head, detail)


def rate_text(per_second: float) -> str:
    """Examples per second, or per minute when under one a second."""
    if per_second >= 1:
        return f"{per_second:.1f} examples/s"
    return f"{per_second * 60:.1f} examples/min"


def duration(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


class _View:
    """Keeps the engine's stats object (always current: the engine updates it in place) and
    redraws every ``interval`` seconds on the event loop, so the clock moves between replies
    and nothing reads the counters from another thread."""

    interval = 1.0

    def __init__(self, settings: Settings) -> None:
        from synthgen.settings.shard import run_size

        self.n = run_size(settings.n, settings.shard)  # a shard makes its share of n
        self.tpm = settings.tpm
        self.since = time.monotonic()
        self.stats: RunStats | None = None
        self._timer: asyncio.TimerHandle | None = None

    def figures(self) -> Figures:
        return figures(self.stats, n=self.n, tpm=self.tpm, since=self.since)

    def update(self, stats: RunStats) -> None:
        self.stats = stats

    def start(self) -> None:
        self._timer = asyncio.get_running_loop().call_later(self.interval, self._tick)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def _tick(self) -> None:
        self.draw()
        self._timer = asyncio.get_running_loop().call_later(self.interval, self._tick)

    def draw(self) -> None:
        raise NotImplementedError


class Lines(_View):
    """A plain line on stderr every ``interval`` seconds, and one at the end."""

    def __init__(self, settings: Settings, interval: float | None = None) -> None:
        super().__init__(settings)
        self.interval = line_interval() if interval is None else interval

    def __enter__(self) -> Lines:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        if self.stats is not None:  # else nothing was curated: the summary says why
            self.draw()

    def draw(self) -> None:
        f = self.figures()
        text = " · ".join([f"accepted {f.accepted}/{self.n}", *f.head, *f.detail])
        print(f"synthgen: {text}", file=sys.stderr, flush=True)


class Bar(_View):
    """accepted / n with a bar and the head figures, the detail on a line under it."""

    interval = 0.5

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn
        from rich.text import Text

        self.detail = ""
        view = self

        class _Progress(Progress):
            def get_renderables(self) -> Any:
                yield self.make_tasks_table(self.tasks)
                if view.detail:
                    yield Text(view.detail)

        self.progress = _Progress(
            TextColumn("[bold]accepted {task.completed}/{task.total}"),
            BarColumn(),
            TextColumn("{task.fields[head]}", markup=False),
            console=Console(stderr=True, highlight=False),
            refresh_per_second=10,
        )
        self.task = self.progress.add_task("expand", total=self.n, head="")

    def __enter__(self) -> Bar:
        self.progress.start()
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.draw()
        self.progress.stop()

    def update(self, stats: RunStats) -> None:
        super().update(stats)
        self.draw()

    def draw(self) -> None:
        f = self.figures()
        self.detail = " · ".join(f.detail)
        self.progress.update(self.task, completed=f.accepted, head=" · ".join(f.head))
