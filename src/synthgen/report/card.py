"""The dataset card (OUT/README.md), in the Hugging Face style: YAML metadata the Hub reads
(language, task, size, splits), then what was made, how, at what cost, and how to make it
again. It renders card.md.j2 over the typed :class:`Report` that report.json is dumped from,
with StrictUndefined, so a field the template names but the report lacks is an error."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

from synthgen.data.loaders import SNIPPET_LANGUAGE, loader_snippets
from synthgen.data.shapes import SHAPES
from synthgen.report.model import Report, SplitValidation

if TYPE_CHECKING:
    import jinja2

__all__ = ["dataset_card", "size_category"]

# One line per output format, from the one table of record shapes.
FORMATS = {name: shape.summary for name, shape in SHAPES.items()}
REASONS = {
    "unparseable": "the reply held no usable JSON",
    "truncated": "the reply was cut off at the token limit",
    "schema": "wrong roles or turn order",
    "empty_content": "an empty message",
    "broken_text": "a message with a broken character (half an emoji, lost bytes)",
    "placeholder": 'a placeholder turn ("...", "[answer]", "same as example 4")',
    "refusal": "the assistant refused, or said it is an AI",
    "too_short": "far shorter than the seeds",
    "too_long": "far longer than the seeds",
    "copies_example": "a turn copied an example shown in the prompt",
    "echo": "a turn repeated the prompt's instructions",
    "over_quota": "its category already had its share",
    "over_asked": "past the conversations the request asked for (not read)",
    "seed_copy": "a copy or near-copy of a seed",
    "exact_duplicate": "an exact duplicate of an accepted example",
    "near_duplicate": "a near-duplicate of an accepted example (MinHash)",
    "semantic_duplicate": "a paraphrase of a seed or an accepted example (--semantic-dedup)",
    "wrong_language": "not in the dataset's language",
    "contaminated": "shares an n-gram with the held-out set",
    "low_score": "the LLM judge scored it below the minimum",
    "no_reasoning": "with --reasoning keep, an answer without the teacher's reasoning",
    "reasoning_cut": "the teacher's reasoning trace never ended, so no answer followed",
    "think_leak": "a <think> tag inside an answer",
    "unknown_tool": "a call of a tool the seeds do not define",
    "invalid_arguments": "a call whose arguments fail the tool's JSON Schema",
    "orphan_tool_message": "a tool result that answers no call",
    "unanswered_tool_call": "a call left without its tool result",
    "parallel_tool_calls": "several calls in one turn where parallel_tool_calls is false",
    "duplicate_call_id": "two calls with one id",
    "missing_final_answer": "no final answer after the tool calls",
}
_SIZES = (
    (10**3, "n<1K"),
    (10**4, "1K<n<10K"),
    (10**5, "10K<n<100K"),
    (10**6, "100K<n<1M"),
    (10**7, "1M<n<10M"),
    (10**8, "10M<n<100M"),
    (10**9, "100M<n<1B"),
    (10**10, "1B<n<10B"),
    (10**11, "10B<n<100B"),
    (10**12, "100B<n<1T"),
)


def size_category(n: int) -> str:
    """The Hub's ``size_categories`` bucket for ``n`` examples."""
    for limit, name in _SIZES:
        if n < limit:
            return name
    return "n>1T"


