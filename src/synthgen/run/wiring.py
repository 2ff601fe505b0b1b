"""From a prepared :class:`~synthgen.run.job.Job` to the parts of its engine: the engine's
configuration, a fresh curator, and the response cache key."""

from __future__ import annotations

from typing import TYPE_CHECKING

from synthgen.curate.curator import Curator
from synthgen.run.engine import EngineConfig
from synthgen.run.runner import CacheKey
from synthgen.teacher import ChatRequest, Teacher
from synthgen.teacher.pacing import Backoff

if TYPE_CHECKING:
    from synthgen.run.job import Job

__all__ = ["cache_key_for", "curator_for", "engine_config"]

DRAIN_TIMEOUT = 30.0  # the most a graceful stop waits for replies in flight


def engine_config(job: Job) -> EngineConfig:
    s = job.settings
    return EngineConfig(
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
        drain_timeout=min(s.timeout, DRAIN_TIMEOUT),
    )


def curator_for(job: Job) -> Curator:
    """A fresh curator for ``job``: its seeds, filters, quotas and dedup threshold."""
    from synthgen.curate.filters import QualityFilter
    from synthgen.text.index import DedupIndex

    s = job.settings
    return Curator(
        system=job.seeds.system,
        quality=QualityFilter.from_seeds(job.seeds.examples),
        index=DedupIndex(threshold=s.dedup_threshold),
        quotas=job.quotas,
        balance_by=s.balance_by,
        seeds=job.seeds.examples,
        checks=job.checks,
        min_score=s.min_score if s.judge else 0,
        asked=lambda plan: job.per_request(job.template(plan)),
    )


def cache_key_for(seed: int) -> CacheKey:
    """The response cache key of a request: everything that determines its reply (the
    teacher's endpoint and model, the request, its ordinal and the run's seed), no secret."""
    from synthgen.teacher.cache import cache_key

    def key(teacher: Teacher, request: ChatRequest, ordinal: int) -> str:
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
                "seed": seed,
            }
        )

    return key
