"""One call an assistant message makes to a tool, as OpenAI's chat format writes it:
``{"id", "type": "function", "function": {"name", "arguments"}}`` with the arguments as JSON
text. The canonical form of the arguments (keys sorted, no spaces) is what dedup and the
split compare, so two calls with the same arguments in another key order are the same call.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["FunctionCall", "ToolCall", "canonical_arguments", "parse_arguments"]


class FunctionCall(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    arguments: str  # JSON text of an object, as OpenAI's format has it


class ToolCall(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    type: Literal["function"] = "function"
    function: FunctionCall

    @property
    def name(self) -> str:
        return self.function.name

    def arguments_object(self) -> dict[str, Any]:
        """The arguments parsed (``{}`` when they are not a JSON object: checked on entry)."""
        parsed = parse_arguments(self.function.arguments)
        return parsed if isinstance(parsed, dict) else {}

    def dedup_text(self) -> str:
        """What near-duplicate detection sees of the call: the tool's name and its
        arguments in canonical form."""
        return f"{self.function.name} {canonical_arguments(self.function.arguments)}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.function.name, "arguments": self.function.arguments},
        }


def parse_arguments(arguments: object) -> object:
    """Arguments as a value: JSON text is parsed (None if it is not JSON), an object is kept."""
    if isinstance(arguments, str):
        try:
            return json.loads(arguments)
        except (ValueError, RecursionError):
            return None
    return arguments


def canonical_arguments(arguments: object) -> str:
    """The arguments as compact JSON with sorted keys (the text itself when it is not JSON)."""
    value = parse_arguments(arguments)
    if value is None and isinstance(arguments, str):
        return arguments
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
