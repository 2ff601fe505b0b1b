"""The one table of record shapes, used by reading, writing and validation.

Each output format is one row: the top-level keys a line in it is recognised by, how such a
line is read into an Example (seeds, ``synthgen dedup``/``split``), how an Example is written
in it (``--format``), how ``synthgen validate`` checks it and with which error kinds, whether
its rows can carry a ``metadata`` object, and whether OpenAI chat fine-tuning accepts it (only
``openai`` is). The per-format functions live beside each other by role: readers in
``seed_records``, writers in ``record_writers``, checks in ``record_checks``.

Lines are recognised in the order of ``DETECT_ORDER``: a ``messages`` line with top-level keys
OpenAI's format does not list (``metadata``, ``category``, ...) is ``trl``, which allows extra
columns; prompt/completion is tried before instruction/output.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from synthgen.data import record_checks as checks
from synthgen.data import record_writers as writers
from synthgen.data import seed_records as readers
from synthgen.data.example import Example, Message
from synthgen.data.tool_records import read_tool_fields
from synthgen.errors import SeedError

__all__ = [
    "DETECT_ORDER",
    "FORMATS",
    "METADATA_KEY",
    "SHAPES",
    "Shape",
    "detect",
    "parse_record",
    "parse_shaped",
]

# Where rows of the formats that allow extra columns keep an Example's metadata.
METADATA_KEY = "metadata"

Reader = Callable[[Mapping[str, Any], str], list[Message]]
Writer = Callable[[Example], dict[str, Any]]
Checker = Callable[[dict[str, Any], checks.LineCheck], None]


@dataclass(frozen=True)
class Shape:
    """One output format and everything synthgen knows about its records."""

    name: str  # the --format value
    label: str  # how validate names it
    rules: str  # what validate checks it against
    summary: str  # one line for the dataset card
    seed_name: str  # how the seeds section of the report names it
    keys: frozenset[str]  # a line has all of these ...
    only: frozenset[str] | None  # ... and, when set, no other top-level key
    reads: frozenset[str]  # top-level keys read into messages; the rest is metadata
    read: Reader
    write: Writer
    check: Checker
    errors: tuple[str, ...]  # the error kinds ``check`` can report
    notes: Mapping[str, str] = field(default_factory=dict)  # warning per note, "N lines ..."
    carries_metadata: bool = True
    openai: bool = False  # accepted by OpenAI chat fine-tuning
    # Writes an assistant turn's reasoning (reasoning_content, --reasoning keep).
    carries_reasoning: bool = False

    def matches(self, record: Mapping[str, Any]) -> bool:
        """Whether ``record`` is recognised as this shape (ignoring the detection order)."""
        only = self.only
        return self.keys.issubset(record) and (only is None or all(k in only for k in record))

    def accepts(self, record: Mapping[str, Any]) -> bool:
        """Whether ``record`` has this shape's keys: an ``openai`` line is also a ``trl`` one."""
        return self.keys.issubset(record)


_CHAT = frozenset({"messages"})
# Top-level keys of a tool-calling row, read into the Example (tools are kept per row).
_TOOL_KEYS = frozenset({"tools", "parallel_tool_calls"})
_WITH_METADATA = ", with its `metadata`"

