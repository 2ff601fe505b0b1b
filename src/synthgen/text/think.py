"""``<think>…</think>`` blocks: how reasoning models (DeepSeek-R1, Qwen3, QwQ, ...) served
without a reasoning parser put their trace in the reply's content.

Only a block at the head of a text is a trace: what follows ``</think>`` is the answer. Served
with the opening tag in the chat template (DeepSeek-R1's distills), the content starts inside
the block, so a ``</think>`` with no ``<think>`` before it closes a trace that began at the
start (unless the text opens with JSON: then the tag is inside one of its strings). A
``<think>`` that is never closed is a cut trace: no answer follows it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["CLOSE", "OPEN", "Think", "has_tag", "split_think"]

OPEN = "<think>"
CLOSE = "</think>"
_TAG = re.compile(r"</?think>", re.IGNORECASE)


@dataclass(frozen=True)
class Think:
    """A text split at its trace: ``trace`` (stripped; "" for none), ``answer`` (what follows
    the trace, stripped only of the blank lines after the block), and ``cut`` (an opening tag
    never closed: ``answer`` is the text before it, ``trace`` what followed it)."""

    trace: str
    answer: str
    cut: bool = False


def has_tag(text: str) -> bool:
    """Whether ``text`` holds a ``<think>`` or ``</think>`` tag anywhere."""
    return "think>" in text.lower() and _TAG.search(text) is not None


def split_think(text: str) -> Think:
    """``text`` split into its leading trace and the answer after it (see the module doc).
    A text without a leading block comes back whole as the answer; tags later in the answer
    are left where they are (``has_tag`` finds them)."""
    if "think>" not in text.lower():
        return Think("", text)
    head = text.lstrip()
    lowered = head.lower()
    if lowered.startswith(OPEN):
        end = lowered.find(CLOSE, len(OPEN))
        if end < 0:
            return Think(head[len(OPEN) :].strip(), "", cut=True)
        return Think(head[len(OPEN) : end].strip(), head[end + len(CLOSE) :].lstrip("\r\n"))
    end = lowered.find(CLOSE)
    # A reply that opens with JSON is the answer, whatever its strings say about tags.
    if end >= 0 and OPEN not in lowered[:end] and not head.startswith(("{", "[", "```")):
        return Think(head[:end].strip(), head[end + len(CLOSE) :].lstrip("\r\n"))
    return Think("", text)
