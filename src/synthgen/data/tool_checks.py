"""``synthgen validate``'s checks of tool-calling chat lines (``openai``, ``trl``,
``prompt-completion``), beside the cookbook's per-message checks in ``record_checks``.

The cookbook's data check lets an assistant turn carry ``tool_calls`` instead of content and
knows the ``tool`` role; OpenAI's fine-tuning format adds what a tool-calling line must hold,
and each broken rule is an error kind of its own, counted per occurrence:

- ``invalid_tools``: ``tools`` is not a list of function definitions (``{"type":
  "function", "function": {"name", "parameters"}}``, ``parameters`` a valid JSON Schema), or
  ``parallel_tool_calls`` is not a boolean;
- ``invalid_tool_call``: a ``tool_calls`` entry lacks its ``id`` (openai lines; TRL rows may
  omit it), ``type: "function"`` or the function's name, has its arguments in the wrong type
  (openai: JSON text; TRL: an object or JSON text), or sits on a non-assistant message;
- ``unknown_tool``, ``invalid_arguments``, ``orphan_tool_message``, ``unanswered_tool_call``,
  ``parallel_tool_calls`` and ``duplicate_call_id``: as the curation filters name them
  (``synthgen.data.tools``). A line may end on a call: that is how a model learns to call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from synthgen.data.tools import argument_problem, definition_problem, tool_name

__all__ = ["TOOL_ERRORS", "check_tool_use"]

TOOL_ERRORS = (
    "invalid_tools",
    "invalid_tool_call",
    "unknown_tool",
    "invalid_arguments",
    "orphan_tool_message",
    "unanswered_tool_call",
    "parallel_tool_calls",
    "duplicate_call_id",
)


def _uses_tools(record: Mapping[str, Any], messages: list[Any]) -> bool:
    if "tools" in record or "parallel_tool_calls" in record:
        return True
    return any(
        isinstance(m, dict) and (m.get("tool_calls") is not None or m.get("role") == "tool")
        for m in messages
    )


def _tools(record: Mapping[str, Any], errors: list[str]) -> dict[str, Any] | None:
    """The line's tools by name; None when they are broken, and then which tools exist is
    unknown, so calls are not checked against them."""
    raw = record.get("tools", [])
    parallel = record.get("parallel_tool_calls")
    if parallel is not None and not isinstance(parallel, bool):
        errors.append("invalid_tools")
    if not isinstance(raw, list):
        errors.append("invalid_tools")
        return None
    tools: dict[str, Any] = {}
    for item in raw:
        if definition_problem(item) is not None or tool_name(item) in tools:
            errors.append("invalid_tools")
            return None
        tools[tool_name(item)] = item
    return tools


def check_tool_use(
    record: Mapping[str, Any], messages: list[Any], errors: list[str], *, text_arguments: bool
) -> None:
    """Append the tool error kinds of one line's ``messages`` to ``errors``;
    ``text_arguments``: arguments must be JSON text and ids present (OpenAI's format)."""
    if not _uses_tools(record, messages):
        return
    tools = _tools(record, errors)
    parallel = record.get("parallel_tool_calls")
    pending: list[str] = []
    used: set[str] = set()
    for m in messages:
        if not isinstance(m, dict):
            continue
        if m.get("role") == "tool":
            call_id = m.get("tool_call_id")
            if call_id is None and not text_arguments and pending:
                pending.pop(0)  # TRL rows: results answer the calls in order
            elif isinstance(call_id, str) and call_id in pending:
                pending.remove(call_id)
            else:
                errors.append("orphan_tool_message")
                if pending:  # a result under a wrong id: counted once, not twice
                    pending.pop(0)
            continue
        if pending:
            errors.append("unanswered_tool_call")
            pending = []
        calls = m.get("tool_calls")
        if calls is None:
            continue
        if m.get("role") != "assistant" or not isinstance(calls, list) or not calls:
            errors.append("invalid_tool_call")
            continue
        if parallel is False and len(calls) > 1:
            errors.append("parallel_tool_calls")
        for k, call in enumerate(calls):
            call_id = _check_call(call, tools, errors, text_arguments=text_arguments)
            call_id = call_id if call_id is not None else f"#{len(used)}:{k}"
            if call_id in used:
                errors.append("duplicate_call_id")
            used.add(call_id)
            pending.append(call_id)


def _check_call(
    call: object, tools: Mapping[str, Any] | None, errors: list[str], *, text_arguments: bool
) -> str | None:
    """The call's id (None when it has none); its error kinds appended to ``errors``."""
    if not isinstance(call, Mapping):
        errors.append("invalid_tool_call")
        return None
    call_id = call.get("id")
    if not isinstance(call.get("function"), Mapping):
        errors.append("invalid_tool_call")
        return call_id if isinstance(call_id, str) else None
    function = call["function"]
    name, arguments = function.get("name"), function.get("arguments")
    bad_id = (call_id is None and text_arguments) or (
        call_id is not None and not isinstance(call_id, str)
    )
    bad_type = call.get("type", None if not text_arguments else "") not in ("function", None)
    as_object = not text_arguments and isinstance(arguments, dict)  # TRL's form
    bad_args = not isinstance(arguments, str) and not as_object
    if bad_id or bad_type or not isinstance(name, str) or bad_args:
        errors.append("invalid_tool_call")
    if isinstance(name, str) and tools is not None:
        if name not in tools:
            errors.append("unknown_tool")
        elif not bad_args and argument_problem(tools[name], arguments) is not None:
            errors.append("invalid_arguments")
    return call_id if isinstance(call_id, str) else None
