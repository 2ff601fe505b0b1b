"""The schema filter for tool-calling conversations: a teacher's conversation in which the
assistant calls the seeds' tools, built into an Example that keeps those tools, or dropped
with the reason (``synthgen.data.tools`` lists the tool reasons: ``unknown_tool``,
``invalid_arguments``, ``orphan_tool_message``, ``unanswered_tool_call``,
``parallel_tool_calls``, ``duplicate_call_id``, ``missing_final_answer``).

What a teacher writes is read leniently where the meaning is plain: arguments as JSON text
or as an object, a call as ``{"id", "function": {"name", "arguments"}}`` or flat ``{"id",
"name", "arguments"}``, a result without ``tool_call_id`` answering the next open call, a
result given as JSON rather than text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from synthgen.curate.drop import Drop
from synthgen.data.example import Example, Message
from synthgen.data.tool_call import FunctionCall, ToolCall, parse_arguments
from synthgen.data.tool_records import answer_in_order
from synthgen.data.tools import tool_use_problem

__all__ = ["calls_tools", "to_tool_example"]


def calls_tools(raw: Sequence[Mapping[str, Any]]) -> bool:
    """Whether a reply's conversation has tool calls or tool results."""
    return any(
        isinstance(m, Mapping) and (m.get("tool_calls") or m.get("role") == "tool") for m in raw
    )


def _calls(raw: object, n: int) -> tuple[ToolCall, ...] | Drop:
    if not isinstance(raw, list) or not raw:
        return Drop("schema", f"message {n}: tool_calls is not a list of calls")
    calls = []
    for k, item in enumerate(raw, 1):
        if not isinstance(item, Mapping):
            return Drop("schema", f"message {n}: call {k} is not an object")
        function = item.get("function", item)  # the flat form has name/arguments at the top
        name = function.get("name") if isinstance(function, Mapping) else None
        if not isinstance(name, str) or not name.strip():
            return Drop("schema", f"message {n}: call {k} names no function")
        args = function.get("arguments", {})
        if not isinstance(parse_arguments(args), dict):
            return Drop(
                "invalid_arguments", f"message {n}: {name}: arguments are not a JSON object"
            )
        text = args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)
        call_id = item.get("id")
        call_id = call_id if isinstance(call_id, str) and call_id else f"call_{n}_{k}"
        calls.append(ToolCall(id=call_id, function=FunctionCall(name=name, arguments=text)))
    return tuple(calls)


def _content(m: Mapping[str, Any], n: int, role: str, calls: bool) -> str | Drop:
    content = m.get("content")
    if role == "tool" and isinstance(content, (dict, list)):
        content = json.dumps(content, ensure_ascii=False)  # a result given as JSON
    if content is None and calls:
        return ""
    if not isinstance(content, str):
        return Drop("schema", f"message {n} has no text content")
    if not content.strip() and not calls:
        return Drop("empty_content", f"message {n} ({role}) is empty")
    if "\ufffd" in content:
        return Drop("broken_text", f"message {n} ({role}) has a broken character (U+FFFD)")
    return content.strip()


def _message(m: Mapping[str, Any], n: int, previous: Message | None) -> Message | Drop:
    role = m.get("role")
    if role not in ("user", "assistant", "tool"):
        return Drop("schema", f"message {n} has role {role!r}")
    if role == "user" and previous is not None and previous.role != "assistant":
        return Drop("schema", f"message {n} is user, after {previous.role}")
    after_answer = previous is not None and previous.role == "assistant" and not previous.tool_calls
    if role == "assistant" and after_answer and not m.get("tool_calls"):
        return Drop("schema", f"message {n} is assistant, after assistant")
    calls: tuple[ToolCall, ...] | None = None
    if m.get("tool_calls"):
        if role != "assistant":
            return Drop("orphan_tool_message", f"message {n} ({role}) makes tool calls")
        found = _calls(m["tool_calls"], n)
        if isinstance(found, Drop):
            return found
        calls = found
    content = _content(m, n, str(role), calls is not None)
    if isinstance(content, Drop):
        return content
    call_id = m.get("tool_call_id") if role == "tool" else None
    return Message.model_construct(
        role=role,
        content=content,
        tool_calls=calls,
        tool_call_id=call_id if isinstance(call_id, str) else None,
    )


def to_tool_example(
    raw: Sequence[dict[str, Any]],
    *,
    metadata: dict[str, Any],
    tools: Sequence[dict[str, Any]],
    parallel: bool | None = None,
    head: tuple[Message, ...] = (),
) -> Example | Drop:
    """A conversation of a tool-calling dataset as an Example carrying ``tools``, or the
    reason it is dropped. ``head`` is what the example starts with: the dataset's system
    message, if it has one."""
    msgs = list(raw)
    if msgs and msgs[0].get("role") == "system":
        msgs = msgs[1:]
    if not msgs:
        return Drop("schema", "conversation has no user/assistant turns")
    if msgs[0].get("role") != "user":
        return Drop("schema", f"message 1 is {msgs[0].get('role')}, expected user")
    turns: list[Message] = []
    for n, m in enumerate(msgs, 1):
        built = _message(m, n, turns[-1] if turns else None)
        if isinstance(built, Drop):
            return built
        turns.append(built)
    answer_in_order(turns)
    problem = tool_use_problem(turns, tools, parallel=parallel, final_answer=True)
    if problem is not None:
        return Drop(*problem)
    return Example.model_construct(
        messages=head + tuple(turns),
        metadata=metadata,
        tools=tuple(tools),
        parallel_tool_calls=parallel,
    )
