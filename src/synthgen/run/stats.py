"""Counting what a run did, and what it cost."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RunStats:
    """Live counters, updated by the engine and rebuilt from the journal on resume."""

    requests: int = 0  # ordinals processed (answered, from cache or failed)
    sent: int = 0  # sent to the teacher and answered (not from the cache)
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
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    faults: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    per_category: Counter[str] = field(default_factory=Counter)
    started: float = field(default_factory=time.monotonic)
    resumed_from: int = 0

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": {
                "total": self.requests,
                "sent": self.sent,
                "cache_hits": self.cache_hits,
                "retries": self.retries,
                "failed": self.failed,
                "faults": dict(sorted(self.faults.items())),
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
            "tokens": {"prompt": self.prompt_tokens, "completion": self.completion_tokens},
            "cost_usd": round(self.cost_usd, 6),
            **({"judge": self._judge()} if self.judge_scores else {}),
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
