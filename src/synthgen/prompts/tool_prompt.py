"""Asking the teacher for tool-calling conversations, when the seeds carry ``tools``.

Added to any template's request rather than written into each template, so user templates
get it too: the tool definitions and the rules go after the template's own last user
message, the ``conversations`` schema gains ``tool`` messages, ``tool_calls`` and
``tool_call_id`` (strict structured output wants every property required, so the others
carry null), and the examples the template shows spell their calls out as text.

The definitions are one line starting with ``TOOLS_LINE``: the offline demo teacher reads
them back from the prompt (``synthgen.teacher.demo_tools``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from synthgen.data.example import Message
from synthgen.data.tools import TOOLS_LINE, Toolbox
from synthgen.prompts.plan import RequestPlan
from synthgen.prompts.reply import message_schema, with_instruction

__all__ = [
    "TOOLS_LINE",
    "ask_for_tool_calls",
    "schema_with_tools",
    "template_message",
    "with_tools",
]


_RULES = (
    "The dataset's assistant can call the tools above. In the new conversations, the assistant"
    " calls them where the user's request needs them, as the examples do:\n"
    '- A call is an assistant message with "content": null and "tool_calls": [{"id": "call_1",'
    ' "type": "function", "function": {"name": "<a tool above>", "arguments": "<JSON object'
    " as text>\"}}]; the arguments follow the tool's parameters schema (required fields,"
    " types, enums).\n"
    '- Every call is answered by a message {"role": "tool", "tool_call_id": "<the call\'s'
    ' id>", "content": "<the result>"} right after it: write a realistic result.\n'
    "- Call only the tools above; after the results, the assistant gives its final answer"
    " to the user, based on them: every conversation ends with that answer.\n"
    '- Messages without calls have "tool_calls": null; messages other than tool results'
    ' have "tool_call_id": null.'
)
_ONE_CALL = "- Make at most one call per assistant message (parallel_tool_calls is false)."


def with_tools(
    messages: list[dict[str, Any]],
    response_format: dict[str, Any] | None,
    toolbox: Toolbox,
    plan: RequestPlan,
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """A request's prompt and response format asking for calls of the tools ``plan``'s
    seeds carry (as they are when those seeds carry none)."""
    tools, parallel = toolbox(plan.shots)
    if not tools:
        return messages, response_format
    return ask_for_tool_calls(messages, tools, parallel), schema_with_tools(response_format)


def ask_for_tool_calls(
    messages: list[dict[str, str]], tools: Sequence[dict[str, Any]], parallel: bool | None
) -> list[dict[str, str]]:
    """``messages`` (a rendered prompt, ending with a user message) asking for conversations
    that call ``tools``."""
    definitions = json.dumps(list(tools), ensure_ascii=False, separators=(",", ":"))
    rules = _RULES + ("\n" + _ONE_CALL if parallel is False else "")
    return with_instruction(messages, f"{TOOLS_LINE}{definitions}\n\n{rules}")


def schema_with_tools(response_format: dict[str, Any] | None) -> dict[str, Any] | None:
    """``response_format`` whose conversations schema admits tool calls and results; any
    other format as it is."""
    found = message_schema(response_format)
    if found is None:
        return response_format
    out, message = found
    props = message["properties"]
    props["role"] = {"type": "string", "enum": ["user", "assistant", "tool"]}
    props["content"] = {"type": ["string", "null"]}
    function = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "arguments": {"type": "string"}},
        "required": ["name", "arguments"],
        "additionalProperties": False,
    }
    call = {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "type": {"type": "string", "enum": ["function"]},
            "function": function,
        },
        "required": ["id", "type", "function"],
        "additionalProperties": False,
    }
    props["tool_calls"] = {"type": ["array", "null"], "items": call}
    props["tool_call_id"] = {"type": ["string", "null"]}
    message["required"] = [*message.get("required", []), "tool_calls", "tool_call_id"]
    return out


def template_message(m: Message) -> dict[str, Any]:
    """A message as templates show it: its calls and the call a result answers spelled out
    in ``content``, since templates print role and content only."""
    content = m.content
    if m.tool_calls:
        calls = "; ".join(
            f"calls {c.name} with {c.function.arguments} (id {c.id})" for c in m.tool_calls
        )
        content = f"{content}\n[{calls}]".strip()
    elif m.role == "tool":
        content = f"[result of {m.tool_call_id}] {content}"
    return {"role": m.role, "content": content}
