"""What the teacher is asked to return, and lenient parsing of what it actually returns.

The JSON schema goes out as ``response_format`` where the endpoint supports it; the parser
still copes with replies wrapped in ```json fences or surrounded by prose
(:mod:`synthgen.prompts.json_extract`), because many endpoints ignore ``response_format``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from synthgen.prompts.json_extract import ParseError, extract_json

__all__ = [
    "ParseError",
    "ReplyConversation",
    "ReplyMessage",
    "TeacherReply",
    "message_schema",
    "parse_reply",
    "response_format",
    "response_format_for",
    "with_instruction",
]


class ReplyMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: str
    content: str


class ReplyConversation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    messages: list[ReplyMessage]


class TeacherReply(BaseModel):
    model_config = ConfigDict(extra="forbid")
    conversations: list[ReplyConversation]


def response_format() -> dict[str, Any]:
    """The ``response_format`` asking for a strict :class:`TeacherReply`."""
    schema = {
        "type": "object",
        "properties": {
            "conversations": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "messages": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "role": {"type": "string", "enum": ["user", "assistant"]},
                                    "content": {"type": "string"},
                                },
                                "required": ["role", "content"],
                                "additionalProperties": False,
                            },
                        }
                    },
                    "required": ["messages"],
                    "additionalProperties": False,
                },
            }
        },
        "required": ["conversations"],
        "additionalProperties": False,
    }
    return {
        "type": "json_schema",
        "json_schema": {"name": "conversations", "strict": True, "schema": schema},
    }


def response_format_for(kind: str) -> dict[str, Any] | None:
    """What a template's ``reply:`` setting asks the endpoint for."""
    if kind == "conversations":
        return response_format()
    if kind == "json_object":
        return {"type": "json_object"}
    return None


def with_instruction(messages: Sequence[Mapping[str, Any]], text: str) -> list[dict[str, Any]]:
    """A rendered prompt (ending with a user message) with ``text`` after that message's
    content: how features add to any template's request, user templates included."""
    last = messages[-1]
    return [*map(dict, messages[:-1]), {**last, "content": f"{last['content']}\n\n{text}"}]


def message_schema(
    response_format: dict[str, Any] | None,
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """A deep copy of a ``conversations`` response format and, inside it, the schema of one
    message (whose ``properties`` and ``required`` a feature may extend); None for any other
    format, or a conversations schema of another shape (the instruction alone asks then)."""
    spec = (response_format or {}).get("json_schema")
    if response_format is None or not isinstance(spec, dict):
        return None
    if spec.get("name") != "conversations":
        return None
    out = copy.deepcopy(response_format)
    path = ("schema", "properties", "conversations", "items", "properties", "messages", "items")
    message: Any = out["json_schema"]
    for key in path:
        message = message.get(key) if isinstance(message, dict) else None
    if not isinstance(message, dict) or not isinstance(message.get("properties"), dict):
        return None
    return out, message


def parse_reply(text: str) -> list[list[dict[str, Any]]]:
    """The conversations in a teacher reply, each a list of raw message dicts.

    Accepts ``{"conversations": [...]}``, a bare list of conversations, a single
    ``{"messages": [...]}``, and conversations given directly as lists of messages. Messages
    are not validated here: the schema filter judges each conversation on its own, so one bad
    conversation does not sink its siblings.
    """
    data = extract_json(text)
    if isinstance(data, dict):
        if "conversations" in data:
            data = data["conversations"]
        elif "messages" in data:
            data = [data]
        else:
            raise ParseError(f"JSON object without 'conversations' (keys: {sorted(data)[:5]})")
    if not isinstance(data, list):
        raise ParseError("'conversations' is not a list")
    out: list[list[dict[str, Any]]] = []
    for conv in data:
        if isinstance(conv, dict):
            conv = conv.get("messages")
        if isinstance(conv, list):
            out.append([m if isinstance(m, dict) else {"role": None, "content": m} for m in conv])
        else:
            out.append([])
    if not out:
        raise ParseError("the reply holds no conversations")
    return out
