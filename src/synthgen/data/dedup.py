"""``synthgen.dedup``: drop the exact and near duplicates of a list of examples."""

from __future__ import annotations

from collections.abc import Iterable

from synthgen.data.example import Example
from synthgen.text.index import DedupIndex, Match

__all__ = ["dedup"]


def dedup(
    examples: Iterable[Example],
    *,
    threshold: float = 0.8,
    against: Iterable[Example] = (),
) -> tuple[list[Example], list[tuple[Example, Match]]]:
    """Keep the first of every group of exact or near duplicates, in input order.

    Texts are compared as ``Example.dedup_text()`` gives them (the system prompt left out).
    Examples that copy one in ``against`` (the seeds, say) are dropped too; their matches carry
    tag ``"seed"`` and key ``"seed:<i>"``; matches of earlier examples have key ``"example:<i>"``.
    Returns (kept, [(dropped example, match), ...]).
    """
    index = DedupIndex(threshold=threshold)
    for i, seed in enumerate(against):
        index.add(f"seed:{i}", seed.dedup_text(), tag="seed")
    kept: list[Example] = []
    dropped: list[tuple[Example, Match]] = []
    for i, example in enumerate(examples):
        match = index.check_and_add(f"example:{i}", example.dedup_text(), tag="accepted")
        if match is None:
            kept.append(example)
        else:
            dropped.append((example, match))
    return kept, dropped
