"""Tool calls in each record format: read from seeds and datasets, written per ``--format``.

- ``openai``: assistant ``tool_calls`` with the arguments as JSON text, ``tool`` messages with
  their ``tool_call_id``, top-level ``tools`` and ``parallel_tool_calls``.
- ``trl`` and ``prompt-completion``: the same, with the arguments as a JSON object (what
  transformers' chat templates render) and the tool's ``name`` on each ``tool`` message;
  ``tools`` is a column.
- ``sharegpt``: LLaMA-Factory's convention: a ``function_call`` turn holds
  ``{"name", "arguments"}`` as JSON text (a list of them for parallel calls), the
  ``observation`` turn after it the result (a JSON list of results for parallel calls), and
  ``tools`` is JSON text of the bare function definitions. Text an assistant writes beside
  its calls has no place there and is left out.

Reading accepts all of these (arguments as text or object) and checks the conversation
against its tools (:func:`synthgen.data.tools.tool_use_problem`): a broken seed is a one-line
``SeedError`` naming the record and the message.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from synthgen.data.example import Example, Message
from synthgen.data.tool_call import FunctionCall, ToolCall, parse_arguments
from synthgen.data.tools import read_tools, tool_use_problem
from synthgen.errors import SeedError

__all__ = [
    "SHAREGPT_TOOL_SPEAKERS",
    "answer_in_order",
    "call_names",
    "read_sharegpt_turns",
    "read_tool_calls",
    "read_tool_fields",
    "sharegpt_tools",
    "sharegpt_turns",
    "tool_parts",
    "uses_tools",
]

SHAREGPT_TOOL_SPEAKERS = ("function_call", "observation")


def _type_name(value: object) -> str:
    from synthgen.data.seed_records import json_type

    return json_type(value)


def read_tool_calls(raw: object, at: str) -> tuple[ToolCall, ...]:
    """A message's ``tool_calls`` (OpenAI's or TRL's form), or a ``SeedError`` naming ``at``."""
    if not isinstance(raw, list) or not raw:
        raise SeedError(f"{at}: tool_calls must be a non-empty list")
    calls = []
    for k, item in enumerate(raw, 1):
        where = f"{at}: tool call {k}"
        function = item.get("function") if isinstance(item, Mapping) else None
        if not isinstance(function, Mapping):
            raise SeedError(f"{where}: expected {{'id', 'type': 'function', 'function'}}")
        name = function.get("name")
        if not isinstance(name, str) or not name:
            raise SeedError(f"{where}: the function has no name")
        args = function.get("arguments", {})
        value = parse_arguments(args)
        if not isinstance(value, dict):
            raise SeedError(f"{where}: arguments of {name!r} must be a JSON object")
        text = args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)
        call_id = item.get("id")
        if call_id is None:
            call_id = f"call_{k}"  # TRL's rows often carry none; results then go in order
        if not isinstance(call_id, str) or not call_id:
            raise SeedError(f"{where}: id must be a string, got {_type_name(call_id)}")
        calls.append(ToolCall(id=call_id, function=FunctionCall(name=name, arguments=text)))
    return tuple(calls)


def uses_tools(messages: Sequence[Message]) -> bool:
    return any(m.tool_calls or m.role == "tool" for m in messages)


def read_tool_fields(
    record: Mapping[str, Any], messages: list[Message], where: str
) -> dict[str, Any]:
    """The Example fields a record's ``tools``/``parallel_tool_calls`` give, after checking
    its messages against them."""
    fields: dict[str, Any] = {}
    tools: tuple[dict[str, Any], ...] = ()
    if record.get("tools") not in (None, "", []):
        tools = read_tools(record["tools"], where)
        fields["tools"] = tools
    parallel = record.get("parallel_tool_calls")
    if parallel is not None:
        if not isinstance(parallel, bool):
            raise SeedError(f"{where}: 'parallel_tool_calls' must be true or false")
        fields["parallel_tool_calls"] = parallel
    if uses_tools(messages):
        answer_in_order(messages)
        problem = tool_use_problem(messages, tools, parallel=parallel, final_answer=False)
        if problem is not None:
            raise SeedError(f"{where}: {problem[1]}")
    return fields


