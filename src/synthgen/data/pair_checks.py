"""``synthgen validate`` for preference pairs: OpenAI's DPO rows and TRL's preference rows, as
two more shapes beside the table of ``synthgen.data.shapes`` (they are checked and detected,
never read as seeds nor written from an Example: ``synthgen.data.pair_records`` writes them).

OpenAI DPO (``input``, ``preferred_output``, ``non_preferred_output``): the cookbook's message
checks on ``input.messages`` and both outputs (``missing_messages_list`` when ``input`` has no
list of messages), and per output ``invalid_preferred_output`` /
``invalid_non_preferred_output`` unless it is a list of exactly one assistant message;
``input_missing_final_user_message`` when the input does not end with the turn the outputs
answer; ``identical_outputs`` when the two outputs say the same thing (nothing to prefer).
TRL preference (``prompt``, ``chosen``, ``rejected``): conversational (lists of messages) or
standard (strings), checked like TRL's prompt-completion rows, plus ``identical_outputs``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from synthgen.data.example import Message
from synthgen.data.record_checks import _check_messages, _system_of
from synthgen.data.shapes import Shape
from synthgen.errors import SeedError

__all__ = ["DPO_ERRORS", "PAIR_SHAPES", "PREFERENCE_ERRORS", "check_dpo", "check_preference"]

_MESSAGE_ERRORS = (
    "data_type",
    "message_missing_key",
    "message_unrecognized_key",
    "unrecognized_role",
    "missing_content",
)
DPO_ERRORS = (
    "missing_messages_list",
    *_MESSAGE_ERRORS,
    "invalid_preferred_output",
    "invalid_non_preferred_output",
    "input_missing_final_user_message",
    "identical_outputs",
)
PREFERENCE_ERRORS = (
    "missing_key",
    "wrong_type",
    *_MESSAGE_ERRORS,
    "example_missing_assistant_message",
    "identical_outputs",
)
_DPO_KEYS = frozenset({"input", "preferred_output", "non_preferred_output"})
_PREFERENCE_KEYS = frozenset({"prompt", "chosen", "rejected"})


def _output(value: object, out: Any, error: str) -> str | None:
    """The content of a one-message assistant output; None (and ``error``) otherwise."""
    if not isinstance(value, list) or len(value) != 1:
        out.errors.append(error)
        return None
    before = len(out.messages)
    _check_messages(value, out)
    message = out.messages[before] if len(out.messages) > before else {}
    if message.get("role") != "assistant":
        out.errors.append(error)
        return None
    content = message.get("content")
    return content if isinstance(content, str) else None


def check_dpo(record: dict[str, Any], out: Any) -> None:
    given = record.get("input")
    messages = given.get("messages") if isinstance(given, dict) else None
    if not isinstance(messages, list) or not messages:
        out.errors.append("missing_messages_list")
        messages = []
    _check_messages(messages, out)
    out.system = _system_of(out.messages)
    last = out.messages[-1].get("role") if out.messages else None
    if messages and last not in ("user", "tool"):
        out.errors.append("input_missing_final_user_message")
    good = _output(record.get("preferred_output"), out, "invalid_preferred_output")
    before = len(out.messages)
    bad = _output(record.get("non_preferred_output"), out, "invalid_non_preferred_output")
    del out.messages[before:]  # tokens are counted on the input and the preferred output
    if good is not None and good == bad:
        out.errors.append("identical_outputs")


def check_preference(record: dict[str, Any], out: Any) -> None:
    if not set(record) >= _PREFERENCE_KEYS:
        out.errors.append("missing_key")
        return
    prompt, chosen, rejected = record["prompt"], record["chosen"], record["rejected"]
    if all(isinstance(x, str) for x in (prompt, chosen, rejected)):
        if not chosen or not rejected:
            out.errors.append("missing_content")
        elif chosen == rejected:
            out.errors.append("identical_outputs")
        out.messages = [
            {"role": "user", "content": prompt},
            {"role": "assistant", "content": chosen},
        ]
        return
    if not all(isinstance(x, list) and x for x in (prompt, chosen, rejected)):
        out.errors.append("wrong_type")
        return
    _check_messages(prompt, out)
    out.system = _system_of(out.messages)
    texts = []
    for side in (chosen, rejected):
        before = len(out.messages)
        _check_messages(side, out)
        answers = [m for m in out.messages[before:] if m.get("role") == "assistant"]
        if not answers:
            out.errors.append("example_missing_assistant_message")
        texts.append([m.get("content") for m in answers])
        if side is rejected:
            del out.messages[before:]  # tokens: the prompt and the chosen side
    if texts[0] and texts[0] == texts[1]:
        out.errors.append("identical_outputs")


def _not_seeds(record: Mapping[str, Any], where: str) -> list[Message]:
    raise SeedError(f"{where}: preference records are not supported as seeds")


def _not_written(example: object) -> dict[str, Any]:
    raise TypeError("preference rows are written by synthgen.data.pair_records")


PAIR_SHAPES: dict[str, Shape] = {
    s.name: s
    for s in (
        Shape(
            name="openai-dpo",
            label="OpenAI preference (DPO) format",
            rules="OpenAI's preference fine-tuning rows (the cookbook's message checks on"
            " input and outputs; one assistant message per output)",
            summary='OpenAI preference fine-tuning (DPO) JSONL: `{"input": {"messages": [...]},'
            ' "preferred_output": [assistant message], "non_preferred_output": [...]}`',
            seed_name="openai-dpo",
            keys=_DPO_KEYS,
            only=_DPO_KEYS,
            reads=_DPO_KEYS,
            read=_not_seeds,
            write=_not_written,
            check=check_dpo,
            errors=DPO_ERRORS,
            carries_metadata=False,
            openai=True,
        ),
        Shape(
            name="trl-preference",
            label="TRL preference format",
            rules="TRL's preference rows (conversational: lists of messages; standard:"
            " strings; extra columns allowed)",
            summary='TRL conversational preference JSONL: `{"prompt": [messages], "chosen":'
            ' [assistant message], "rejected": [assistant message]}`, with its `metadata`',
            seed_name="trl-preference",
            keys=_PREFERENCE_KEYS,
            only=None,
            reads=_PREFERENCE_KEYS,
            read=_not_seeds,
            write=_not_written,
            check=check_preference,
            errors=PREFERENCE_ERRORS,
        ),
    )
}
