"""Asking the teacher to write each assistant turn's reasoning (``--reasoning keep`` when a
request asks for several conversations: curate.reasoning says why).

Added to any template's request rather than written into each template, so user templates
get it too: one instruction after the template's own last user message, and a ``reasoning``
string on every message of the ``conversations`` schema (strict structured output wants
every property required, so user messages carry an empty one).
"""

from __future__ import annotations

from typing import Any

from synthgen.prompts.reply import message_schema, with_instruction

__all__ = ["INSTRUCTION", "ask_for_reasoning", "schema_with_reasoning"]

INSTRUCTION = (
    'Give every message a "reasoning" field too. In an assistant message, "reasoning" is the '
    "assistant's own step-by-step thinking before it answers: work the user's request out "
    'there, in the assistant\'s voice; "content" then holds only the final answer, without '
    'the thinking and without <think> tags. In a user message, "reasoning" is "".'
)


def ask_for_reasoning(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``messages`` (a rendered prompt, ending with a user message) asking for reasoning."""
    return with_instruction(messages, INSTRUCTION)


def schema_with_reasoning(response_format: dict[str, Any] | None) -> dict[str, Any] | None:
    """``response_format`` with a ``reasoning`` string on each message of a conversations
    schema; any other format as it is."""
    found = message_schema(response_format)
    if found is None:
        return response_format
    out, message = found
    message["properties"]["reasoning"] = {"type": "string"}
    message["required"] = [*message.get("required", []), "reasoning"]
    return out
