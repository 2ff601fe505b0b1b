"""Reading one JSON-shaped record into messages, per record shape: the "read" column of the
table in ``synthgen.data.shapes``, which picks the reader and adds the system field and the
metadata. Every problem is a one-line ``SeedError`` naming where the record is."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from synthgen.data.example import Message, Role
from synthgen.data.tool_call import ToolCall
from synthgen.data.tool_records import SHAREGPT_TOOL_SPEAKERS, read_sharegpt_turns, read_tool_calls
from synthgen.errors import SeedError
from synthgen.text.normalize import LONE_SURROGATE

__all__ = [
    "MAX_JSON_DEPTH",
    "check_conversation",
    "check_json",
    "json_too_deep",
    "json_type",
    "read_alpaca",
    "read_chat",
    "read_prompt_completion",
    "read_sharegpt",
    "read_string",
]

_ROLES = ("system", "user", "assistant", "tool")
_MESSAGE_KEYS = {
    "role",
    "content",
    "name",
    "weight",
    "reasoning_content",
    "tool_calls",
    "tool_call_id",
}
_SHAREGPT_ROLES: dict[str, Role] = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "chatgpt": "assistant",
    "bard": "assistant",
    "model": "assistant",
    "system": "system",
}


def json_type(value: object) -> str:
    """How an error message names the JSON type of ``value``."""
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number")


# A record or reply needs 5 levels; deeper ones are hostile or broken, and code that walks
# them recursively (pydantic, json.dumps, deepcopy) would hit the recursion limit.
MAX_JSON_DEPTH = 64


def json_too_deep(value: object, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether parsed JSON nests arrays and objects more than ``limit`` levels deep (walked
    without recursion, so any depth is safe to ask about)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Iterable[object] = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return False


def check_json(value: object, where: str, *, surrogates: bool = True) -> None:
    """A ``SeedError`` naming ``where`` when a parsed record nests too deeply or (unless
    ``surrogates`` is off, for text known to hold no ``\\ud`` escape) holds a lone surrogate:
    half a character, which no file can store."""
    if json_too_deep(value):
        raise SeedError(f"{where}: nested more than {MAX_JSON_DEPTH} levels deep")
    if not surrogates:
        return
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            bad = LONE_SURROGATE.search(item)
            if bad:
                raise SeedError(
                    f"{where}: text holds a lone surrogate \\u{ord(bad.group()):04x} (half of a"
                    " character, e.g. of an emoji): fix or remove it"
                )
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def read_string(record: Mapping[str, Any], key: str, where: str) -> str:
    value = record[key]
    if not isinstance(value, str):
        raise SeedError(f"{where}: {key!r} must be a string, got {json_type(value)}")
    return value


def _chat_messages(raw: object, where: str) -> list[Message]:
    if not isinstance(raw, list):
        raise SeedError(f"{where}: 'messages' must be a list, got {json_type(raw)}")
    messages = []
    for n, msg in enumerate(raw, 1):
        at = f"{where}: message {n}"
        if not isinstance(msg, Mapping):
            raise SeedError(f"{at}: expected an object, got {json_type(msg)}")
        extra = [k for k in msg if k not in _MESSAGE_KEYS]
        if extra:
            raise SeedError(
                f"{at}: unsupported key {extra[0]!r} (allowed: role, content, name, weight,"
                " reasoning_content, tool_calls, tool_call_id)"
            )
        role = msg.get("role")
        if role not in _ROLES:
            raise SeedError(
                f"{at}: unknown role {role!r} (expected system, user, assistant or tool)"
            )
        content = msg.get("content")
        calls = _tool_calls(msg, role, at)
        if calls is not None and content is None:
            content = ""  # an assistant turn that only calls tools
        call_id = msg.get("tool_call_id")
        if call_id is not None and (role != "tool" or not isinstance(call_id, str)):
            raise SeedError(f"{at}: tool_call_id must be a string, and only on tool messages")
        if not isinstance(content, str):
            what = "missing" if "content" not in msg else json_type(content)
            raise SeedError(f"{at}: content must be a string, got {what}")
        name = msg.get("name")
        if name is not None and not isinstance(name, str):
            raise SeedError(f"{at}: name must be a string, got {json_type(name)}")
        weight = msg.get("weight")
        if weight is not None and (
            role != "assistant" or isinstance(weight, bool) or weight not in (0, 1)
        ):
            raise SeedError(f"{at}: weight must be 0 or 1, and only on assistant messages")
        reasoning = msg.get("reasoning_content")
        if reasoning is not None and (role != "assistant" or not isinstance(reasoning, str)):
            raise SeedError(f"{at}: reasoning_content must be a string, on assistant messages")
        messages.append(
            Message(
                role=role,
                content=content,
                name=name,
                weight=weight,
                reasoning_content=reasoning,
                tool_calls=calls,
                tool_call_id=call_id,
            )
        )
    return messages


def _tool_calls(msg: Mapping[str, Any], role: object, at: str) -> tuple[ToolCall, ...] | None:
    if msg.get("tool_calls") is None:
        return None
    if role != "assistant":
        raise SeedError(f"{at}: only assistant messages make tool calls")
    return read_tool_calls(msg["tool_calls"], at)


def _sharegpt_messages(raw: object, where: str) -> list[Message]:
    if not isinstance(raw, list):
        raise SeedError(f"{where}: 'conversations' must be a list, got {json_type(raw)}")
    if any(isinstance(t, Mapping) and t.get("from") in SHAREGPT_TOOL_SPEAKERS for t in raw):
        return read_sharegpt_turns(raw, where, _SHAREGPT_ROLES)
    messages = []
    for n, turn in enumerate(raw, 1):
        at = f"{where}: turn {n}"
        if not isinstance(turn, Mapping):
            raise SeedError(f"{at}: expected an object, got {json_type(turn)}")
        speaker = turn.get("from")
        role = _SHAREGPT_ROLES.get(speaker) if isinstance(speaker, str) else None
        if role is None:
            raise SeedError(f"{at}: unknown 'from' {speaker!r} (expected human, gpt or system)")
        value = turn.get("value")
        if not isinstance(value, str):
            what = "missing" if "value" not in turn else json_type(value)
            raise SeedError(f"{at}: value must be a string, got {what}")
        messages.append(Message(role=role, content=value))
    return messages


def read_chat(record: Mapping[str, Any], where: str) -> list[Message]:
    return _chat_messages(record["messages"], where)


def read_sharegpt(record: Mapping[str, Any], where: str) -> list[Message]:
    return _sharegpt_messages(record["conversations"], where)


def read_prompt_completion(record: Mapping[str, Any], where: str) -> list[Message]:
    prompt, completion = record["prompt"], record["completion"]
    if isinstance(prompt, list) and isinstance(completion, list):
        # TRL's conversational prompt-completion (what synthgen writes): both are messages.
        return _chat_messages(prompt + completion, where)
    if not isinstance(prompt, str):
        raise SeedError(f"{where}: 'prompt' must be a string, got {json_type(prompt)}")
    if not isinstance(completion, str):
        raise SeedError(f"{where}: 'completion' must be a string, got {json_type(completion)}")
    return [Message(role="user", content=prompt), Message(role="assistant", content=completion)]


def read_alpaca(record: Mapping[str, Any], where: str) -> list[Message]:
    instruction = read_string(record, "instruction", where)
    output = read_string(record, "output", where)
    given = record.get("input")
    if given not in (None, ""):
        if not isinstance(given, str):
            raise SeedError(f"{where}: 'input' must be a string, got {json_type(given)}")
        if given.strip():
            instruction = f"{instruction}\n\n{given}"
    messages = _history(record.get("history"), where)
    return [
        *messages,
        Message(role="user", content=instruction),
        Message(role="assistant", content=output),
    ]


def _history(history: object, where: str) -> list[Message]:
    """LLaMA-Factory's earlier turns, ``[[user, assistant], ...]``, as messages."""
    if history is None:
        return []
    pairs = history if isinstance(history, list) else None
    if pairs is None or not all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(s, str) for s in p) for p in pairs
    ):
        raise SeedError(f"{where}: 'history' must be a list of [user, assistant] string pairs")
    messages = []
    for user, assistant in pairs:
        messages += [
            Message(role="user", content=user),
            Message(role="assistant", content=assistant),
        ]
    return messages


def check_conversation(messages: Iterable[Message], where: str) -> None:
    """One optional system prompt, first; at least one other message; no empty contents, no
    lone surrogates (seeds given as Python objects: files are checked as they are read)."""
    turns = 0
    for n, msg in enumerate(messages, 1):
        if not msg.content.strip() and not msg.tool_calls:
            raise SeedError(f"{where}: message {n} ({msg.role}) has empty content")
        if LONE_SURROGATE.search(msg.content):
            raise SeedError(f"{where}: message {n} ({msg.role}) holds a lone surrogate")
        if msg.role == "system":
            if n != 1:
                raise SeedError(f"{where}: message {n}: a system message must come first")
        else:
            turns += 1
    if not turns:
        raise SeedError(f"{where}: no user or assistant message")
