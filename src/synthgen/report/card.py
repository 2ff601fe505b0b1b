"""The dataset card (OUT/README.md), in the Hugging Face style: YAML metadata the Hub reads
(language, task, size, splits), then what was made, how, at what cost, and how to make it
again. Everything comes from report.json; optional parts are left out when absent."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["dataset_card", "size_category"]

_FORMATS = {
    "openai": 'OpenAI chat fine-tuning JSONL: one `{"messages": [{"role", "content"}, ...]}` '
    "object per line",
    "trl": 'TRL conversational JSONL: one `{"messages": [{"role", "content"}, ...]}` per line',
    "sharegpt": 'ShareGPT JSONL: one `{"conversations": [{"from", "value"}, ...]}` per line',
    "prompt-completion": 'prompt/completion JSONL: one `{"prompt", "completion"}` per line',
    "alpaca": "Alpaca JSONL: `instruction`, `input`, `output` (plus `system`, `history`)",
}
_REASONS = {
    "unparseable": "the reply held no usable JSON",
    "truncated": "the reply was cut off at the token limit",
    "schema": "wrong roles or turn order",
    "empty_content": "an empty message",
    "refusal": "the assistant refused, or said it is an AI",
    "too_short": "far shorter than the seeds",
    "too_long": "far longer than the seeds",
    "copies_example": "a turn copied an example shown in the prompt",
    "echo": "a turn repeated the prompt's instructions",
    "over_quota": "its category already had its share",
    "seed_copy": "a copy or near-copy of a seed",
    "exact_duplicate": "an exact duplicate of an accepted example",
    "near_duplicate": "a near-duplicate of an accepted example (MinHash)",
    "wrong_language": "not in the dataset's language",
    "contaminated": "shares an n-gram with the held-out set",
    "low_score": "the LLM judge scored it below the minimum",
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
    report: Mapping[str, Any],
    *,
    command: str,
    language: str | Sequence[str] | None = None,
    pretty_name: str | None = None,
) -> str:
    """README.md for a run's output folder, from its report.json and the command that made it.

    ``language`` (ISO 639-1) defaults to ``report["language"]``; ``pretty_name`` to a name
    derived from the seeds file.
    """
    seeds = report.get("seeds") or {}
    given = language if language is not None else report.get("language")
    langs = [given] if isinstance(given, str) else [str(x) for x in given or ()]
    name = pretty_name or _default_name(seeds.get("path"))
    parts = [
        _front_matter(report, langs, name),
        f"# {name}\n",
        _summary(report, langs),
        _files(),
        "## How it was made\n",
        _teacher(report),
        _templates(report),
        _seeds(seeds),
        _filters(report),
        _diversity(report.get("diversity")),
        _validation(report.get("validation")),
        _cost(report),
        _reproduce(report, command),
        _synthetic_note(report),
    ]
    return "\n".join(p for p in parts if p)


def _default_name(path: object) -> str:
    if isinstance(path, str) and path:
        stem = os.path.splitext(os.path.basename(path))[0]
        return f"{stem} (synthetic, synthgen)"
    return "Synthetic dataset (synthgen)"


def _total(report: Mapping[str, Any]) -> int:
    split = report.get("split") or {}
    if "train" in split or "eval" in split:
        return int(split.get("train") or 0) + int(split.get("eval") or 0)
    return int(report.get("accepted") or 0)


def _front_matter(report: Mapping[str, Any], langs: list[str], name: str) -> str:
    import yaml

    meta: dict[str, Any] = {}
    if langs:
        meta["language"] = langs
    meta["task_categories"] = ["text-generation"]
    meta["size_categories"] = [size_category(_total(report))]
    meta["pretty_name"] = name
    meta["tags"] = ["synthetic", "synthgen"]
    files = [{"split": "train", "path": "train.jsonl"}]
    if (report.get("split") or {}).get("eval", 1):
        files.append({"split": "validation", "path": "eval.jsonl"})
    meta["configs"] = [{"config_name": "default", "data_files": files}]
    body = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, default_flow_style=False)
    return f"---\n{body}---\n"


def _summary(report: Mapping[str, Any], langs: list[str]) -> str:
    teacher = report.get("teacher") or {}
    seeds = report.get("seeds") or {}
    split = report.get("split") or {}
    settings = report.get("settings") or {}
    total = _total(report)
    lines = [
        f"{total:,} synthetic conversations written by `{teacher.get('model', '?')}` from "
        f"{seeds.get('count', '?')} seed examples with synthgen"
        + (f", in {', '.join(f'`{lang}`' for lang in langs)}." if langs else "."),
        "",
    ]
    if split:
        fraction = split.get("eval_fraction")
        share = f" ({fraction:.0%} held out)" if isinstance(fraction, (int, float)) else ""
        lines.append(
            f"- Splits: train {split.get('train', 0):,}, validation {split.get('eval', 0):,}"
            f"{share}, stratified and leakage-free: near-duplicates never straddle the split."
        )
    fmt = settings.get("format", "openai")
    lines.append(f"- Format: {_FORMATS.get(fmt, f'`{fmt}`')}.")
    if seeds.get("system"):
        lines.append("- Every conversation carries the same system prompt (below).")
    per_category = report.get("per_category") or {}
    if settings.get("balance_by") and per_category:
        counts = ", ".join(f"{_cell(k)} {v:,}" for k, v in per_category.items())
        lines.append(f"- Balanced by `{settings['balance_by']}`: {counts}.")
    if report.get("complete") is False:
        stop = report.get("stop") or {}
        wanted = settings.get("n")
        detail = f": {stop['detail']}" if stop.get("detail") else ""
        lines.append(
            f"- **Incomplete run**: stopped ({stop.get('reason', 'unknown')}{detail}) with "
            f"{report.get('accepted', total):,}"
            + (f" of {wanted:,} requested" if isinstance(wanted, int) else "")
            + " examples."
        )
    return "\n".join(lines) + "\n"


def _files() -> str:
    rows = [
        ("train.jsonl", "training split"),
        ("eval.jsonl", "validation split (no train example or near-copy of one)"),
        ("rejected.jsonl", "every dropped candidate, with its reason"),
        ("failures.jsonl", "requests that failed after retries"),
        ("report.json", "the full run report this card is made from"),
    ]
    return "## Files\n\n" + _table(("file", "content"), [(f"`{f}`", c) for f, c in rows])


def _teacher(report: Mapping[str, Any]) -> str:
    teacher = report.get("teacher") or {}
    lines = ["### Teacher\n", f"- Model: `{teacher.get('model', '?')}`"]
    if teacher.get("endpoint"):
        lines.append(f"- Endpoint: {teacher['endpoint']}")
    if teacher.get("temperature") is not None:
        lines.append(f"- Temperature: {teacher['temperature']}")
    if teacher.get("per_request") is not None:
        lines.append(f"- Conversations asked for per request: {teacher['per_request']}")
    return "\n".join(lines) + "\n"


def _templates(report: Mapping[str, Any]) -> str:
    teacher = report.get("teacher") or {}
    templates = teacher.get("templates")
    if not templates and teacher.get("template"):
        templates = [teacher["template"]]
    if not templates:
        return ""
    header = ["template", "sha256"]
    optional = [
        ("weight", "weight"),
        ("temperature", "temperature"),
        ("per_request", "per request"),
    ]
    keys = [k for k, _ in optional if any(k in t for t in templates)]
    header += [label for k, label in optional if k in keys]
    rows = [
        [f"`{_cell(t.get('name', '?'))}`", f"`{_cell(t.get('sha256', '?'))}`"]
        + [_cell(t.get(k, "")) for k in keys]
        for t in templates
    ]
    return "### Prompt templates\n\n" + _table(header, rows)


def _seeds(seeds: Mapping[str, Any]) -> str:
    if not seeds:
        return ""
    lines = ["### Seeds\n"]
    if seeds.get("path"):
        fmt = f" ({seeds['format']})" if seeds.get("format") else ""
        lines.append(f"- File: `{seeds['path']}`{fmt}")
    lines.append(f"- Examples: {seeds.get('count', '?')}")
    if seeds.get("sha256"):
        lines.append(f"- sha256: `{seeds['sha256']}`")
    system = seeds.get("system")
    if system:
        lines += ["- System prompt:", "", _fence(system, "text")]
    else:
        lines.append("- System prompt: none")
    return "\n".join(lines) + "\n"


def _filters(report: Mapping[str, Any]) -> str:
    rejected = report.get("rejected") or {}
    by_reason: Mapping[str, int] = rejected.get("by_reason") or {}
    candidates = report.get("candidates")
    accepted = report.get("accepted")
    lines = ["### Filters\n"]
    if isinstance(candidates, int) and isinstance(accepted, int):
        rate = f" ({accepted / candidates:.0%})" if candidates else ""
        lines.append(
            f"The teacher proposed {candidates:,} conversations; {accepted:,} were accepted"
            f"{rate} and {rejected.get('total', sum(by_reason.values())):,} dropped.\n"
        )
    if by_reason:
        rows = [(f"`{_cell(r)}`", f"{n:,}", _REASONS.get(r, "")) for r, n in by_reason.items()]
        lines.append(_table(("reason", "dropped", "meaning"), rows))
    else:
        lines.append("No candidate was dropped.\n")
    return "\n".join(lines)


def _diversity(div: object) -> str:
    if not isinstance(div, Mapping):
        return ""
    rows = []
    for label, key in (("distinct-1", "distinct_1"), ("distinct-2", "distinct_2")):
        if key in div:
            rows.append((label, _num(div.get(key)), _num(div.get(f"seeds_{key}"))))
    if div.get("mean_pairwise_jaccard") is not None:
        label = f"mean pairwise Jaccard (word 3-grams, {div.get('jaccard_sample', '?')} sampled)"
        rows.append((label, _num(div["mean_pairwise_jaccard"]), ""))
    if div.get("max_pairwise_jaccard") is not None:
        rows.append(("max pairwise Jaccard", _num(div["max_pairwise_jaccard"]), ""))
    lines = ["### Diversity\n"]
    if rows:
        lines.append(_table(("metric", "generated", "seeds"), rows))
    inspired = div.get("inspired")
    if isinstance(inspired, Mapping) and inspired.get("max") is not None:
        unused = list(inspired.get("unused") or [])
        shown = ", ".join(str(i) for i in unused[:20]) + (", ..." if len(unused) > 20 else "")
        lines.append(
            f"Each seed inspired between {inspired.get('min')} and {inspired['max']} accepted "
            "examples"
            + (f"; {len(unused)} inspired none (indices {shown})." if unused else ".")
            + "\n"
        )
    return "\n".join(lines) if len(lines) > 1 else ""


def _validation(validation: object) -> str:
    if not validation:
        return ""
    lines = ["### Validation\n", "The OpenAI cookbook's format checks, run on the written files:\n"]
    if isinstance(validation, Mapping):
        for split, found in validation.items():
            lines.append(f"- {_cell(split)}: {_validation_line(found)}")
    else:
        lines.append(_cell(validation))
    return "\n".join(lines) + "\n"


def _validation_line(found: object) -> str:
    if not isinstance(found, Mapping):
        return _cell(found)
    n = found.get("n_examples", 0)
    errors = found.get("errors") or {}
    parts = [f"{n} examples"]
    parts.append(
        "no format errors"
        if not errors
        else "errors: " + ", ".join(f"{k} {v}" for k, v in errors.items())
    )
    if found.get("n_over_limit"):
        parts.append(f"{found['n_over_limit']} over the token limit")
    if found.get("n_epochs") and n:
        parts.append(
            f"{found['n_epochs']} epochs, ≈{_num(found.get('billed_tokens'))} billed tokens"
        )
    parts += [str(w) for w in found.get("warnings") or []]
    return "; ".join(parts)


def _cost(report: Mapping[str, Any]) -> str:
    requests = report.get("requests") or {}
    tokens = report.get("tokens") or {}
    rows: list[tuple[str, str]] = []
    if requests:
        extra = ", ".join(
            f"{label} {requests[key]:,}"
            for key, label in (
                ("paid", "paid"),
                ("cache_hits", "from cache"),
                ("retries", "retries"),
                ("failed", "failed"),
            )
            if isinstance(requests.get(key), int)
        )
        rows.append(
            ("requests", f"{requests.get('total', 0):,}" + (f" ({extra})" if extra else ""))
        )
    if tokens:
        rows.append(("prompt tokens", f"{tokens.get('prompt', 0):,}"))
        rows.append(("completion tokens", f"{tokens.get('completion', 0):,}"))
    cost = report.get("cost_usd")
    if isinstance(cost, (int, float)) and math.isfinite(cost):
        rows.append(("cost", f"${cost:,.4f} (estimated from list prices)"))
    elif "cost_usd" in report:
        rows.append(("cost", "unknown (no price for this model)"))
    wall = report.get("wall_time_s")
    if isinstance(wall, (int, float)):
        rows.append(("wall time", f"{wall:,.1f} s"))
    if not rows:
        return ""
    return "### Tokens and cost\n\n" + "\n".join(f"- {k}: {v}" for k, v in rows) + "\n"


def _reproduce(report: Mapping[str, Any], command: str) -> str:
    seeds = report.get("seeds") or {}
    check = f" (sha256 `{seeds['sha256'][:12]}…`)" if seeds.get("sha256") else ""
    return (
        "## Reproduce\n\n"
        + _fence(command, "bash")
        + "\n\nWith the same seeds file"
        + check
        + ", templates, model and `--seed`, a re-run that finds synthgen's response cache "
        "gives byte-identical files; without the cache the teacher samples anew, so the "
        "numbers above will be close but not equal.\n"
    )


def _synthetic_note(report: Mapping[str, Any]) -> str:
    model = (report.get("teacher") or {}).get("model", "a language model")
    return (
        "## Synthetic data\n\n"
        f"Every conversation here was written by `{model}`, prompted with the seed examples; "
        "none was written or reviewed by a person. The filters above remove malformed, "
        "refused, duplicated and off-spec replies, not factual errors: expect some mistakes "
        "and the teacher's biases. Check the teacher provider's terms of use before training "
        "a model on its output.\n"
    )


# --- markdown helpers --------------------------------------------------------------------


def _cell(value: object) -> str:
    """A value made safe for one table cell or list item: one line, no bare pipes."""
    return " ".join(str(value).split()).replace("|", "\\|")


def _num(value: object) -> str:
    return f"{value:.4f}" if isinstance(value, float) else "" if value is None else str(value)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _fence(text: str, lang: str = "") -> str:
    """``text`` in a fenced block whose fence is longer than any backtick run inside it."""
    longest = run = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{lang}\n{text}\n{fence}"
