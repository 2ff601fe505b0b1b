"""Where the teacher's tokens went: each reply bought is split evenly over its candidates,
and each candidate's share is charged to what became of it (``accepted``, or its drop
reason), so a user sees which drops cost the most. Counted from journal records (live and
on resume alike, see run.ledger), so a resumed run reports the same split.

A reply dropped whole (``unparseable``, ``truncated``) is charged to that reason; one with no
candidates at all to ``empty_reply``; good candidates of a category that had filled up to
``over_quota``. Replies from the response cache cost nothing and are not split. Tokens bought
but never curated (hedged duplicates, replies that landed as the run stopped) are what the
totals hold beyond the split: ``not_curated``. With ``--pairs``, the responses bought for
the prompts (run.pairs) are ``pair_responses``: the pairs are made of them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from synthgen.run.journal import JournalRecord

__all__ = [
    "NOT_CURATED",
    "PAIR_RESPONSES",
    "RESPONSE_ORDINALS",
    "Share",
    "TokenUse",
    "cache_saving_usd",
    "reasoning_use",
]

NOT_CURATED = "not_curated"
PAIR_RESPONSES = "pair_responses"
# The ledger's numbers of --pairs' response requests start here, apart from the engine's.
RESPONSE_ORDINALS = 1 << 40


@dataclass
class Share:
    """What one outcome cost: candidates (whole replies for a whole-reply drop), tokens and
    USD (list price; 0 without one)."""

    count: int = 0
    prompt: float = 0.0
    completion: float = 0.0
    cost: float = 0.0

    @property
    def tokens(self) -> float:
        return self.prompt + self.completion


@dataclass
class TokenUse:
    outcomes: dict[str, Share] = field(default_factory=dict)

    def count(self, record: JournalRecord) -> None:
        """Split a curated reply's tokens over its candidates' outcomes."""
        if record.src != "sent" or record.fail is not None:
            return
        units: Counter[str] = Counter()
        if record.acc:
            units["accepted"] = len(record.acc)
        for row in record.rej:  # a row may stand for several candidates (over_asked)
            units[str(row.get("reason"))] += int(row.get("count", 1))
        if record.sur:
            units["over_quota"] += record.sur
        total = sum(units.values())
        if not total:
            self._add("empty_reply", 0, 1.0, record)
            return
        for reason, n in units.items():
            self._add(reason, n, n / total, record)

    def response(self, prompt: int, completion: int, cost: float) -> None:
        """A response bought for --pairs: its tokens are the pairs', not a drop's."""
        share = self.outcomes.setdefault(PAIR_RESPONSES, Share())
        share.count += 1
        share.prompt += prompt
        share.completion += completion
        share.cost += cost

    def _add(self, reason: str, n: int, part: float, record: JournalRecord) -> None:
        share = self.outcomes.setdefault(reason, Share())
        share.count += n
        share.prompt += record.pt * part
        share.completion += record.ct * part
        share.cost += (record.cost or 0.0) * part

    def section(
        self,
        *,
        prompt: int,
        completion: int,
        cached_share: float | None,
        cost: float,
        accepted: int,
    ) -> dict[str, Any]:
        """report.json's ``token_use`` for a run that bought ``prompt``/``completion``
        teacher tokens (``cached_share`` of its prompt tokens from the provider's prompt
        cache) for ``cost`` USD and accepted ``accepted`` examples. ``cache_saving_usd`` is
        left None for the caller, who knows the price table."""
        outcomes = dict(self.outcomes)
        rest = Share(
            prompt=prompt - sum(s.prompt for s in outcomes.values()),
            completion=completion - sum(s.completion for s in outcomes.values()),
            cost=cost - sum(s.cost for s in outcomes.values()),
        )
        if round(rest.tokens) > 0:
            outcomes[NOT_CURATED] = rest
        bought = prompt + completion
        ranked = sorted(outcomes.items(), key=lambda kv: (-round(kv[1].tokens), kv[0]))
        return {
            "cached_share": None if cached_share is None else round(cached_share, 4),
            "cache_saving_usd": None,
            "per_accepted": (
                {
                    "prompt": round(prompt / accepted, 1),
                    "completion": round(completion / accepted, 1),
                }
                if accepted
                else None
            ),
            "by_outcome": {
                name: {
                    "count": s.count,
                    "prompt": max(round(s.prompt), 0),
                    "completion": max(round(s.completion), 0),
                    "cost_usd": round(max(s.cost, 0.0), 6),
                    "share": round(s.tokens / bought, 4) if bought else 0.0,
                }
                for name, s in ranked
            },
        }


def cache_saving_usd(model: str, cached_tokens: int) -> float | None:
    """What ``cached_tokens`` prompt tokens of ``model`` cost less at its cached rate than
    at its input price; None when the table has no price or no cached rate for it."""
    from synthgen.teacher.pricing import cache_saving, cached_price_per_token, price_per_token

    if price_per_token(model) is None or cached_price_per_token(model) is None:
        return None
    return round(cache_saving(model, cached_tokens), 6)


def reasoning_use(
    model: str, tokens: int, *, completion: int, accepted: int
) -> dict[str, Any] | None:
    """report.json's ``token_use.reasoning``: ``tokens`` of the ``completion`` tokens bought
    spent on the teacher's reasoning, priced at ``model``'s output rate (reasoning tokens are
    billed as output); None when the teacher did not reason."""
    from synthgen.teacher.pricing import price_per_token

    if tokens <= 0:
        return None
    prices = price_per_token(model)
    return {
        "tokens": tokens,
        "share_of_completion": round(tokens / completion, 4) if completion else None,
        "per_accepted": round(tokens / accepted, 1) if accepted else None,
        "cost_usd": round(tokens * prices[1], 6) if prices is not None else None,
    }