def dataset_card(
    report: Report | Mapping[str, Any],
    *,
    command: str,
    language: str | Sequence[str] | None = None,
    pretty_name: str | None = None,
    license: str | None = None,
) -> str:
    """README.md for a run's output folder, from its report and the command that made it.

    A mapping (report.json as loaded) is validated into a :class:`Report` first.
    ``language`` (ISO 639-1) defaults to the report's; ``pretty_name`` to a name derived
    from the seeds file; ``license`` (a Hub license id) to the run's ``--license``, and the
    card names none when neither is given.
    """
    typed = report if isinstance(report, Report) else Report.model_validate(report)
    given = language if language is not None else typed.language
    langs = [given] if isinstance(given, str) else [str(x) for x in given or ()]
    name = pretty_name or _default_name(typed.seeds.path)
    return _template().render(
        report=typed,
        front_matter=_front_matter(typed, langs, name, license or _run_license(typed)),
        name=name,
        langs=langs,
        command=command,
        formats=FORMATS,
        reasons=REASONS,
        loaders=loader_snippets(
            typed.settings.format, evals="eval.jsonl" if typed.split.eval else None
        ),
        snippet_language=SNIPPET_LANGUAGE,
        # An extra of RunSettings: reports written before --reasoning have none.
        reasoning=getattr(typed.settings, "reasoning", "drop"),
    )


def _default_name(path: str | None) -> str:
    if path:
        stem = os.path.splitext(os.path.basename(path))[0]
        return f"{stem} (synthetic, synthgen)"
    return "Synthetic dataset (synthgen)"


def _run_license(report: Report) -> str | None:
    # An extra of RunSettings: reports written before --license have none.
    value = getattr(report.settings, "license", None)
    return value if isinstance(value, str) and value else None


def _front_matter(report: Report, langs: list[str], name: str, license: str | None) -> str:
    """The YAML between the card's ``---`` lines: what the Hub indexes the dataset by (keys
    as in the Hub's dataset card spec, hub-docs datasetcard.md)."""
    import yaml

    meta: dict[str, Any] = {}
    if langs:
        meta["language"] = langs
    if license:
        meta["license"] = license
    meta["annotations_creators"] = ["machine-generated"]
    meta["language_creators"] = ["machine-generated"]
    meta["task_categories"] = ["text-generation"]
    meta["size_categories"] = [size_category(report.total)]
    meta["pretty_name"] = name
    meta["tags"] = ["synthetic", "synthgen"]
    files = [{"split": "train", "path": "train.jsonl"}]
    if report.split.eval:
        files.append({"split": "validation", "path": "eval.jsonl"})
    meta["configs"] = [{"config_name": "default", "data_files": files}]
    return yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, default_flow_style=False)


@cache
def _template() -> jinja2.Template:
    from importlib.resources import files

    import jinja2

    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        # Markdown, not HTML: escaping would turn the system prompt's quotes into entities.
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        commas=lambda n: f"{n:,}",
        percent=lambda x: f"{x:.0%}",
        cell=cell,
        num=num,
        fence=fence,
        validation_line=validation_line,
    )
    source = files("synthgen.report").joinpath("card.md.j2").read_text(encoding="utf-8")
    return env.from_string(source)


def validation_line(found: SplitValidation) -> str:
    """One split's cookbook checks in a sentence: size, errors, epochs, warnings."""
    parts = [f"{found.n_examples} examples"]
    errors = found.errors or {}
    parts.append(
        "no format errors"
        if not errors
        else "errors: " + ", ".join(f"{k} {v}" for k, v in errors.items())
    )
    if found.n_over_limit:
        parts.append(f"{found.n_over_limit} over the token limit")
    if found.n_epochs and found.n_examples:
        parts.append(f"{found.n_epochs} epochs, ≈{num(found.billed_tokens)} billed tokens")
    parts += [cell(w) for w in found.warnings or []]
    return "; ".join(parts)


# --- markdown helpers (the template's filters) ---------------------------------------------


def cell(value: object) -> str:
    """A value made safe for one table cell or list item: one line, no bare pipes."""
    return " ".join(str(value).split()).replace("|", "\\|")


def num(value: object) -> str:
    return f"{value:.4f}" if isinstance(value, float) else "" if value is None else str(value)


def fence(text: str, lang: str = "") -> str:
    """``text`` in a fenced block whose fence is longer than any backtick run inside it."""
    longest = run = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    marks = "`" * max(3, longest + 1)
    return f"{marks}{lang}\n{text}\n{marks}"
