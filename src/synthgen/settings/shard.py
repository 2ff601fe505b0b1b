"""The ``--shard I/N`` setting: one share of a job run on its own (one machine of N), read and
checked, and the share of ``n`` and of each category's quota it gets.

Shares are fixed by ``n``, the quotas and ``N`` alone, so every shard, the live view and
``synthgen merge`` agree on them without talking to each other: per category the quota is
split as evenly as it divides, and the remainders go round the shards in turn, carried from
one category to the next, so shard ``i`` gets ``n // N`` examples, plus one when
``i < n % N``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TypeVar

from synthgen.errors import ConfigError

__all__ = ["parse_shard", "run_size", "shard_quotas", "shard_size"]

K = TypeVar("K")

_FORM = re.compile(r"(\d+)/(\d+)")


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/N"`` as ``(i, N)``: shard ``i`` (counted from 0) of ``N``; ConfigError naming the
    setting (``--shard`` on the command line) otherwise."""
    from synthgen.settings.naming import setting

    match = _FORM.fullmatch(text.strip())
    if match is None:
        raise ConfigError(
            f"{setting('shard', text)}: must be I/N, shard I (counted from 0) of N, e.g. 0/4"
        )
    index, count = int(match[1]), int(match[2])
    if count < 1:
        raise ConfigError(f"{setting('shard', text)}: the number of shards N must be at least 1")
    if index >= count:
        raise ConfigError(
            f"{setting('shard', text)}: shards are counted from 0, so I must be below N "
            f"(0/{count} to {count - 1}/{count})"
        )
    return index, count


def shard_quotas(quotas: Mapping[K, int], index: int, count: int) -> dict[K, int]:
    """Shard ``index`` of ``count``'s share of each quota (in the mapping's order); over the
    shards each category's shares sum to its quota."""
    out: dict[K, int] = {}
    start = 0  # the shard the next category's first remainder goes to
    for key, quota in quotas.items():
        base, extra = divmod(quota, count)
        out[key] = base + (1 if (index - start) % count < extra else 0)
        start = (start + extra) % count
    return out


def shard_size(n: int, index: int, count: int) -> int:
    """How many examples shard ``index`` of ``count`` makes of a job's ``n``: the sum of its
    :func:`shard_quotas`, whatever the categories."""
    return n // count + (1 if index < n % count else 0)


def run_size(n: int, shard: str | None) -> int:
    """How many examples a run of a job of ``n`` makes: ``n``, or its ``shard``'s share."""
    return n if shard is None else shard_size(n, *parse_shard(shard))
