"""From a prepared :class:`~synthgen.run.job.Job` to the parts of its engine: the engine's
configuration, a fresh curator, and the response cache key."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from synthgen.curate.curator import Curator
from synthgen.run.engine import EngineConfig
from synthgen.run.runner import CacheKey
from synthgen.teacher import ChatRequest, Teacher
from synthgen.teacher.pacing import Backoff

if TYPE_CHECKING:
    from synthgen.run.job import Job
    from synthgen.text.index import Index
    from synthgen.text.semantic import SemanticIndex

__all__ = [
    "cache_key_for",
    "curator_for",
    "dedup_index_for",
    "engine_config",
    "semantic_index_for",
]

DRAIN_TIMEOUT = 30.0  # the most a graceful stop waits for replies in flight


def engine_config(job: Job) -> EngineConfig:
    s = job.settings
    config = EngineConfig(
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
        rate_limit_patience=s.rate_limit_patience,
    )
    if s.batch:
        from synthgen.run.batching import batch_config

        return batch_config(config, s.n)
    return config


def curator_for(job: Job) -> Curator:
    """A fresh curator for ``job``: its seeds, filters, quotas and dedup threshold."""
    from synthgen.curate.filters import QualityFilter

    s = job.settings
    return Curator(
        system=job.seeds.system,
        quality=QualityFilter.from_seeds(job.seeds.examples),
        index=dedup_index_for(job),
        quotas=job.quotas,
        balance_by=s.balance_by,
        seeds=job.seeds.examples,
        checks=job.checks,
        min_score=s.min_score if s.judge else 0,
        asked=lambda plan: job.per_request(job.template(plan)),
        keep_reasoning=s.reasoning == "keep",
        semantic=semantic_index_for(job),
    )


def semantic_index_for(job: Job) -> SemanticIndex | None:
    """The embedding index of ``--semantic-dedup`` (the model loaded, once per process), or
    None without the flag."""
    threshold = job.settings.semantic_dedup
    if threshold is None:
        return None
    from synthgen.settings.naming import setting
    from synthgen.text.encoder import load_encoder
    from synthgen.text.semantic import SemanticIndex

    return SemanticIndex(threshold, load_encoder(setting("semantic_dedup")))


def dedup_index_for(job: Job) -> Index:
    """The in-memory index, or the shared one of ``--dedup-index``: under the job's own key
    prefix (its fingerprint) unless the URL names one. ConfigError, before anything is
    written, when that index cannot be used."""
    s = job.settings
    if s.dedup_index is None:
        from synthgen.text.index import DedupIndex

        return DedupIndex(threshold=s.dedup_threshold)
    from synthgen.run.shard import shared_job_id
    from synthgen.settings.naming import setting
    from synthgen.text.redis_index import open_redis_index

    job_id = job.state.job_id
    # The shards of a job share its prefix (their keys stay apart under their owners).
    return open_redis_index(
        s.dedup_index,
        prefix=f"synthgen:{shared_job_id(job.state.job)[:16]}",
        owner=job_id[:12],
        threshold=s.dedup_threshold,
        name=setting("dedup_index"),
    )


def cache_key_for(seed: int, number: Callable[[int], int] | None = None) -> CacheKey:
    """The response cache key of a request: everything that determines its reply (the
    teacher's endpoint and model, the request, its ordinal and the run's seed), no secret.
    ``number`` turns a shard's ordinals into the job's request numbers (Planner's
    ``request_number``), so two shards never share a key."""
    from synthgen.teacher.cache import cache_key

    def key(teacher: Teacher, request: ChatRequest, ordinal: int) -> str:
        if number is not None and ordinal >= 0:  # -1: a judge call, keyed without one
            ordinal = number(ordinal)
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
