"""Why a candidate was dropped, the one type every filter and check answers with: the
reasons are counted into report.json and written to rejected.jsonl (datatrove style)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Drop", "judge_drop"]


@dataclass(frozen=True)
class Drop:
    """Why a candidate was dropped: a stable ``reason`` code and a human ``detail``."""

    reason: str
    detail: str = ""


def judge_drop(
    verdict: tuple[int | None, str], min_score: int, *, keep_unscored: bool = True
) -> Drop | None:
    """The judge's verdict ``(score, reason)`` as curation reads it: ``low_score`` below
    ``min_score``; an unreadable verdict (score None) keeps the candidate unless
    ``keep_unscored`` is off, since a judge failure says nothing about the candidate."""
    score, reason = verdict
    if score is None:
        return None if keep_unscored else Drop("judge_failed", reason)
    if score < min_score:
        why = f": {reason}" if reason else ""
        return Drop("low_score", f"judge scored {score}/10 < {min_score}{why}")
    return None
