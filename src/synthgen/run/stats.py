"""Counting what a run did, and what it cost."""

from __future__ import annotations

import copy
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from synthgen.run.spend import TokenUse


@dataclass
class HedgeStats:
    """Requests hedged past their adaptive deadline (run.hedge): duplicates sent, attempts
    abandoned unanswered, and the replies paid for but not curated (in ``cost_usd`` too)."""

    sent: int = 0
    abandoned: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0

    def count(self, sent: int, abandoned: int, pt: int, ct: int, cost: float) -> None:
        self.sent += sent
        self.abandoned += abandoned
        self.prompt_tokens += pt
        self.completion_tokens += ct
        self.cost_usd += cost

    def section(self) -> dict[str, Any]:
        """For report.json's requests (no key when nothing was hedged)."""
        if not (self.sent or self.abandoned or self.prompt_tokens):
            return {}
        return {
            "hedging": {
                "sent": self.sent,
                "abandoned": self.abandoned,
                "unused_tokens": {
                    "prompt": self.prompt_tokens,
                    "completion": self.completion_tokens,
                },
                "unused_cost_usd": round(self.cost_usd, 6),
            }
        }


@dataclass
class RunStats:
    """Live counters, updated by the engine and rebuilt from the journal on resume."""

    requests: int = 0  # ordinals processed (answered, from cache or failed)
    # Requests sent to the teacher, counted when sent (answered or not; a retry is not a new
    # one), across resumes: the send log (run.sendlog) keeps the count through kill -9.
    sent: int = 0
    cache_hits: int = 0
    retries: int = 0
    failed: int = 0
    replies: int = 0
    candidates: int = 0
    accepted: int = 0
    surplus: int = 0  # good candidates of a category that had filled up meanwhile
    judge_calls: int = 0  # judge requests sent (not from the cache)
    judge_tokens: int = 0
    judge_scores: Counter[str] = field(default_factory=Counter)
    judge_cost: float = 0.0  # of cost_usd
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0  # of prompt_tokens, served from the provider's prompt cache
    reasoning_tokens: int = 0  # of completion_tokens, spent on the teacher's reasoning
    cost_usd: float = 0.0
    token_use: TokenUse = field(default_factory=TokenUse)  # tokens by candidate outcome
    faults: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    per_category: Counter[str] = field(default_factory=Counter)
    hedge: HedgeStats = field(default_factory=HedgeStats)
    started: float = field(default_factory=time.monotonic)
    resumed_from: int = 0
    # What the journal replayed on resume: the counts earlier runs reached (None when
    # nothing was replayed), and when this run's own work began. The rest is this run's.
    replayed: RunStats | None = None
    resumed_at: float = field(default_factory=time.monotonic)
    # For the live view, not the report: the concurrency limit now (halved on a 429, grown
    # back) and its maximum, set before each progress call; this run's retries and faults
    # as they happen (the counts above move only when a request is curated).
    concurrency: int = 0
    concurrency_max: int = 0
    live_retries: int = 0
    live_faults: Counter[str] = field(default_factory=Counter)
    live_hedged: int = 0
    # This run's 429 storms (teacher.storm): paused now, pauses, seconds paused, and the
    # holds the rate-limit headers asked for; timings, so in the report's "run" section.
    waiting_since: float | None = None  # time.monotonic() the current pause began
    rate_limit_pauses: int = 0
    rate_limited_s: float = 0.0
    header_holds: int = 0
    # With --batch: what this run's batches did (teacher.batch.BatchStats.section()).
    batch: dict[str, int] | None = None

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def resume(self, frontier: int) -> None:
        """The journal has been replayed up to request ``frontier``: what is counted so far
        is earlier runs' work."""
        self.resumed_from = frontier
        self.replayed = copy.deepcopy(self) if self.requests else None
        self.resumed_at = time.monotonic()

    def replayed_section(self) -> dict[str, Any]:
        """For the report: what the journal replayed (no key when nothing was)."""
        r = self.replayed
        if r is None:
            return {}
        return {
            "replayed": {
                "requests": r.requests,
                "sent": r.sent,
                "cache_hits": r.cache_hits,
                "retries": r.retries,
                "failed": r.failed,
                "replies": r.replies,
                "candidates": r.candidates,
                "accepted": r.accepted,
                "tokens": r.tokens(),
                "cost_usd": round(r.cost_usd, 6),
            }
        }

    def run_section(self) -> dict[str, Any]:
        """For the report's "run" section: what was replayed, and this run's rate-limit
        waits (no key when there were none)."""
        section = self.replayed_section()
        if self.rate_limit_pauses or self.header_holds:
            section["rate_limited"] = {
                "pauses": self.rate_limit_pauses,
                "waited_s": round(self.rate_limited_s, 3),
                "header_holds": self.header_holds,
            }
        if self.batch is not None:
            section["batch"] = self.batch
        return section

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": {
                "total": self.requests,
                "sent": self.sent,
                "cache_hits": self.cache_hits,
                "retries": self.retries,
                "failed": self.failed,
                "faults": dict(sorted(self.faults.items())),
                **self.hedge.section(),
                "resumed_from_request": self.resumed_from,
            },
            "replies": self.replies,
            "candidates": self.candidates,
            "rejected": {
                "total": self.rejected_total,
                "by_reason": dict(self.rejected.most_common()),
            },
            "accepted": self.accepted,
            "surplus": self.surplus,
            "per_category": dict(sorted(self.per_category.items())),
            "tokens": self.tokens(),
            "cost_usd": round(self.cost_usd, 6),
            "token_use": self.token_use.section(
                prompt=self.prompt_tokens + self.hedge.prompt_tokens,
                completion=self.completion_tokens + self.hedge.completion_tokens,
                cached_share=self.cached_tokens / self.prompt_tokens
                if self.prompt_tokens
                else None,
                cost=self.cost_usd - self.judge_cost,
                accepted=self.accepted,
            ),
            **({"judge": self._judge()} if self.judge_scores else {}),
        }

    def tokens(self) -> dict[str, int]:
        # "reasoning" only from a teacher that reasoned: reports of others are as they were.
        reasoning = {"reasoning": self.reasoning_tokens} if self.reasoning_tokens else {}
        return {
            "prompt": self.prompt_tokens,
            "completion": self.completion_tokens,
            "cached": self.cached_tokens,
            **reasoning,
        }

    def _judge(self) -> dict[str, Any]:
        scored = {int(k): v for k, v in self.judge_scores.items() if k != "unscored"}
        total = sum(scored.values())
        return {
            "calls_sent": self.judge_calls,
            "tokens": self.judge_tokens,
            "scored": total,
            "unscored": self.judge_scores.get("unscored", 0),
            "mean_score": round(sum(k * v for k, v in scored.items()) / total, 3)
            if total
            else None,
            "histogram": {str(k): scored[k] for k in sorted(scored)},
        }
