"""What each request asks for: its category, its strategy (template), the seeds it shows and
the attribute combination it is conditioned on.

A request's content is a pure function of (run seed, ordinal), never of timing: that is what
lets a re-run be served from the cache and a resumed run continue where it stopped.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from synthgen.data.example import Example
from synthgen.errors import ConfigError
from synthgen.prompts.attributes import Attributes, Combinations
from synthgen.settings.naming import setting

log = logging.getLogger("synthgen")


@dataclass(frozen=True)
class Strategy:
    """One template of a mix, as the planner needs it."""

    name: str
    weight: int = 1
    shots: int = 5
    attributes: Attributes = field(default_factory=dict)


@dataclass(frozen=True)
class RequestPlan:
    ordinal: int
    category: str | None
    shots: tuple[int, ...]  # indices into the seed list
    strategy: int = 0  # index into the mix
    attributes: dict[str, Any] = field(default_factory=dict)


def quotas(categories: Sequence[str | None], n: int) -> dict[str | None, int]:
    """Equal shares of n (the first categories, in sorted order, take the remainder)."""
    cats = list(categories)
    base, extra = divmod(n, len(cats))
    return {c: base + (1 if i < extra else 0) for i, c in enumerate(cats)}


def shard_request(
    ordinal: int, *, categories: int, cycle: int, shard: tuple[int, int] | None
) -> int:
    """The job's request number of request ``ordinal`` of ``shard`` (index, count; None:
    the whole job, numbers unchanged). A round is one request per category; shard ``i``
    takes the job's rounds in blocks of ``cycle`` (one turn of the template mix), its block
    ``b`` being the job's block ``b * count + i``. Shards never share a request number (so
    never a prompt or a cache key), and each sees every category and template in turn."""
    if shard is None:
        return ordinal
    index, count = shard
    round_, category = divmod(ordinal, categories)
    block, within = divmod(round_, cycle)
    return ((block * count + index) * cycle + within) * categories + category


def weighted_cycle(weights: Sequence[int]) -> list[int]:
    """Smooth weighted round-robin: weights (3, 1) give 0 0 1 0, not 0 0 0 1."""
    current = [0] * len(weights)
    total = sum(weights)
    order = []
    for _ in range(total):
        current = [c + w for c, w in zip(current, weights, strict=True)]
        best = max(range(len(weights)), key=lambda i: current[i])
        current[best] -= total
        order.append(best)
    return order


class Planner:
    """Round-robin over categories; within one, the strategies in weighted rotation and a
    seeded rotation through the category's seeds, so every seed is shown about equally
    often and no seed dominates the output."""

    def __init__(
        self,
        seeds: Sequence[Example],
        *,
        shots: int = 5,
        seed: int = 0,
        balance_by: str | None = None,
        strategies: Sequence[Strategy] | None = None,
        shard: tuple[int, int] | None = None,
    ) -> None:
        """``shard`` (index, count): plan that shard's requests only (:func:`shard_request`);
        their ordinals stay 0, 1, 2, ... for the engine and the journal."""
        self.shard = shard
        groups: dict[str | None, list[int]] = {}
        for i, ex in enumerate(seeds):
            key = None
            if balance_by is not None:
                if balance_by not in ex.metadata:
                    raise ConfigError(
                        f"seed {i + 1} has no {balance_by!r} field for {setting('balance_by')}"
                    )
                key = str(ex.metadata[balance_by])
            groups.setdefault(key, []).append(i)
        self.categories: list[str | None] = sorted(groups, key=lambda c: "" if c is None else c)
        self._groups = groups
        self._seed = seed
        self.strategies = list(strategies or [Strategy("default", 1, shots)])
        self._cycle = weighted_cycle([s.weight for s in self.strategies])
        self._combos = [Combinations(s.attributes, f"{seed}:{s.name}") for s in self.strategies]
        for s, combos in zip(self.strategies, self._combos, strict=True):
            note = combos.coverage_note(f"template {s.name!r}")  # more than a run could cover
            if note is not None:
                log.warning(note)
        self._passes: dict[str | None, dict[int, tuple[int, ...]]] = {}
        self.shots = max(s.shots for s in self.strategies)

    def _pass(self, category: str | None, number: int) -> tuple[int, ...]:
        """The seeds of one category in the order of its ``number``-th pass: every pass is
        a fresh shuffle, so requests see new combinations of seeds, not a fixed cycle."""
        passes = self._passes.setdefault(category, {})
        if number in passes:
            return passes[number]
        # Passes are computed in order from 0, so every pass below the highest one exists.
        start = max(passes) if passes else -1
        for m in range(start + 1, number + 1):  # each pass depends on the one before
            order = list(self._groups[category])
            random.Random(f"{self._seed}:{category}:{m}").shuffle(order)
            if m > 0:
                # A request can straddle two passes, ending the previous one with up to
                # take - 1 seeds. Those move to the end of this pass in the order they had
                # there, so the k-th from last comes no earlier than position take - k: in
                # no request with it, however few seeds the category has.
                take = min(self.shots, len(order))
                tail = passes[m - 1][len(order) - take + 1 :]
                order = [x for x in order if x not in tail] + list(tail)
            passes[m] = tuple(order)
        return passes[number]

    def request_number(self, ordinal: int) -> int:
        """The job's number of request ``ordinal`` (itself, unless sharded)."""
        return shard_request(
            ordinal, categories=len(self.categories), cycle=len(self._cycle), shard=self.shard
        )

    def plan(self, ordinal: int) -> RequestPlan:
        k = len(self.categories)
        category = self.categories[ordinal % k]
        j = self.request_number(ordinal) // k  # this request's number within its category
        size = len(self._groups[category])
        rounds, offset = divmod(j, len(self._cycle))
        strategy = self._cycle[offset]
        takes = [min(self.strategies[t].shots, size) for t in self._cycle]
        pos = rounds * sum(takes) + sum(takes[:offset])
        shots = tuple(
            self._pass(category, number)[off]
            for number, off in (divmod(pos + t, size) for t in range(takes[offset]))
        )
        # How many earlier requests of this category used the same strategy: the index of
        # this one's attribute combination, so combinations are covered before repeating.
        weight = self.strategies[strategy].weight
        uses = rounds * weight + self._cycle[:offset].count(strategy)
        return RequestPlan(
            ordinal=ordinal,
            category=category,
            shots=shots,
            strategy=strategy,
            attributes=self._combos[strategy].at(uses),
        )

    def attribute_notes(self, requests: int) -> list[str]:
        """What to tell the user about attribute coverage, for a run of at most ``requests``
        requests: one line per template whose combinations it cannot all use."""
        total = sum(s.weight for s in self.strategies)
        notes = []
        for s, combos in zip(self.strategies, self._combos, strict=True):
            share = -(-requests * s.weight // total)  # this template's requests, rounded up
            note = combos.coverage_note(f"template {s.name!r}", share) if s.attributes else None
            if note is not None:
                notes.append(note)
        return notes