def answer_in_order(messages: list[Message]) -> None:
    """Give ``tool`` results without an id (TRL's rows, some teachers' replies) the id of the
    next unanswered call, in place."""
    waiting: list[str] = []
    for i, m in enumerate(messages):
        if m.tool_calls:
            waiting = [c.id for c in m.tool_calls]
        elif m.role == "tool" and m.tool_call_id is None and waiting:
            messages[i] = m.model_copy(update={"tool_call_id": waiting.pop(0)})
        elif m.role == "tool" and m.tool_call_id in waiting:
            waiting.remove(m.tool_call_id)


def tool_parts(m: Message, names: Mapping[str, str]) -> dict[str, Any]:
    """A message's tool keys as TRL's rows have them (arguments as an object, the tool's
    name on each result); ``names`` maps call ids to tool names."""
    d: dict[str, Any] = {}
    if m.tool_calls:
        d["tool_calls"] = [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.name, "arguments": c.arguments_object()},
            }
            for c in m.tool_calls
        ]
    if m.role == "tool":
        if m.tool_call_id is not None and m.tool_call_id in names:
            d["name"] = names[m.tool_call_id]
        d["tool_call_id"] = m.tool_call_id
    return d


def call_names(example: Example) -> dict[str, str]:
    return {c.id: c.name for m in example.messages for c in m.tool_calls or ()}


def sharegpt_tools(tools: Sequence[Mapping[str, Any]]) -> str:
    """``tools`` as LLaMA-Factory's ShareGPT column: JSON text of the bare definitions."""
    return json.dumps([t["function"] for t in tools], ensure_ascii=False)


def sharegpt_turns(example: Example, speakers: Mapping[str, str]) -> list[dict[str, str]]:
    """The conversation in LLaMA-Factory's ShareGPT tool convention."""
    turns: list[dict[str, str]] = []
    results: list[str] = []

    def flush() -> None:
        if results:
            value = results[0] if len(results) == 1 else json.dumps(results, ensure_ascii=False)
            turns.append({"from": "observation", "value": value})
            results.clear()

    for m in example.messages:
        if m.role == "tool":
            results.append(m.content)
            continue
        flush()
        if m.tool_calls:
            calls = [{"name": c.name, "arguments": c.arguments_object()} for c in m.tool_calls]
            value = calls[0] if len(calls) == 1 else calls
            turns.append({"from": "function_call", "value": json.dumps(value, ensure_ascii=False)})
        else:
            turns.append({"from": speakers[m.role], "value": m.content})
    flush()
    return turns


def read_sharegpt_turns(raw: list[Any], where: str, roles: Mapping[str, str]) -> list[Message]:
    """ShareGPT turns with ``function_call``/``observation`` ones; ``roles`` maps the other
    speakers to chat roles. Calls get ids ``call_<turn>_<k>``, results answer them in order."""
    messages: list[Message] = []
    waiting: list[str] = []
    for n, turn in enumerate(raw, 1):
        at = f"{where}: turn {n}"
        if not isinstance(turn, Mapping):
            raise SeedError(f"{at}: expected an object, got {_type_name(turn)}")
        speaker, value = turn.get("from"), turn.get("value")
        if not isinstance(value, str):
            raise SeedError(f"{at}: value must be a string, got {_type_name(value)}")
        if speaker == "function_call":
            parsed = parse_arguments(value)
            items = parsed if isinstance(parsed, list) else [parsed]
            if not items or not all(isinstance(c, Mapping) for c in items):
                raise SeedError(f"{at}: function_call must be JSON {{'name', 'arguments'}}")
            calls = read_tool_calls(
                [{"id": f"call_{n}_{k}", "function": c} for k, c in enumerate(items, 1)], at
            )
            waiting = [c.id for c in calls]
            messages.append(Message(role="assistant", tool_calls=calls))
        elif speaker == "observation":
            results = parse_arguments(value) if len(waiting) > 1 else None
            contents = results if isinstance(results, list) else [value]
            for content in contents:
                text = content if isinstance(content, str) else json.dumps(content)
                call = waiting.pop(0) if waiting else None
                messages.append(Message(role="tool", content=text, tool_call_id=call))
        else:
            role = roles.get(speaker) if isinstance(speaker, str) else None
            if role is None:
                raise SeedError(f"{at}: unknown 'from' {speaker!r} (expected human, gpt or system)")
            messages.append(Message(role=role, content=value))  # type: ignore[arg-type]
    return messages
