"""A running job's live view: its counters as the API shows them, and the signal that wakes
the event streams when any job moves."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from synthgen.run.control import RunControl

if TYPE_CHECKING:
    from synthgen.run.stats import RunStats

__all__ = ["LiveJob", "Signal", "progress_of"]


class Signal:
    """Something changed: every waiter wakes (a fresh event per round, so none is missed)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float) -> None:
        event = self._event
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)


# How often a running job's counts are copied for the API: the copy is made on the jobs'
# loop, where the engine changes them, and only read on the API's.
SNAPSHOT_SECONDS = 0.1


@dataclass
class LiveJob:
    """A job this process is running."""

    id: str
    n: int = 0
    control: RunControl = field(default_factory=RunControl)
    task: asyncio.Task[None] | None = None  # on the API's loop
    snapshot: dict[str, Any] | None = None  # the latest Progress
    baseline: dict[str, Any] | None = None  # what the journal replayed, as a Progress
    cancel_requested: bool = False
    dirty: bool = False
    # What the metrics have counted of this job so far (requests, tokens, cost, retries).
    counted: dict[str, float] | None = None
    _stats: RunStats | None = None
    _taken: float = 0.0

    def update(self, stats: RunStats) -> None:
        """The engine's progress callback (on the jobs' loop)."""
        self._stats = stats
        if time.monotonic() - self._taken >= SNAPSHOT_SECONDS:
            self.refresh()

    def refresh(self) -> None:
        """Copy the counts now (on the jobs' loop)."""
        stats = self._stats
        if stats is None:
            return
        if self.baseline is None:
            replayed = stats.replayed
            self.baseline = progress_of(replayed, self.n) if replayed is not None else {}
        self.snapshot = progress_of(stats, self.n)
        self._taken = time.monotonic()
        self.dirty = True

    def progress(self) -> dict[str, Any]:
        return self.snapshot or {"n": self.n}


def progress_of(stats: RunStats | None, n: int) -> dict[str, Any]:
    """The API's Progress of a job's counters; rate and ETA from this run's own work (what
    the journal replayed after a restart came for free)."""
    if stats is None:
        return {"n": n}
    replayed = stats.replayed
    elapsed = time.monotonic() - stats.resumed_at
    fresh = stats.accepted - (replayed.accepted if replayed else 0)
    rate = fresh / elapsed if elapsed > 0 and fresh > 0 else 0.0
    left = max(0, n - stats.accepted)
    retries = max(stats.retries, (replayed.retries if replayed else 0) + stats.live_retries)
    return {
        "n": n,
        "requests": stats.requests,
        "accepted": stats.accepted,
        "rejected": dict(stats.rejected),
        "per_category": {str(k): v for k, v in stats.per_category.items()},
        "prompt_tokens": stats.prompt_tokens,
        "completion_tokens": stats.completion_tokens,
        "cost_usd": round(stats.cost_usd, 6),
        "rate_per_s": round(rate, 3),
        "eta_s": round(left / rate, 1) if rate > 0 else (0.0 if left == 0 else None),
        "retries": retries,
    }
