"""Reasoning on a candidate's assistant turns (``--reasoning``), and no ``<think>`` block in
any answer.

Where an assistant turn's reasoning comes from, by what the request asked for:

- one conversation: the teacher's own trace (teacher.reasoning) reasons towards that one
  example, so it becomes the reasoning of the conversation's final assistant turn (the one
  turn chat templates such as Qwen3's render reasoning for);
- several: one trace cannot belong to several examples, so the request asks the teacher to
  write a ``reasoning`` field on each assistant message (prompts.reasoning); the trace is
  dropped (its tokens are still counted and priced).

Either way, an answer that opens with a complete ``<think>…</think>`` block has it split off
(kept as that turn's reasoning when it has none, else dropped). With ``keep``, an assistant
turn that should carry reasoning and has none is dropped as ``no_reasoning``; with ``drop``,
no reasoning is kept. Any ``<think>`` tag left in an answer drops the candidate as
``think_leak``: a trained model would learn to print its thinking as its answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from synthgen.curate.drop import Drop
from synthgen.data.example import Example, Message
from synthgen.text.think import has_tag, split_think

__all__ = ["WRITTEN_FIELD", "ReasoningCheck"]

# The field of an assistant message in a reply where the teacher writes its reasoning.
WRITTEN_FIELD = "reasoning"


@dataclass(frozen=True)
class ReasoningCheck:
    """``keep``: put reasoning on assistant turns (and drop candidates lacking it)."""

    keep: bool = False

    def __call__(
        self, built: Example, raw: Sequence[dict[str, Any]], trace: str | None
    ) -> Example | Drop:
        """``built`` (the candidate made of ``raw``, the reply's messages) with its answers
        rid of leading think blocks and, with ``keep``, its reasoning set. ``trace`` is the
        teacher's trace when it belongs to this candidate (one conversation asked for),
        else None: then each assistant turn needs its written reasoning."""
        written = [m.get(WRITTEN_FIELD) for m in raw if m.get("role") == "assistant"]
        assistant = [i for i, m in enumerate(built.messages) if m.role == "assistant"]
        if len(written) != len(assistant):
            written = [None] * len(assistant)
        messages = list(built.messages)
        for n, (i, wrote) in enumerate(zip(assistant, written, strict=True), 1):
            final = n == len(assistant)
            got = self._turn(messages[i], n, wrote, trace if final else None)
            if isinstance(got, Drop):
                if got.reason != "no_reasoning" or trace is None or final:
                    return got
                continue  # earlier turns of a traced conversation may go without
            messages[i] = got
        if messages == list(built.messages):
            return built
        return built.model_copy(update={"messages": tuple(messages)})

    def _turn(self, m: Message, n: int, wrote: object, trace: str | None) -> Message | Drop:
        where = f"assistant turn {n}"
        think = split_think(m.content)
        if think.cut:
            return Drop("think_leak", f"{where} opens a <think> block it never closes")
        answer = think.answer.strip() if think.trace else m.content
        if not answer and not m.tool_calls:  # a turn that only calls tools has no text
            return Drop("empty_content", f"{where} is only a <think> block")
        if has_tag(answer):
            return Drop("think_leak", f"{where} has a <think> tag in its answer")
        reasoning = ""
        if self.keep:
            given = wrote.strip() if isinstance(wrote, str) else ""
            reasoning = (trace or "").strip() or given or think.trace
            if not reasoning:
                why = "the teacher's reply has no reasoning trace" if trace is not None else ""
                return Drop(
                    "no_reasoning", f"{where} has no reasoning" + (f": {why}" if why else "")
                )
            if "\ufffd" in reasoning:
                return Drop("broken_text", f"{where} has a broken character in its reasoning")
        if answer == m.content and not reasoning:
            return m
        return m.model_copy(update={"content": answer, "reasoning_content": reasoning or None})
