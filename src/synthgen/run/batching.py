"""What ``--batch`` changes in a run around its teacher (:mod:`synthgen.teacher.batch`):
the engine lets a whole round be in flight and never hedges or times out a request (a batch
takes hours), replies are priced at batch prices, and the report says what the batches did.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING

from synthgen.run.engine_config import EngineConfig
from synthgen.run.runner import Price

if TYPE_CHECKING:
    from synthgen.settings import Settings
    from synthgen.teacher import Teacher

__all__ = ["BATCH_IN_FLIGHT", "BATCH_WAIT", "batch_config", "batch_counts", "prices"]

# Requests in flight at most in batch mode (what is still needed caps it first): a batch
# holds up to 50,000 requests at OpenAI.
BATCH_IN_FLIGHT = 50_000
# How long a request may wait for its batch before it is hedged: never, in practice (the
# provider's window is 24 h; an expired batch comes back as failed lines, which are retried).
BATCH_WAIT = 7 * 24 * 3600.0


def batch_config(config: EngineConfig, n: int) -> EngineConfig:
    """``config`` for a batch run of ``n`` examples: a round as large as what is still
    needed, and no deadline, so no hedging. Requests started ahead of curation stay within
    what the job needs if every candidate were accepted (and within the frontier's lag, when
    it is on). Every line of a batch is paid for, so the first round is not padded for
    rejects the way live requests are: a short round is topped up by the next, sized from
    the yield seen. And a failed line holds curation until its retry's batch is back:
    meanwhile the counts say nothing is done, and without this bound each round would be
    bought again."""
    job_needs = math.ceil(n / max(config.per_request, 0.1)) + 1
    ahead = job_needs if config.lag is None else min(config.lag, job_needs)
    return dataclasses.replace(
        config,
        concurrency=BATCH_IN_FLIGHT,
        timeout=BATCH_WAIT,
        hedge_floor=BATCH_WAIT,
        lag=ahead,
    )


def prices(settings: Settings) -> tuple[Price, Price]:
    """The prices of the teacher's and the judge's replies: batch prices for what goes
    through the batch API (the judge does when it is the teacher itself), else live ones."""
    from synthgen.teacher.pricing import estimate_cost

    teacher_cost = estimate_cost
    if settings.batch:
        from synthgen.teacher.batch_pricing import estimate_batch_cost

        teacher_cost = estimate_batch_cost
    judge_model = settings.judge or settings.model
    same = judge_model == settings.model and not settings.judge_base_url
    judge_cost = teacher_cost if same else estimate_cost

    def teacher(pt: int, ct: int, cached: int) -> float | None:
        return teacher_cost(settings.model, pt, ct, cached)

    def judge(pt: int, ct: int, cached: int) -> float | None:
        return judge_cost(judge_model, pt, ct, cached)

    return teacher, judge


def batch_counts(teacher: Teacher) -> dict[str, int] | None:
    """For report.json's run section: the batches submitted and waited for, the polls, and
    the lines that failed (None when the teacher is not a batch teacher)."""
    from synthgen.teacher.batch import BatchTeacher

    return teacher.stats.section() if isinstance(teacher, BatchTeacher) else None
