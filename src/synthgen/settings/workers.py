"""The settings of a run spread over workers (``--workers``, ``--engine``, ``--ray-address``)
and the combinations refused before anything starts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from synthgen.errors import ConfigError
from synthgen.settings.naming import setting

if TYPE_CHECKING:
    from synthgen.settings.model import Settings

__all__ = ["SHARED_INDEX_SCHEMES", "Executor", "check_workers"]

Executor = Literal["local", "ray"]

# Dedup indexes that workers on other processes (and machines) all see.
SHARED_INDEX_SCHEMES = ("redis://", "rediss://", "unix://")
REDIS = "redis://HOST:PORT/DB"


def check_workers(s: Settings) -> None:
    """ConfigError, naming the flags, for a worker setup that would make a wrong dataset or
    that nothing runs."""
    shard = getattr(s, "shard", None)  # the one share of a job a run makes
    if shard is not None and (s.workers > 1 or s.executor == "ray"):
        raise ConfigError(
            f"{setting('shard')} runs one share of a job, and {setting('workers')} runs "
            f"all of them, one shard per worker: give one of the two"
        )
    if s.workers > 1 and s.executor != "ray":
        raise ConfigError(
            f"{setting('workers', s.workers)} runs its shards as Ray tasks: add "
            f"{setting('executor', 'ray')} (and {setting('dedup_index', REDIS)})"
        )
    if s.executor == "ray" and not (s.dedup_index or "").startswith(SHARED_INDEX_SCHEMES):
        raise ConfigError(
            f"{setting('executor', 'ray')} needs {setting('dedup_index', REDIS)}: with an "
            "index of their own, workers would each accept "
            "near-duplicates of the others' examples"
        )
    if s.ray_address is not None and s.executor != "ray":
        raise ConfigError(
            f"{setting('ray_address')} is the Ray cluster of {setting('executor', 'ray')}: "
            f"add {setting('executor', 'ray')}, or drop {setting('ray_address')}"
        )
