"""An Example written as one record of each output format: the "write" column of the table
in ``synthgen.data.shapes``. Metadata is added by ``formats.to_record``, not here.

- ``openai``: ``{"messages": [...]}`` exactly as ``Example.to_chat()`` (keeps ``name`` and
  ``weight``).
- ``trl``: TRL's conversational language-modeling format, ``{"messages": [{"role",
  "content"}]}`` only (and ``reasoning_content`` on assistant turns that have reasoning, as
  in ``openai`` and ``prompt-completion``; ``sharegpt`` and ``alpaca`` have no place for it).
- ``sharegpt``: ``{"conversations": [{"from": "system"|"human"|"gpt", "value"}]}``.
- ``prompt-completion``: TRL's conversational prompt-completion format. ``prompt`` is the list
  of messages before the final assistant message (system prompt included), ``completion`` a
  list holding that final message. The trainer's chat template supplies the separators and
  the end-of-turn token, so none is written into the text.
- ``alpaca``: LLaMA-Factory's Alpaca columns. ``instruction`` is the last user message,
  ``output`` the final assistant message, ``input`` is "". Earlier turns go into ``history``
  as ``[[user, assistant], ...]`` (consecutive messages of one role are joined by a blank
  line), and the system prompt into ``system``; both only when present.

``prompt-completion`` and ``alpaca`` need an example that ends with an assistant message.
Tool-calling examples are written in each format's tool convention (``tools`` beside the
messages; see ``synthgen.data.tool_records``), except ``alpaca``, which has none.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from synthgen.data.example import Example, Message
from synthgen.data.tool_records import call_names, sharegpt_tools, sharegpt_turns, tool_parts
from synthgen.errors import InputError

__all__ = [
    "SHAREGPT_FROM",
    "write_alpaca",
    "write_chat",
    "write_prompt_completion",
    "write_sharegpt",
    "write_trl",
]

SHAREGPT_FROM = {"system": "system", "user": "human", "assistant": "gpt"}


def _plain(m: Message) -> dict[str, str]:
    d = {"role": m.role, "content": m.content}
    if m.reasoning_content is not None:  # chat templates (Qwen3, DeepSeek-R1) read it there
        d["reasoning_content"] = m.reasoning_content
    return d


def _final_reply(example: Example, fmt: str) -> Message:
    turns = example.turns
    if not turns or turns[-1].role != "assistant":
        raise InputError(f"cannot write as {fmt}: an example does not end with an assistant reply")
    return turns[-1]


def write_chat(example: Example) -> dict[str, Any]:
    return example.to_chat()


def _calls_tools(example: Example) -> bool:
    return bool(example.tools) or any(m.tool_calls or m.role == "tool" for m in example.messages)


def _tool_messages(example: Example, messages: Sequence[Message]) -> list[dict[str, Any]]:
    names = call_names(example)
    return [{**_plain(m), **tool_parts(m, names)} for m in messages]


def _tools_column(example: Example) -> dict[str, Any]:
    return {"tools": list(example.tools)} if example.tools else {}


def write_trl(example: Example) -> dict[str, Any]:
    if _calls_tools(example):
        return {"messages": _tool_messages(example, example.messages), **_tools_column(example)}
    return {"messages": [_plain(m) for m in example.messages]}


def write_sharegpt(example: Example) -> dict[str, Any]:
    if _calls_tools(example):
        record: dict[str, Any] = {"conversations": sharegpt_turns(example, SHAREGPT_FROM)}
        if example.tools:
            record["tools"] = sharegpt_tools(example.tools)
        return record
    return {
        "conversations": [
            {"from": SHAREGPT_FROM[m.role], "value": m.content} for m in example.messages
        ]
    }


def write_prompt_completion(example: Example) -> dict[str, Any]:
    final = _final_reply(example, "prompt-completion")
    if _calls_tools(example):
        return {
            "prompt": _tool_messages(example, example.messages[:-1]),
            "completion": _tool_messages(example, [final]),
            **_tools_column(example),
        }
    return {
        "prompt": [_plain(m) for m in example.messages[:-1]],
        "completion": [_plain(final)],
    }


def _merged(turns: Sequence[Message]) -> list[tuple[str, str]]:
    """(role, content) with consecutive same-role messages joined by a blank line."""
    out: list[tuple[str, str]] = []
    for m in turns:
        if out and out[-1][0] == m.role:
            out[-1] = (m.role, f"{out[-1][1]}\n\n{m.content}")
        else:
            out.append((m.role, m.content))
    return out


def write_alpaca(example: Example) -> dict[str, Any]:
    if _calls_tools(example):
        raise InputError(
            "cannot write as alpaca: an example calls tools, and Alpaca has no place for tool"
            " calls: use --format openai, trl, prompt-completion or sharegpt"
        )
    output = _final_reply(example, "alpaca").content
    turns = _merged(example.turns[:-1])
    instruction = turns.pop()[1] if turns and turns[-1][0] == "user" else ""
    history: list[list[str]] = []
    pending_user = ""
    for role, content in turns:
        if role == "user":
            pending_user = content
        else:
            history.append([pending_user, content])
            pending_user = ""
    record: dict[str, Any] = {"instruction": instruction, "input": "", "output": output}
    if example.system is not None:
        record["system"] = example.system
    if history:
        record["history"] = history
    return record
