"""The frontier pool: the examples accepted so far, by category and in request order, that
later prompts may show the teacher so it builds on what it already wrote instead of circling
the seeds. The engine fills it as replies are curated (and from the journal on resume) and
hands it to the request builder, which picks from it."""

from __future__ import annotations

import bisect
from collections.abc import Iterable

from synthgen.data.example import Example

__all__ = ["FrontierPool"]


class FrontierPool:
    def __init__(self, categories: Iterable[str | None]) -> None:
        self._examples: dict[str | None, list[Example]] = {c: [] for c in categories}
        # The request each example came from: non-decreasing, because curation is ordered,
        # so "accepted from requests up to r" is a prefix.
        self._requests: dict[str | None, list[int]] = {c: [] for c in self._examples}

    def add(self, example: Example, category: str | None) -> None:
        self._examples[category].append(example)
        self._requests[category].append(int(example.metadata.get("request", -1)))

    def eligible(self, category: str | None, up_to: int) -> tuple[list[Example], int]:
        """The accepted examples of ``category``, and how many of the first of them came
        from requests ``<= up_to`` (a count, not a copy: this runs for every request)."""
        return self._examples[category], bisect.bisect_right(self._requests[category], up_to)

    def __len__(self) -> int:
        return sum(len(v) for v in self._examples.values())
