"""``synthgen validate``: each format checked against its own rules, offline.

The file's format is that of its first recognisable line (or the one asked for); its rules
come from the table in ``synthgen.data.shapes``. ``openai`` lines get the OpenAI cookbook's
fine-tuning check: its error kinds, counted per occurrence as the cookbook does (a line with
two bad messages adds 2): ``data_type``, ``missing_messages_list``, ``message_missing_key``,
``message_unrecognized_key``, ``unrecognized_role``, ``missing_content``,
``example_missing_assistant_message``; plus ``invalid_json`` (an unparseable line, which is also
a ``data_type`` error) and ``invalid_weight``; at least 10 examples, and the epoch and
billed-token estimate. Only ``openai`` is accepted by OpenAI chat fine-tuning, and the report
says so for the others: ``trl`` (the cookbook's message checks, extra columns allowed),
``prompt-completion`` (TRL's rules), ``sharegpt`` and ``alpaca`` (what axolotl and
LLaMA-Factory read), checked with ``missing_key``, ``wrong_type``, ``unrecognized_role``,
``missing_content`` and ``example_missing_assistant_message`` (each shape's ``errors``), then
converted to messages for token counting.

Example counts use every non-blank line, as the cookbook does; token statistics cover the
lines without errors.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from synthgen.data.pair_checks import PAIR_SHAPES
from synthgen.data.record_checks import LineCheck
from synthgen.data.seed_readers import open_regular
from synthgen.data.shapes import SHAPES, Shape, detect
from synthgen.errors import ConfigError, InputError

MIN_EXAMPLES = 10
RECOMMENDED_EXAMPLES = 50
TARGET_EPOCHS = 3
MIN_TARGET_EXAMPLES = 100
MAX_TARGET_EXAMPLES = 25_000
MIN_DEFAULT_EPOCHS = 1
MAX_DEFAULT_EPOCHS = 25

# The chat formats, and the preference-pair rows (checked and detected, never seeds).
CHECKED = {**SHAPES, **PAIR_SHAPES}
FORMAT_LABEL = {name: shape.label for name, shape in CHECKED.items()}


def _detect(record: Any) -> Shape | None:
    found = detect(record)
    if found is None and isinstance(record, dict):
        found = next((s for s in PAIR_SHAPES.values() if s.matches(record)), None)
    return found


def example_token_limit(model: str) -> int:
    """Tokens per training example OpenAI fine-tuning accepts for ``model``."""
    from synthgen.text.tokens import base_model

    name = base_model(model)
    return 65_536 if name.startswith(("gpt-4o", "gpt-4.1")) else 16_385


def estimate_epochs(n_examples: int) -> int:
    """The cookbook's default epochs: 3, moved so epochs × examples stays in [100, 25,000]."""
    if n_examples <= 0:
        return 0
    if n_examples * TARGET_EPOCHS < MIN_TARGET_EXAMPLES:
        return min(MAX_DEFAULT_EPOCHS, math.ceil(MIN_TARGET_EXAMPLES / n_examples))
    if n_examples * TARGET_EPOCHS > MAX_TARGET_EXAMPLES:
        return max(MIN_DEFAULT_EPOCHS, MAX_TARGET_EXAMPLES // n_examples)
    return TARGET_EPOCHS


@dataclass(frozen=True)
class TokenStats:
    """Distribution of a per-example token count (quantiles interpolate linearly, as numpy)."""

    min: int
    max: int
    mean: float
    median: float
    p5: float
    p95: float

    @classmethod
    def of(cls, values: list[int]) -> TokenStats | None:
        if not values:
            return None
        v = sorted(values)

        def q(p: float) -> float:
            pos = (len(v) - 1) * p
            lo = math.floor(pos)
            hi = min(lo + 1, len(v) - 1)
            return v[lo] + (v[hi] - v[lo]) * (pos - lo)

        return cls(v[0], v[-1], sum(v) / len(v), q(0.5), q(0.05), q(0.95))


@dataclass
class ValidationReport:
    """What ``validate_file``/``validate_records`` found."""

    path: str | None
    model: str
    format: str
    rules: str = ""
    accepted_by_openai: bool = False
    n_examples: int = 0
    n_valid: int = 0
    formats_seen: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    first_line: dict[str, int] = field(default_factory=dict)
    total_tokens: TokenStats | None = None
    assistant_tokens: TokenStats | None = None
    encoding: str = ""
    token_limit: int = 0
    n_over_limit: int = 0
    first_over_limit: int | None = None
    n_system_prompts: int = 0
    n_epochs: int = 0
    billed_tokens: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(self.errors.values())

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["ok"] = self.ok
        return d


class _Validator:
    def __init__(self, path: str | None, model: str, max_tokens: int | None, fmt: str | None):
        if fmt is not None and fmt not in CHECKED:
            raise ConfigError(f"unknown format {fmt!r}; choose one of: {', '.join(CHECKED)}")
        self.fmt = fmt
        self.pending: list[tuple[int, Any]] = []
        limit = max_tokens if max_tokens is not None else example_token_limit(model)
        self.report = ValidationReport(path=path, model=model, format=fmt or "", token_limit=limit)
        self.totals: list[int] = []
        self.assistants: list[int] = []
        self.systems: dict[object, int] = {}  # system prompt -> first line carrying it
        self.first_system_change: int | None = None
        self.notes: dict[str, int] = {}  # note -> lines carrying it

    def error(self, kind: str, line: int) -> None:
        r = self.report
        r.errors[kind] = r.errors.get(kind, 0) + 1
        r.first_line[kind] = min(line, r.first_line.get(kind, line))

    def add_unparseable(self, line: int) -> None:
        self.report.n_examples += 1
        self.error("invalid_json", line)
        self.error("data_type", line)

    def add(self, line: int, record: Any) -> None:
        self.report.n_examples += 1
        if self.fmt is None:
            # The file's format is that of its first recognisable line; hold lines until then.
            self.pending.append((line, record))
            shape = _detect(record)
            if shape is not None:
                self.fmt = shape.name
                self._flush()
            return
        self._check(line, record)

    def _flush(self) -> None:
        pending, self.pending = self.pending, []
        for line, record in pending:
            self._check(line, record)

    def _check(self, line: int, record: Any) -> None:
        from synthgen.text.tokens import count_chat_tokens

        assert self.fmt is not None
        if not isinstance(record, dict):
            self.error("data_type", line)
            return
        shape = CHECKED[self.fmt]
        # A line that has the checked format's keys counts as that format (an openai line is
        # also a trl one); the others as what they look like.
        seen = shape if shape.accepts(record) else _detect(record)
        if seen is not None:
            self.report.formats_seen[seen.name] = self.report.formats_seen.get(seen.name, 0) + 1
        found = LineCheck()
        shape.check(record, found)
        for kind in found.errors:
            self.error(kind, line)
        for note in found.notes:
            self.notes[note] = self.notes.get(note, 0) + 1
        if found.errors:
            return
        self.report.n_valid += 1
        total, assistant = count_chat_tokens(found.messages, self.report.model)
        self.totals.append(total)
        self.assistants.append(assistant)
        if total > self.report.token_limit:
            self.report.n_over_limit += 1
            if self.report.first_over_limit is None:
                self.report.first_over_limit = line
        # prompt-completion lines cannot tell a system prompt apart, so they never vary here.
        if found.system not in self.systems:
            if self.systems and self.first_system_change is None:
                self.first_system_change = line
            self.systems[found.system] = line

    def finish(self) -> ValidationReport:
        from synthgen.text.tokens import encoding_for

        if self.fmt is None:
            self.fmt = "openai"
        self._flush()
        shape = CHECKED[self.fmt]
        r = self.report
        r.format, r.rules, r.accepted_by_openai = shape.name, shape.rules, shape.openai
        r.encoding = encoding_for(r.model)
        r.total_tokens = TokenStats.of(self.totals)
        r.assistant_tokens = TokenStats.of(self.assistants)
        r.n_system_prompts = len(self.systems)
        if shape.openai:
            # Epochs and billing are how OpenAI trains; other trainers are configured apart.
            r.n_epochs = estimate_epochs(r.n_examples)
            r.billed_tokens = sum(min(r.token_limit, t) for t in self.totals) * r.n_epochs
        if r.n_examples < min_examples(shape.openai):
            r.errors["too_few_examples"] = 1
        elif r.n_examples < RECOMMENDED_EXAMPLES:
            floor = f"fine-tuning works from {MIN_EXAMPLES}, but " if shape.openai else ""
            r.warnings.append(f"only {r.n_examples} examples: {floor}50–100 is where gains show")
        r.warnings += self._warnings(shape)
        return r

    def _warnings(self, shape: Shape) -> list[str]:
        r = self.report
        out = []
        if len(self.systems) > 1:
            out.append(
                f"{len(self.systems)} different system prompts (first change at line "
                f"{self.first_system_change}): every line of one dataset should carry the same "
                f"system prompt, the one used at inference"
            )
        if r.n_over_limit:
            out.append(
                f"{r.n_over_limit} examples over the {r.token_limit:,}-token limit will be "
                f"truncated in training (first at line {r.first_over_limit})"
            )
        if len(r.formats_seen) > 1:
            mix = ", ".join(f"{k} {v}" for k, v in sorted(r.formats_seen.items()))
            out.append(f"lines in more than one format ({mix}); checked as {r.format}")
        for note, count in self.notes.items():
            out.append(f"{count:,} {'line' if count == 1 else 'lines'} {shape.notes[note]}")
        return out


def min_examples(openai: bool) -> int:
    """Fewest lines a file may have: OpenAI's minimum, or one for the other trainers."""
    return MIN_EXAMPLES if openai else 1


def validate_records(
    records: Iterable[tuple[int, Any]],
    *,
    model: str = "gpt-4o-mini",
    max_tokens: int | None = None,
    fmt: str | None = None,
    path: str | None = None,
) -> ValidationReport:
    """Check already-parsed ``(line number, record)`` pairs; ``fmt`` None detects it."""
    v = _Validator(path, model, max_tokens, fmt)
    for line, record in records:
        v.add(line, record)
    return v.finish()


def validate_file(
    path: str | os.PathLike[str],
    *,
    model: str = "gpt-4o-mini",
    max_tokens: int | None = None,
    fmt: str | None = None,
) -> ValidationReport:
    """Check a JSONL file line by line; blank lines are skipped but keep their numbers."""
    name = str(path)
    v = _Validator(name, model, max_tokens, fmt)
    try:
        # A FIFO or a device would hang or never end: only regular files are read.
        with open_regular(path, what="a dataset file", error=InputError) as f:
            for n, raw in enumerate(f, start=1):
                if n == 1 and raw.startswith(b"\xef\xbb\xbf"):
                    raw = raw[3:]
                if not raw.strip():
                    continue
                try:
                    record = json.loads(raw.decode("utf-8"))
                except (UnicodeDecodeError, ValueError):
                    v.add_unparseable(n)
                    continue
                v.add(n, record)
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot read: {exc.strerror or exc}") from None
    return v.finish()


def _stats_line(label: str, s: TokenStats) -> str:
    return (
        f"{label}: min {s.min:,}, p5 {s.p5:,.0f}, median {s.median:,.0f}, mean {s.mean:,.0f}, "
        f"p95 {s.p95:,.0f}, max {s.max:,}"
    )


def format_report(report: ValidationReport) -> str:
    """The human-readable summary ``synthgen validate`` prints, one finding per line."""
    r = report
    lines = [f"{r.path or 'records'}: {r.n_examples:,} examples ({FORMAT_LABEL[r.format]})"]
    lines.append(f"checked against: {r.rules}")
    if not r.accepted_by_openai:
        lines.append(
            "note: OpenAI chat fine-tuning accepts only the openai format"
            ' ({"messages": [...]}, synthgen --format openai), not this one'
        )
    errors = {k: v for k, v in r.errors.items() if v}
    if not errors:
        lines.append("errors: none")
    for kind, count in errors.items():
        if kind == "too_few_examples":
            lines.append(
                f"error too_few_examples: {r.n_examples} examples, fine-tuning needs at least "
                f"{min_examples(r.accepted_by_openai)}"
            )
        else:
            lines.append(f"error {kind}: {count:,} (first at line {r.first_line[kind]})")
    if r.total_tokens is not None and r.assistant_tokens is not None:
        lines.append(_stats_line(f"tokens per example ({r.encoding})", r.total_tokens))
        lines.append(_stats_line("assistant tokens per example", r.assistant_tokens))
        if r.accepted_by_openai:
            lines.append(f"epochs {r.n_epochs}, ≈ {r.billed_tokens:,} billed tokens")
    lines += [f"warning: {w}" for w in r.warnings]
    return "\n".join(lines)
