"""The demo teacher's tool-calling conversations: when a request lists tools (the line
``synthgen.data.tools.TOOLS_LINE`` starts), each placeholder conversation has the assistant
call one of them with arguments drawn from its ``parameters`` schema, a result, and a final
answer, so ``--model demo`` runs a tool-calling dataset end to end offline.

The arguments follow the common JSON Schema keywords (type, enum, const, required,
properties, items, minimum/maximum, minItems/maxItems, minLength/maxLength, format date and
date-time, anyOf/oneOf); a schema using others may get arguments it rejects, which the
curation filters then drop as ``invalid_arguments``, as they would a real teacher's.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from synthgen.data.tools import TOOLS_LINE

__all__ = ["demo_arguments", "tool_conversation", "tools_in"]

_MAX_DEPTH = 6


def tools_in(messages: Sequence[Any]) -> list[dict[str, Any]]:
    """The tool definitions a request lists (none when it lists none, or not readably)."""
    for message in reversed(messages):
        if not isinstance(message, Mapping) or message.get("role") != "user":
            continue
        content = message.get("content")
        if not isinstance(content, str) or TOOLS_LINE not in content:
            return []
        line = content.split(TOOLS_LINE, 1)[1].split("\n", 1)[0]
        try:
            tools = json.loads(line)
        except ValueError:
            return []
        return [t for t in tools if isinstance(t, dict) and isinstance(t.get("function"), dict)]
    return []


def _number(schema: Mapping[str, Any], rng: random.Random, integer: bool) -> int | float:
    low = schema.get("minimum", schema.get("exclusiveMinimum", 1))
    high = schema.get("maximum", schema.get("exclusiveMaximum", max(low, 0) + 10))
    if "exclusiveMinimum" in schema and "minimum" not in schema:
        low += 1 if integer else 0.1
    if "exclusiveMaximum" in schema and "maximum" not in schema:
        high -= 1 if integer else 0.1
    if integer:
        return rng.randint(int(low), max(int(low), int(high)))
    return round(rng.uniform(low, max(low, high)), 1)


def _string(schema: Mapping[str, Any], rng: random.Random, words: list[str]) -> str:
    fmt = schema.get("format")
    day = f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    if fmt == "date":
        return day
    if fmt == "date-time":
        return f"{day}T{rng.randint(8, 20):02d}:00:00Z"
    text = " ".join(rng.choices(words, k=rng.randint(1, 3)))
    low, high = int(schema.get("minLength", 0)), int(schema.get("maxLength", 10_000))
    while len(text) < low:
        text += " " + rng.choice(words)
    return text[: max(high, low)].strip() or text[:high]


def demo_arguments(
    schema: Mapping[str, Any], rng: random.Random, words: list[str], depth: int = 0
) -> Any:
    """A value that fits ``schema`` (for the keywords the module doc lists)."""
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return rng.choice(schema["enum"])
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and options and isinstance(options[0], Mapping):
            return demo_arguments(options[0], rng, words, depth + 1)
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if depth >= _MAX_DEPTH or kind == "null":
        return None
    if kind == "boolean":
        return rng.random() < 0.5
    if kind in ("integer", "number"):
        return _number(schema, rng, kind == "integer")
    if kind == "array":
        items = schema["items"] if isinstance(schema.get("items"), Mapping) else {}
        low = int(schema.get("minItems", 1))
        count = min(rng.randint(low, low + 2), int(schema.get("maxItems", low + 2)))
        return [demo_arguments(items, rng, words, depth + 1) for _ in range(count)]
    if kind == "object":
        props = schema["properties"] if isinstance(schema.get("properties"), Mapping) else {}
        required = set(schema.get("required") or ())
        return {
            name: demo_arguments(sub, rng, words, depth + 1)
            for name, sub in props.items()
            if isinstance(sub, Mapping) and (name in required or rng.random() < 0.5)
        }
    return _string(schema, rng, words)


def tool_conversation(
    tools: Sequence[Mapping[str, Any]],
    rng: random.Random,
    sentence: Callable[[str], str],
    words: list[str],
) -> dict[str, Any]:
    """One conversation: a question, a call of one of ``tools``, its result, an answer."""
    function = rng.choice(list(tools))["function"]
    params = function.get("parameters") if isinstance(function.get("parameters"), Mapping) else {}
    arguments = demo_arguments(params or {"type": "object"}, rng, words)
    call_id = f"call_{rng.getrandbits(32):08x}"
    result = {"status": "ok", "result": sentence(".")}
    return {
        "messages": [
            {"role": "user", "content": sentence("?")},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {
                            "name": function["name"],
                            "arguments": json.dumps(arguments, ensure_ascii=False),
                        },
                    }
                ],
                "tool_call_id": None,
            },
            {
                "role": "tool",
                "content": json.dumps(result, ensure_ascii=False),
                "tool_calls": None,
                "tool_call_id": call_id,
            },
            {
                "role": "assistant",
                "content": sentence("."),
                "tool_calls": None,
                "tool_call_id": None,
            },
        ]
    }
