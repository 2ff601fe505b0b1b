"""The rows of preference pairs, per ``--format``: OpenAI's DPO rows for ``openai``, TRL's
conversational preference rows for ``trl``.

- openai: ``{"input": {"messages": [...]}, "preferred_output": [assistant message],
  "non_preferred_output": [assistant message]}``, nothing else (OpenAI lists no other key).
- trl: ``{"prompt": [...], "chosen": [assistant message], "rejected": [assistant message]}``,
  with the prompt's metadata and the two judge scores in a ``metadata`` object.
"""

from __future__ import annotations

from typing import Any

from synthgen.data.example import Example
from synthgen.data.shapes import METADATA_KEY
from synthgen.errors import ConfigError

__all__ = ["PAIR_CHECKED_AS", "pair_record"]

# The format ``synthgen validate`` checks the rows of each --format as.
PAIR_CHECKED_AS = {"openai": "openai-dpo", "trl": "trl-preference"}


def pair_record(
    prompt: Example, chosen: str, rejected: str, fmt: str, *, metadata: bool = True
) -> dict[str, Any]:
    """The line written for a pair in ``fmt``."""
    messages = [{"role": m.role, "content": m.content} for m in prompt.messages]
    good = [{"role": "assistant", "content": chosen}]
    bad = [{"role": "assistant", "content": rejected}]
    if fmt == "openai":
        return {
            "input": {"messages": messages},
            "preferred_output": good,
            "non_preferred_output": bad,
        }
    if fmt == "trl":
        record: dict[str, Any] = {"prompt": messages, "chosen": good, "rejected": bad}
        if metadata and prompt.metadata:
            record[METADATA_KEY] = dict(prompt.metadata)
        return record
    raise ConfigError(f"preference pairs cannot be written as {fmt!r}; use openai or trl")
