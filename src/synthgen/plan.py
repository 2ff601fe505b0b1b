"""What each request asks for: its category and the seeds it shows the teacher.

A request's content is a pure function of (run seed, ordinal), never of timing: that is what
lets a re-run be served from the cache and a resumed run continue where it stopped.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from .errors import ConfigError
from .models import Example


@dataclass(frozen=True)
class RequestPlan:
    ordinal: int
    category: str | None
    shots: tuple[int, ...]  # indices into the seed list


def quotas(categories: Sequence[str | None], n: int) -> dict[str | None, int]:
    """Equal shares of n (the first categories, in sorted order, take the remainder)."""
    cats = list(categories)
    base, extra = divmod(n, len(cats))
    return {c: base + (1 if i < extra else 0) for i, c in enumerate(cats)}


class Planner:
    """Round-robin over categories; within one, a seeded rotation through its seeds so that
    every seed is shown about equally often and no seed dominates the output."""

    def __init__(
        self,
        seeds: Sequence[Example],
        *,
        shots: int,
        seed: int,
        balance_by: str | None = None,
    ) -> None:
        groups: dict[str | None, list[int]] = {}
        for i, ex in enumerate(seeds):
            key = None
            if balance_by is not None:
                if balance_by not in ex.metadata:
                    raise ConfigError(f"seed {i + 1} has no {balance_by!r} field for --balance-by")
                key = str(ex.metadata[balance_by])
            groups.setdefault(key, []).append(i)
        self.categories: list[str | None] = sorted(groups, key=lambda c: "" if c is None else c)
        self._groups = groups
        self._seed = seed
        self.shots = shots
        self._passes: dict[str | None, dict[int, tuple[int, ...]]] = {}

    def _pass(self, category: str | None, number: int) -> tuple[int, ...]:
        """The seeds of one category in the order of its ``number``-th pass: every pass is
        a fresh shuffle, so requests see new combinations of seeds, not a fixed cycle."""
        passes = self._passes.setdefault(category, {})
        if number in passes:
            return passes[number]
        start = max((m for m in passes if m < number), default=-1)
        for m in range(start + 1, number + 1):  # each pass depends on the one before
            order = list(self._groups[category])
            random.Random(f"{self._seed}:{category}:{m}").shuffle(order)
            if m > 0:
                # A request can straddle two passes: the seeds that closed the previous
                # pass move to the end of this one, so no request shows a seed twice.
                take = min(self.shots, len(order))
                tail = set(passes[m - 1][len(order) - take + 1 :])
                order = [x for x in order if x not in tail] + [x for x in order if x in tail]
            passes[m] = tuple(order)
        return passes[number]

    def plan(self, ordinal: int) -> RequestPlan:
        k = len(self.categories)
        category = self.categories[ordinal % k]
        size = len(self._groups[category])
        take = min(self.shots, size)
        pos = (ordinal // k) * take
        shots = tuple(
            self._pass(category, number)[offset]
            for number, offset in (divmod(pos + t, size) for t in range(take))
        )
        return RequestPlan(ordinal=ordinal, category=category, shots=shots)