SHAPES: dict[str, Shape] = {
    s.name: s
    for s in (
        Shape(
            name="openai",
            label="openai chat format",
            rules="the OpenAI cookbook's checks for chat fine-tuning",
            summary='OpenAI chat fine-tuning JSONL: one `{"messages": [{"role", "content"}, ...]}`'
            " object per line",
            seed_name="chat",
            keys=_CHAT,
            only=checks.OPENAI_LINE_KEYS,
            reads=_CHAT | _TOOL_KEYS,
            read=readers.read_chat,
            write=writers.write_chat,
            check=checks.check_openai,
            errors=checks.CHAT_ERRORS,
            notes={
                "extra_keys": "with top-level keys besides messages, tools, functions and"
                " parallel_tool_calls, the only ones OpenAI's chat format lists: remove them"
                " before uploading to OpenAI",
                "reasoning": "with reasoning_content on assistant messages: open-weight"
                " trainers' chat templates (Qwen3, DeepSeek-R1) read it; OpenAI's fine-tuning"
                " lists no such key: remove it before uploading to OpenAI",
            },
            carries_metadata=False,
            openai=True,
            carries_reasoning=True,
        ),
        Shape(
            name="prompt-completion",
            label="prompt-completion format",
            rules="TRL's prompt-completion rows (conversational: lists of messages;"
            " standard: strings)",
            summary='TRL conversational prompt-completion JSONL: one `{"prompt": [messages],'
            ' "completion": [the final assistant message]}` per line' + _WITH_METADATA,
            seed_name="prompt-completion",
            keys=frozenset({"prompt", "completion"}),
            only=None,
            reads=frozenset({"prompt", "completion", "system"}) | _TOOL_KEYS,
            read=readers.read_prompt_completion,
            write=writers.write_prompt_completion,
            check=checks.check_prompt_completion,
            errors=checks.PROMPT_COMPLETION_ERRORS,
            carries_reasoning=True,
        ),
        Shape(
            name="sharegpt",
            label="ShareGPT format",
            rules="ShareGPT as axolotl's chat_template and LLaMA-Factory read it",
            summary='ShareGPT JSONL: one `{"conversations": [{"from", "value"}, ...]}` per line'
            + _WITH_METADATA,
            seed_name="sharegpt",
            keys=frozenset({"conversations"}),
            only=None,
            reads=frozenset({"conversations", "system", "tools"}),
            read=readers.read_sharegpt,
            write=writers.write_sharegpt,
            check=checks.check_sharegpt,
            errors=checks.SHAREGPT_ERRORS,
        ),
        Shape(
            name="alpaca",
            label="Alpaca format",
            rules="Alpaca as LLaMA-Factory reads it (instruction, input, output; optional"
            " system and history)",
            summary="Alpaca JSONL: `instruction`, `input`, `output` (plus `system`, `history`,"
            " `metadata`)",
            seed_name="alpaca",
            keys=frozenset({"instruction", "output"}),
            only=None,
            reads=frozenset({"instruction", "input", "output", "system", "history"}),
            read=readers.read_alpaca,
            write=writers.write_alpaca,
            check=checks.check_alpaca,
            errors=checks.ALPACA_ERRORS,
            notes={
                "history": "with earlier turns in `history`: LLaMA-Factory reads them, axolotl's"
                " alpaca loaders drop them (for axolotl, write --format sharegpt)",
                "system": "with a `system` field: axolotl's `type: alpaca` ignores it (map it"
                " with `field_system`, as the dataset card shows)",
            },
        ),
        Shape(
            name="trl",
            label="TRL conversational format",
            rules="TRL's conversational rows (the cookbook's message checks; extra columns"
            " allowed)",
            summary='TRL conversational JSONL: one `{"messages": [{"role", "content"}, ...]}` per'
            " line" + _WITH_METADATA,
            seed_name="chat",
            keys=_CHAT,
            only=None,
            reads=_CHAT | _TOOL_KEYS,
            read=readers.read_chat,
            write=writers.write_trl,
            check=checks.check_chat,
            errors=checks.CHAT_ERRORS,
            carries_reasoning=True,
        ),
    )
}

FORMATS: tuple[str, ...] = tuple(SHAPES)
DETECT_ORDER: tuple[str, ...] = ("openai", "trl", "sharegpt", "prompt-completion", "alpaca")
_EXPECTED = "expected messages, prompt/completion, instruction/output or conversations"


def detect(record: object) -> Shape | None:
    """The shape of a parsed line, judged by its top-level keys; None if it has none."""
    if not isinstance(record, Mapping):
        return None
    for name in DETECT_ORDER:
        if SHAPES[name].matches(record):
            return SHAPES[name]
    return None


def parse_record(record: object, where: str) -> Example:
    """Turn one JSON-shaped record (chat, prompt/completion, Alpaca, ShareGPT) into an Example;
    ``where`` (e.g. ``"data.jsonl:3"``) prefixes any error message."""
    return parse_shaped(record, where)[1]


def parse_shaped(record: object, where: str) -> tuple[str, Example]:
    """``(shape, example)``: the shape is ``chat``, ``sharegpt``, ``prompt-completion`` or
    ``alpaca``. Keys the shape does not read become the example's metadata, and a
    ``metadata`` object (as synthgen writes it) is unpacked into it."""
    if not isinstance(record, Mapping):
        raise SeedError(f"{where}: expected a JSON object, got {readers.json_type(record)}")
    keys = set(record)
    if not keys & {"messages", "conversations"} and {"prompt", "chosen", "rejected"} <= keys:
        raise SeedError(
            f"{where}: preference records (prompt/chosen/rejected) are not supported;"
            ' convert them to {"messages": [...]} with the chosen reply'
        )
    shape = detect(record)
    if shape is None:
        listed = ", ".join(repr(k) for k in record)
        raise SeedError(f"{where}: unrecognised record with keys [{listed}]: {_EXPECTED}")
    messages = shape.read(record, where)
    if "system" in shape.reads and record.get("system") not in (None, ""):
        # LLaMA-Factory and others put the system prompt in a top-level field.
        system = readers.read_string(record, "system", where)
        messages.insert(0, Message(role="system", content=system))
    readers.check_conversation(messages, where)
    tools = read_tool_fields(record, messages, where) if "tools" in shape.reads else {}
    return shape.seed_name, Example(
        messages=tuple(messages), metadata=_metadata(record, shape), **tools
    )


def _metadata(record: Mapping[str, Any], shape: Shape) -> dict[str, Any]:
    extra = {k: v for k, v in record.items() if k not in shape.reads}
    nested = extra.get(METADATA_KEY)
    if isinstance(nested, dict):
        # Keys beside the object were put there on purpose, so they win over its keys.
        del extra[METADATA_KEY]
        return {**nested, **extra}
    return extra
