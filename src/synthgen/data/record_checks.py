"""Per-format checks of one parsed line for ``synthgen validate``: the "check" column of the
table in ``synthgen.data.shapes``. Each check records the error kinds it finds, the line's
messages in chat form (for token counting), its system prompt, and notes (warnings that are
not errors, counted per line).

Chat lines (``openai``/``trl``) get the OpenAI cookbook's error kinds; the other formats are
checked for their own keys (see ``synthgen.data.validate``).
"""

from __future__ import annotations

from typing import Any

from synthgen.data.record_writers import SHAREGPT_FROM
from synthgen.data.tool_checks import TOOL_ERRORS, check_tool_use

__all__ = [
    "ALPACA_ERRORS",
    "CHAT_ERRORS",
    "CHAT_KEYS",
    "CHAT_ROLES",
    "NO_SYSTEM",
    "OPENAI_LINE_KEYS",
    "PROMPT_COMPLETION_ERRORS",
    "REASONING_KEY",
    "SHAREGPT_ERRORS",
    "SHAREGPT_ROLES",
    "LineCheck",
    "check_alpaca",
    "check_chat",
    "check_openai",
    "check_prompt_completion",
    "check_sharegpt",
]

CHAT_KEYS = frozenset(
    {"role", "content", "name", "function_call", "weight", "tool_calls", "tool_call_id"}
)
CHAT_ROLES = frozenset({"system", "user", "assistant", "tool", "function"})
# An assistant turn's reasoning, as synthgen writes it (--reasoning keep): not a key of the
# cookbook's, so openai lines carrying it get a note (OpenAI's own fine-tuning lists no such
# key), while trl and prompt-completion lines take it as their trainers' templates do.
REASONING_KEY = "reasoning_content"
# The top-level keys OpenAI's chat fine-tuning format documents. The cookbook does not check
# them, so others are a note, not an error; synthgen writes no others into openai lines.
OPENAI_LINE_KEYS = frozenset({"messages", "tools", "functions", "parallel_tool_calls"})
# ShareGPT speakers the loaders know (LLaMA-Factory adds function_call/observation) -> chat
# role. Reading seeds is more lenient (see seed_records): it takes what is found in the wild.
SHAREGPT_ROLES = {
    **{v: k for k, v in SHAREGPT_FROM.items()},
    "user": "user",
    "assistant": "assistant",
    "function_call": "assistant",
    "observation": "tool",
}

_MESSAGE_ERRORS = (
    "data_type",
    "message_missing_key",
    "message_unrecognized_key",
    "unrecognized_role",
    "missing_content",
    "invalid_weight",
)
CHAT_ERRORS = (
    "missing_messages_list",
    *_MESSAGE_ERRORS,
    "example_missing_assistant_message",
    *TOOL_ERRORS,
)
PROMPT_COMPLETION_ERRORS = (
    "missing_key",
    "wrong_type",
    *_MESSAGE_ERRORS,
    "example_missing_assistant_message",
    *TOOL_ERRORS,
)
SHAREGPT_ERRORS = (
    "missing_key",
    "wrong_type",
    "data_type",
    "unrecognized_role",
    "missing_content",
    "example_missing_assistant_message",
)
ALPACA_ERRORS = ("missing_key", "wrong_type", "missing_content")

# A system-prompt value distinct from every string: "this line has none".
NO_SYSTEM = object()


Messages = list[dict[str, Any]]


class LineCheck:
    """Findings for one parsed line."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.notes: list[str] = []
        self.messages: Messages = []
        self.system: object = NO_SYSTEM


def _check_messages(messages: list[Any], out: LineCheck) -> None:
    """The cookbook's per-message checks; well-formed objects are added to ``out.messages``."""
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
        if any(k not in CHAT_KEYS and not _reasoning(m, k) for k in m):
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


def _system_of(messages: Messages) -> object:
    first = messages[0] if messages else {}
    return first.get("content") if first.get("role") == "system" else NO_SYSTEM


def check_chat(record: dict[str, Any], out: LineCheck, *, openai: bool = False) -> None:
    messages = record.get("messages")
    if not isinstance(messages, list) or not messages:
        out.errors.append("missing_messages_list")
        return
    _check_messages(messages, out)
    if not any(m.get("role") == "assistant" for m in out.messages):
        out.errors.append("example_missing_assistant_message")
    check_tool_use(record, messages, out.errors, text_arguments=openai)
    out.system = _system_of(out.messages)


def check_openai(record: dict[str, Any], out: LineCheck) -> None:
    check_chat(record, out, openai=True)
    if any(k not in OPENAI_LINE_KEYS for k in record):
        out.notes.append("extra_keys")
    if any(REASONING_KEY in m for m in out.messages):
        out.notes.append("reasoning")


def _reasoning(message: dict[str, Any], key: str) -> bool:
    """Whether ``key`` is an assistant turn's reasoning (--reasoning keep): the key open-weight
    chat templates read, text on an assistant message; anywhere else it is unrecognised."""
    return (
        key == REASONING_KEY
        and message.get("role") == "assistant"
        and isinstance(message[key], str)
    )


def _string_field(record: dict[str, Any], key: str, out: LineCheck, *, required: bool) -> str:
    if key not in record:
        if required:
            out.errors.append("missing_key")
        return ""
    value = record[key]
    if not isinstance(value, str):
        out.errors.append("wrong_type")
        return ""
    return value


def check_prompt_completion(record: dict[str, Any], out: LineCheck) -> None:
    """TRL's two prompt-completion forms: both halves lists of messages (conversational, what
    synthgen writes) or both strings (standard); a mix of the two is ``wrong_type``."""
    if "prompt" not in record or "completion" not in record:
        out.errors.append("missing_key")
        return
    prompt, completion = record["prompt"], record["completion"]
    if isinstance(prompt, list) and isinstance(completion, list):
        # TRL reads the first message of each half to tell the form: neither may be empty.
        if not prompt or not completion:
            out.errors.append("missing_content")
        _check_messages(prompt, out)
        out.system = _system_of(out.messages)
        before = len(out.messages)
        _check_messages(completion, out)
        if not any(m.get("role") == "assistant" for m in out.messages[before:]):
            out.errors.append("example_missing_assistant_message")
        check_tool_use(record, prompt + completion, out.errors, text_arguments=False)
        return
    if not isinstance(prompt, str) or not isinstance(completion, str):
        out.errors.append("wrong_type")
        return
    if not completion:
        out.errors.append("missing_content")
    out.messages = [
        {"role": "user", "content": prompt},
        {"role": "assistant", "content": completion},
    ]


def check_sharegpt(record: dict[str, Any], out: LineCheck) -> None:
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


def check_alpaca(record: dict[str, Any], out: LineCheck) -> None:
    instruction = _string_field(record, "instruction", out, required=True)
    output = _string_field(record, "output", out, required=True)
    extra = _string_field(record, "input", out, required=False)
    if isinstance(record.get("output"), str) and not output:
        out.errors.append("missing_content")
    if "system" in record:
        out.system = _string_field(record, "system", out, required=False)
        out.messages.append({"role": "system", "content": out.system})
        out.notes.append("system")
    history = record.get("history", [])
    if not isinstance(history, list) or not all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(s, str) for s in p) for p in history
    ):
        out.errors.append("wrong_type")
        history = []
    if history:
        out.notes.append("history")
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
