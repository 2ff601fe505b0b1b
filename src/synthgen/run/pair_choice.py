"""Which scored responses become a pair: the best and the worst of a prompt's responses,
when their judge scores differ by at least ``--min-margin``. A prompt that makes no pair is
counted under one reason."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from synthgen.data.example import Example
from synthgen.run.pair_journal import Scored

__all__ = ["DROP_REASONS", "Pair", "choose"]

# Why a prompt made no pair, in the order the report lists them.
DROP_REASONS = (
    "no_margin",  # best and worst scores differ, by less than --min-margin
    "tie",  # every scored response got the same score
    "judge_failed",  # fewer than two responses scored: the judge gave no score
    "teacher_failed",  # fewer than two responses: the teacher's failed, cut or empty
    "duplicate_prompt",  # a near-duplicate of an earlier prompt (dedup on the prompt)
    "unusable_prompt",  # no user turn before the last assistant turn, or tools
    "not_sent",  # a budget or an interrupt came first
)


@dataclass(frozen=True)
class Pair:
    prompt: Example
    chosen: str
    rejected: str
    chosen_score: int
    rejected_score: int


def choose(scored: list[Scored], min_margin: int) -> tuple[list[Pair], Counter[str]]:
    """The pairs, in prompt order, and the prompts dropped by reason."""
    pairs: list[Pair] = []
    drops: Counter[str] = Counter()
    for item in scored:
        texts = [s for s in item.samples if s.text]
        usable = [s for s in texts if s.score is not None]
        if len(usable) < 2:
            drops["teacher_failed" if len(texts) < 2 else "judge_failed"] += 1
            continue
        # The first of the best and the last of the worst: stable under the request order.
        best = max(usable, key=lambda s: s.score or 0)
        worst = min(reversed(usable), key=lambda s: s.score or 0)
        assert best.score is not None and worst.score is not None and best.text and worst.text
        gap = best.score - worst.score
        if gap == 0 or best.text == worst.text:
            drops["tie"] += 1
        elif gap < min_margin:
            drops["no_margin"] += 1
        else:
            pairs.append(Pair(item.prompt, best.text, worst.text, best.score, worst.score))
    return pairs, drops
