"""Warnings about a job that will run but may not give what the user expects: each is one
line saying what, why and what to do. They are logged (WARNING, shown on stderr) and kept in
report.json's ``warnings``."""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Sequence

from synthgen.data.example import Example
from synthgen.data.seeds import SeedSet
from synthgen.settings import Settings
from synthgen.settings.naming import setting

__all__ = ["balance_hint", "eval_fraction_warning", "eval_shortfall", "warn"]

log = logging.getLogger("synthgen")

# Seed fields that usually name a category; with few distinct values, repeated.
_CATEGORY_NAMES = ("category", "categories", "label", "class", "topic", "intent", "domain", "type")
_MAX_CATEGORIES = 50


def warn(warnings: list[str], message: str) -> None:
    """Log ``message`` once and keep it for the report."""
    if message not in warnings:
        warnings.append(message)
        log.warning("%s", message)


def eval_fraction_warning(settings: Settings) -> str | None:
    """A held-out share so large that train.jsonl gets fewer rows than eval.jsonl."""
    f = settings.eval_fraction
    if f <= 0.5:
        return None
    train = max(1, settings.n - math.floor(f * settings.n + 0.5))  # as data.split does
    return (
        f"{setting('eval_fraction', f)} holds out {f:.1%} of the examples: train.jsonl gets "
        f"about {train} of {settings.n} rows, fewer than eval.jsonl; the usual share is "
        f"0.05 to 0.2"
    )


def balance_hint(settings: Settings, seeds: SeedSet) -> str | None:
    """Seeds that carry a category-like field, run without --balance-by."""
    if settings.balance_by is not None or len(seeds) < 2:
        return None
    for name in _category_fields(seeds.examples):
        values = Counter(str(ex.metadata.get(name)) for ex in seeds.examples)
        if 2 <= len(values) <= min(_MAX_CATEGORIES, len(seeds) - 1):
            return (
                f"the seeds have a {name!r} field ({len(values)} values) but "
                f"{setting('balance_by')} is not set: with prompts that mix categories, a "
                f"teacher drifts to its favourite; {setting('balance_by', name)} gives each "
                "value an equal share"
            )
    return None


def _category_fields(examples: Sequence[Example]) -> list[str]:
    present = [
        key
        for key in examples[0].metadata
        if key.lower() in _CATEGORY_NAMES
        and all(isinstance(ex.metadata.get(key), (str, int)) for ex in examples)
    ]
    return sorted(present, key=lambda k: _CATEGORY_NAMES.index(k.lower()))


def eval_shortfall(accepted: Sequence[Example], eval_size: int, eval_fraction: float) -> str | None:
    """Why eval.jsonl holds fewer examples than asked, when it does: near-duplicates stay on
    one side of the split, so a repetitive dataset cannot be split as asked."""
    total = len(accepted)
    # What data.split aims for.
    wanted = max(1, min(math.floor(eval_fraction * total + 0.5), total - 1))
    if total < 2 or eval_size >= wanted:
        return None
    from synthgen.data.split import clusters

    groups = clusters(accepted)
    largest = max(len(g) for g in groups)
    return (
        f"eval.jsonl has {eval_size} of the {wanted} examples asked "
        f"({setting('eval_fraction', eval_fraction)} of {total}): near-duplicates go wholly "
        f"to train or to eval, and the {total} examples form {len(groups)} clusters, the "
        f"largest of {largest}; the data is repetitive: raise the temperature, add more "
        f"varied seeds, or lower {setting('dedup_threshold')}"
    )
