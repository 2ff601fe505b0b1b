"""``synthgen validate``: the OpenAI cookbook's fine-tuning data check, offline.

Chat lines (``openai``/``trl``) get the cookbook's error kinds, counted per occurrence as the
cookbook does (a line with two bad messages adds 2): ``data_type``, ``missing_messages_list``,
``message_missing_key``, ``message_unrecognized_key``, ``unrecognized_role``,
``missing_content``, ``example_missing_assistant_message``; plus ``invalid_json`` (an
unparseable line, which is also a ``data_type`` error) and ``invalid_weight``. Other formats
(detected from the first recognisable line) are checked for their own keys with
``missing_key``, ``wrong_type``, ``unrecognized_role``, ``missing_content`` and
``example_missing_assistant_message``, then converted to messages for token counting.

Example counts (too few, epochs) use every non-blank line, as the cookbook does; token
statistics cover the lines without errors.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from synthgen.data.formats import FORMATS, SHAREGPT_FROM, detect_format
from synthgen.errors import ConfigError, InputError

MIN_EXAMPLES = 10
RECOMMENDED_EXAMPLES = 50
TARGET_EPOCHS = 3
MIN_TARGET_EXAMPLES = 100
MAX_TARGET_EXAMPLES = 25_000
MIN_DEFAULT_EPOCHS = 1
MAX_DEFAULT_EPOCHS = 25

CHAT_KEYS = frozenset(
    {"role", "content", "name", "function_call", "weight", "tool_calls", "tool_call_id"}
)
CHAT_ROLES = frozenset({"system", "user", "assistant", "tool", "function"})
# ShareGPT roles as seen in the wild (LLaMA-Factory adds function_call/observation) -> chat role.
SHAREGPT_ROLES = {
    **{v: k for k, v in SHAREGPT_FROM.items()},
    "user": "user",
    "assistant": "assistant",
    "function_call": "assistant",
    "observation": "tool",
}

FORMAT_LABEL = {
    "openai": "openai chat format",
    "trl": "TRL conversational format",
    "prompt-completion": "prompt-completion format",
    "sharegpt": "ShareGPT format",
    "alpaca": "Alpaca format",
}

# A system-prompt value distinct from every string: "this line has none".
_NO_SYSTEM = object()


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


Messages = list[dict[str, Any]]


class _Line:
    """Findings for one parsed line."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.messages: Messages = []
        self.system: object = _NO_SYSTEM


def _check_chat(record: dict[str, Any], out: _Line) -> None:
    messages = record.get("messages")
    if not isinstance(messages, list) or not messages:
        out.errors.append("missing_messages_list")
        return
    for m in messages:
        if not isinstance(m, dict):
            out.errors.append("data_type")
            continue
        out.messages.append(m)
        role = m.get("role")
        # An assistant turn that calls tools may carry no content at all.
        calls = m.get("tool_calls") is not None or m.get("function_call") is not None
        if "role" not in m or ("content" not in m and not calls):
            out.errors.append("message_missing_key")
        if any(k not in CHAT_KEYS for k in m):
            out.errors.append("message_unrecognized_key")
        if not isinstance(role, str) or role not in CHAT_ROLES:
            out.errors.append("unrecognized_role")
        content = m.get("content")
        if calls:
            if content is not None and not isinstance(content, str):
                out.errors.append("missing_content")
        elif not isinstance(content, str) or not content:
            out.errors.append("missing_content")
        if "weight" in m:
            w = m["weight"]
            if isinstance(w, bool) or w not in (0, 1) or role != "assistant":
                out.errors.append("invalid_weight")
    if not any(m.get("role") == "assistant" for m in out.messages):
        out.errors.append("example_missing_assistant_message")
    first = out.messages[0] if out.messages else {}
    out.system = first.get("content") if first.get("role") == "system" else _NO_SYSTEM


def _string_field(record: dict[str, Any], key: str, out: _Line, *, required: bool) -> str:
    if key not in record:
        if required:
            out.errors.append("missing_key")
        return ""
    value = record[key]
    if not isinstance(value, str):
        out.errors.append("wrong_type")
        return ""
    return value


def _check_prompt_completion(record: dict[str, Any], out: _Line) -> None:
    prompt = _string_field(record, "prompt", out, required=True)
    completion = _string_field(record, "completion", out, required=True)
    if isinstance(record.get("completion"), str) and not completion:
        out.errors.append("missing_content")
    out.messages = [
        {"role": "user", "content": prompt},
        {"role": "assistant", "content": completion},
    ]


def _check_sharegpt(record: dict[str, Any], out: _Line) -> None:
    turns = record.get("conversations")
    if "conversations" not in record:
        out.errors.append("missing_key")
        return
    if not isinstance(turns, list) or not turns:
        out.errors.append("wrong_type")
        return
    for t in turns:
        if not isinstance(t, dict):
            out.errors.append("data_type")
            continue
        if "from" not in t or "value" not in t:
            out.errors.append("missing_key")
        frm = t.get("from")
        role = SHAREGPT_ROLES.get(frm) if isinstance(frm, str) else None
        if role is None:
            out.errors.append("unrecognized_role")
        value = t.get("value")
        if "value" in t and not isinstance(value, str):
            out.errors.append("wrong_type")
        elif value == "":
            out.errors.append("missing_content")
        if isinstance(value, str) and role is not None:
            out.messages.append({"role": role, "content": value})
    if not any(m["role"] == "assistant" for m in out.messages):
        out.errors.append("example_missing_assistant_message")
    first = turns[0]
    if isinstance(first, dict) and first.get("from") == "system":
        out.system = first.get("value")


