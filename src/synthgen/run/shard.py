"""A job run as shards (``--shard I/N``, one process or machine each): what a shard's run
changes, and the job the shards share.

A shard is a run of its own, into an output folder of its own, with its own journal: it makes
its share of ``n`` and of each category's quota (:mod:`synthgen.settings.shard`), and plans
only its own requests (:func:`synthgen.prompts.plan.shard_request`), so no two shards send
the same prompt. Its job (job.json) is the shared job plus ``"shard"``: the folder of one
shard never resumes as another's, while every shard names the same job without it. That
shared job's id names the dedup index in Redis, so the shards of a job dedup against each
other's examples; ``synthgen merge`` (run.merge) joins their folders into one dataset.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from synthgen.errors import ConfigError
from synthgen.run.hints import warn
from synthgen.run.journal import fingerprint
from synthgen.settings import Settings
from synthgen.settings.naming import setting
from synthgen.settings.shard import parse_shard, run_size, shard_quotas
from synthgen.settings.workers import SHARED_INDEX_SCHEMES

__all__ = [
    "check_shard",
    "merged_job",
    "run_quotas",
    "shard_of",
    "shared_job",
    "shared_job_id",
    "target",
]

SHARD_KEY = "shard"  # the key job.json has for a shard's job, and only then


def shard_of(settings: Settings) -> tuple[int, int] | None:
    """(index, count) of a shard's run; None for a whole job."""
    return None if settings.shard is None else parse_shard(settings.shard)


def target(settings: Settings) -> int:
    """How many examples this run makes: ``n``, or a shard's share of it."""
    return run_size(settings.n, settings.shard)


def run_quotas(quotas: dict[str | None, int], settings: Settings) -> dict[str | None, int]:
    """The per-category quotas of this run: the job's, or a shard's share of each."""
    shard = shard_of(settings)
    return quotas if shard is None else shard_quotas(quotas, *shard)


def check_shard(settings: Settings, warnings: list[str]) -> None:
    """ConfigError for a job with more shards than examples; a warning for a shard whose
    dedup index is its own (shards would write near-duplicates of each other's examples)."""
    shard = shard_of(settings)
    if shard is None:
        return
    count = shard[1]
    if settings.n < count:
        raise ConfigError(
            f"{setting('shard', settings.shard)}: {count} shards of {setting('n', settings.n)} "
            f"would leave {count - settings.n} of them nothing to make; use at most "
            f"{settings.n} shards"
        )
    if not (settings.dedup_index or "").startswith(SHARED_INDEX_SCHEMES):
        warn(
            warnings,
            # The same line from every shard: the merged report says it once.
            f"{setting('shard')} without a shared {setting('dedup_index')}: each shard "
            "dedups against its own examples only, so "
            "shards can write near-duplicates of each other; `synthgen merge` drops those and "
            f"comes up short of n: give every shard the same "
            f"{setting('dedup_index', 'redis://HOST:PORT/DB')}",
        )


def shared_job(job: Mapping[str, Any]) -> dict[str, Any]:
    """What the N shards of a job share: ``job`` with ``"shards": N`` for its shard (a whole
    job: ``job`` itself). The count is in it, so that neither the whole job nor its run as
    another number of shards (other shares, other request numbers) shares their index."""
    shard = job.get(SHARD_KEY)
    if not isinstance(shard, str):
        return dict(job)
    shared = {k: v for k, v in job.items() if k != SHARD_KEY}
    shared["shards"] = parse_shard(shard)[1]
    return shared


def merged_job(job: Mapping[str, Any]) -> dict[str, Any]:
    """The job of the folder the shards of ``job`` (a shard's, or what they share) are merged
    into: ``synthgen merge`` writes it, and the Ray driver claims OUT as it before the shards
    run, so that the merge that follows is that folder's own job."""
    return {**shared_job(job), "merged": True}


def shared_job_id(job: Mapping[str, Any]) -> str:
    """The id of what the shards share (a whole job's own id): it names their dedup index."""
    return fingerprint(shared_job(job))
