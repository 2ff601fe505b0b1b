"""Schema and quality filters, and the prompt guard. Each one keeps a candidate or names the
reason it drops it (a :class:`~synthgen.curate.drop.Drop`)."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from synthgen.curate.drop import Drop
from synthgen.curate.placeholders import placeholder_reason
from synthgen.curate.tool_filters import calls_tools, to_tool_example
from synthgen.data.example import Example, Message
from synthgen.text.normalize import words


def to_example(
    raw: Sequence[dict[str, Any]],
    *,
    system: str | None,
    metadata: dict[str, Any],
    tools: Sequence[dict[str, Any]] = (),
    parallel: bool | None = None,
) -> Example | Drop:
    """Validate a conversation from a reply and build the Example, or say what is wrong.

    Rules: roles are system/user/assistant; an optional system message comes first (it is
    replaced by the dataset's own prompt, which must be the same on every line); then user and
    assistant alternate, starting with user and ending with assistant; no content is empty
    or broken (U+FFFD: a lone surrogate in the reply, or bytes lost on the way). A
    conversation of a dataset with ``tools``, or one that calls tools, follows the rules of
    ``synthgen.curate.tool_filters`` instead and keeps ``tools``.
    """
    if tools or calls_tools(raw):
        return to_tool_example(
            raw, head=_head(system), metadata=metadata, tools=tools, parallel=parallel
        )
    if not raw:
        return Drop("schema", "conversation has no messages")
    msgs = list(raw)
    if msgs[0].get("role") == "system":
        msgs = msgs[1:]
    turns: list[Message] = []
    for i, m in enumerate(msgs):
        role, content = m.get("role"), m.get("content")
        if role not in ("user", "assistant"):
            return Drop("schema", f"message {i + 1} has role {role!r}")
        if not isinstance(content, str):
            return Drop("schema", f"message {i + 1} has no text content")
        if not content.strip():
            return Drop("empty_content", f"message {i + 1} ({role}) is empty")
        if "\ufffd" in content:
            # Half an emoji or undecodable bytes: the text is not what the teacher meant.
            return Drop("broken_text", f"message {i + 1} ({role}) has a broken character (U+FFFD)")
        expected = "user" if i % 2 == 0 else "assistant"
        if role != expected:
            return Drop("schema", f"message {i + 1} is {role}, expected {expected}")
        # Checked above: skip pydantic's validation on the hot path.
        turns.append(Message.model_construct(role=role, content=content.strip()))
    if not turns:
        return Drop("schema", "conversation has no user/assistant turns")
    if turns[-1].role != "assistant":
        return Drop("schema", "conversation does not end with an assistant turn")
    return Example.model_construct(messages=_head(system) + tuple(turns), metadata=metadata)


@functools.lru_cache(maxsize=8)
def _head(system: str | None) -> tuple[Message, ...]:
    """The system message examples start with: one (frozen) object for all of them."""
    return (Message(role="system", content=system),) if system is not None else ()


# Disclaimers and refusals in the languages our users write seeds in most; matched on
# assistant turns only, case-insensitively.
REFUSAL_PATTERNS = (
    r"\bas an ai\b",
    r"\bas an? (?:ai )?language model\b",
    r"\bi(?:'m| am) (?:just )?an ai\b",
    r"\bi(?:'m| am) sorry,? but i (?:can(?:no|')t|am unable|won't)\b",
    r"\bi can(?:no|')t (?:help|assist) with (?:that|this)\b",
    r"\bi(?:'m| am) (?:not able|unable) to (?:help|assist|comply)\b",
    r"\bjako (?:model językowy|sztuczna inteligencja|ai)\b",
    r"\bals (?:ki-)?sprachmodell\b",
    r"\ben tant qu'(?:ia|intelligence artificielle|modèle de langage)\b",
    r"\bcomo (?:un )?modelo de lenguaje\b",
    r"作为一个?(?:人工智能|AI|语言模型)",
)
_REFUSAL = re.compile("|".join(REFUSAL_PATTERNS), re.IGNORECASE)
# One word every pattern contains: a cheap first pass, as most replies contain none of them.
_MAYBE_REFUSAL = re.compile(
    r"\bai\b|model|sorry|can(?:no|')t|unable|jako|sprachmodell|tant qu|modelo|作为", re.IGNORECASE
)


@dataclass(frozen=True)
class QualityFilter:
    """Placeholders, refusals, disclaimers and length bounds on a built example."""

    min_chars: int = 1
    max_chars: int = 20_000

    @classmethod
    def from_seeds(cls, seeds: Sequence[Example]) -> QualityFilter:
        """Length bounds relative to the seeds: a reply a quarter as long as the shortest
        seed, or four times the longest, is not in the seeds' style."""
        sizes = [sum(len(m.content) for m in ex.turns) for ex in seeds] or [1]
        return cls(min_chars=max(1, min(sizes) // 4), max_chars=max(4 * max(sizes), 2_000))

    def __call__(self, example: Example) -> Drop | None:
        for i, m in enumerate(example.turns, 1):
            if m.tool_calls and not m.content:
                continue  # a turn that only calls tools: its calls were checked
            why = placeholder_reason(m.content)
            if why is not None:
                said = m.content if len(m.content) <= 40 else m.content[:37] + "..."
                return Drop("placeholder", f"turn {i} ({m.role}) is {why}: {said!r}")
        for m in example.turns:
            if m.role == "assistant" and _MAYBE_REFUSAL.search(m.content):
                hit = _REFUSAL.search(m.content)
                if hit:
                    return Drop("refusal", f"assistant says {hit.group(0)!r}")
        size = sum(len(m.content) for m in example.turns)
        if size < self.min_chars:
            return Drop("too_short", f"{size} characters < {self.min_chars}")
        if size > self.max_chars:
            return Drop("too_long", f"{size} characters > {self.max_chars}")
        return None


def _grams(toks: Sequence[str], n: int) -> set[tuple[str, ...]]:
    # zip of n shifted views: the n-grams in one pass in C (none when len(toks) < n)
    return set(zip(*(toks[i:] for i in range(n)), strict=False))


@functools.lru_cache(maxsize=4096)
def _text_grams(text: str, n: int) -> frozenset[tuple[str, ...]]:
    """n-grams of a prompt or a shown example: the same texts recur across requests."""
    return frozenset(_grams(words(text), n))


class PromptGuard:
    """Drops candidates that copy an example the prompt showed, or echo the prompt's own
    instructions ("write exactly 5 conversations ...") back as data."""

    def __init__(self, prompt: str, shown: Sequence[str], *, echo_n: int = 8, copy_n: int = 5):
        self.copy_n = copy_n
        self.echo_n = echo_n
        self._shown = [_text_grams(t, copy_n) for t in shown]
        instructions = prompt
        for text in shown:  # what is left of the prompt is the template's own wording
            instructions = instructions.replace(text, " ")
        self._echo = _text_grams(instructions, echo_n)

    def __call__(self, example: Example) -> Drop | None:
        for m in example.turns:
            said = words(m.content)
            grams = _grams(said, self.copy_n)
            if len(grams) >= 4:
                for i, seen in enumerate(self._shown):
                    if len(grams & seen) >= 0.7 * len(grams):
                        return Drop("copies_example", f"{m.role} turn copies shown example {i + 1}")
            if self._echo & _grams(said, self.echo_n):
                return Drop("echo", f"{m.role} turn repeats the prompt's instructions")
        return None