def _check_alpaca(record: dict[str, Any], out: _Line) -> None:
    instruction = _string_field(record, "instruction", out, required=True)
    output = _string_field(record, "output", out, required=True)
    extra = _string_field(record, "input", out, required=False)
    if isinstance(record.get("output"), str) and not output:
        out.errors.append("missing_content")
    if "system" in record:
        out.system = _string_field(record, "system", out, required=False)
        out.messages.append({"role": "system", "content": out.system})
    history = record.get("history", [])
    if not isinstance(history, list) or not all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(s, str) for s in p) for p in history
    ):
        out.errors.append("wrong_type")
        history = []
    for user, assistant in history:
        out.messages += [
            {"role": "user", "content": user},
            {"role": "assistant", "content": assistant},
        ]
    prompt = f"{instruction}\n\n{extra}" if extra else instruction
    out.messages += [
        {"role": "user", "content": prompt},
        {"role": "assistant", "content": output},
    ]


_CHECKS = {
    "openai": _check_chat,
    "trl": _check_chat,
    "prompt-completion": _check_prompt_completion,
    "sharegpt": _check_sharegpt,
    "alpaca": _check_alpaca,
}


class _Validator:
    def __init__(self, path: str | None, model: str, max_tokens: int | None, fmt: str | None):
        if fmt is not None and fmt not in FORMATS:
            raise ConfigError(f"unknown format {fmt!r}; choose one of: {', '.join(FORMATS)}")
        self.fmt = fmt
        self.pending: list[tuple[int, Any]] = []
        limit = max_tokens if max_tokens is not None else example_token_limit(model)
        self.report = ValidationReport(path=path, model=model, format=fmt or "", token_limit=limit)
        self.totals: list[int] = []
        self.assistants: list[int] = []
        self.systems: dict[object, int] = {}  # system prompt -> first line carrying it
        self.first_system_change: int | None = None

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
        seen = detect_format(record)
        if seen is not None:
            self.report.formats_seen[seen] = self.report.formats_seen.get(seen, 0) + 1
        if self.fmt is None:
            # The file's format is that of its first recognisable line; hold lines until then.
            self.pending.append((line, record))
            if seen is not None:
                self.fmt = seen
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
        found = _Line()
        _CHECKS[self.fmt](record, found)
        for kind in found.errors:
            self.error(kind, line)
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
        r = self.report
        r.format = self.fmt
        r.encoding = encoding_for(r.model)
        r.total_tokens = TokenStats.of(self.totals)
        r.assistant_tokens = TokenStats.of(self.assistants)
        r.n_system_prompts = len(self.systems)
        r.n_epochs = estimate_epochs(r.n_examples)
        r.billed_tokens = sum(min(r.token_limit, t) for t in self.totals) * r.n_epochs
        if r.n_examples < MIN_EXAMPLES:
            r.errors["too_few_examples"] = 1
        elif r.n_examples < RECOMMENDED_EXAMPLES:
            r.warnings.append(
                f"only {r.n_examples} examples: fine-tuning works from {MIN_EXAMPLES}, "
                f"but 50–100 is where gains show"
            )
        if len(self.systems) > 1:
            r.warnings.append(
                f"{len(self.systems)} different system prompts (first change at line "
                f"{self.first_system_change}): every line of one dataset should carry the same "
                f"system prompt, the one used at inference"
            )
        if r.n_over_limit:
            r.warnings.append(
                f"{r.n_over_limit} examples over the {r.token_limit:,}-token limit will be "
                f"truncated in training (first at line {r.first_over_limit})"
            )
        if len(r.formats_seen) > 1:
            mix = ", ".join(f"{k} {v}" for k, v in sorted(r.formats_seen.items()))
            r.warnings.append(f"lines in more than one format ({mix}); checked as {r.format}")
        return r


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
        with Path(path).open("rb") as f:
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
    errors = {k: v for k, v in r.errors.items() if v}
    if not errors:
        lines.append("errors: none")
    for kind, count in errors.items():
        if kind == "too_few_examples":
            lines.append(
                f"error too_few_examples: {r.n_examples} examples, fine-tuning needs at least "
                f"{MIN_EXAMPLES}"
            )
        else:
            lines.append(f"error {kind}: {count:,} (first at line {r.first_line[kind]})")
    if r.total_tokens is not None and r.assistant_tokens is not None:
        lines.append(_stats_line(f"tokens per example ({r.encoding})", r.total_tokens))
        lines.append(_stats_line("assistant tokens per example", r.assistant_tokens))
        lines.append(f"epochs {r.n_epochs}, ≈ {r.billed_tokens:,} billed tokens")
    lines += [f"warning: {w}" for w in r.warnings]
    return "\n".join(lines)
