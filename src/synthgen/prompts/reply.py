"""What the teacher is asked to return, and lenient parsing of what it actually returns.

The JSON schema goes out as ``response_format`` where the endpoint supports it; the parser
still copes with replies wrapped in ```json fences or surrounded by prose, because many
endpoints ignore ``response_format``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ConfigDict


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


class ParseError(ValueError):
    """The reply holds no usable JSON; the message says why (it goes into rejected.jsonl)."""


_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)


def _candidates(text: str) -> list[str]:
    out = [m.group(1) for m in _FENCE.finditer(text)]
    out.append(text)
    for open_, close in (("{", "}"), ("[", "]")):
        start, end = text.find(open_), text.rfind(close)
        if 0 <= start < end:
            out.append(text[start : end + 1])
    return out


def _loads(text: str) -> Any:
    for chunk in _candidates(text):
        try:
            return json.loads(chunk)
        except ValueError:
            continue
    raise ParseError("no JSON object found in the reply")


def parse_reply(text: str) -> list[list[dict[str, Any]]]:
    """The conversations in a teacher reply, each a list of raw message dicts.

    Accepts ``{"conversations": [...]}``, a bare list of conversations, a single
    ``{"messages": [...]}``, and conversations given directly as lists of messages. Messages
    are not validated here: the schema filter judges each conversation on its own, so one bad
    conversation does not sink its siblings.
    """
    if not text or not text.strip():
        raise ParseError("empty reply")
    data = _loads(text)
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
