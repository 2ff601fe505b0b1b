"""The engine's settings: what it is allowed to spend and how fast it may go."""

from __future__ import annotations

from dataclasses import dataclass, field

from synthgen.run.budgets import REPEATED_FAILURES
from synthgen.run.deadline import HEDGE_FLOOR
from synthgen.teacher.pacing import DEFAULT_PATIENCE, Backoff

__all__ = ["EngineConfig"]


@dataclass(frozen=True)
class EngineConfig:
    concurrency: int = 16
    max_requests: int | None = None  # requests sent to the teacher, across resumes
    max_cost: float | None = None
    timeout: float = 120.0
    backoff: Backoff = field(default_factory=Backoff)
    rpm: float | None = None
    tpm: float | None = None
    yield_window: int = 200
    min_yield: float = 0.05
    seed: int = 0
    lag: int | None = None  # requests may only run this far ahead of curation (frontier)
    per_request: float = 5.0  # conversations a request asks for (mean over the mix)
    repeated_failures: int = REPEATED_FAILURES  # identical failures in a row that stop it
    # After drain() (the first Ctrl-C, SIGTERM or SIGHUP), how long replies in flight (paid
    # for) may take to land in the cache before they are abandoned.
    drain_timeout: float = 30.0
    rate_limit_patience: float = DEFAULT_PATIENCE  # the longest 429 storm the run waits out
    hedge_floor: float = HEDGE_FLOOR  # the shortest deadline before a request is hedged
