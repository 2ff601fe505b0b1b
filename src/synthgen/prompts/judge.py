"""An optional LLM judge: the teacher (or another model) scores each accepted candidate 1-10
for correctness, helpfulness and fidelity to the system prompt (templates/judge.j2). The
judge only gives a :class:`Verdict`; curation drops the candidates below ``--min-score``
(``synthgen.curate.drop.judge_drop``).

The judge asks for ``{"score": int, "reason": str}`` with a JSON schema and parses what comes
back leniently (:mod:`synthgen.prompts.json_extract`, and as a last resort a bare
``"score": N``). A reply it cannot read scores None with the reason, rather than raising.
Retries and rate limits belong to whoever calls the teacher.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, NamedTuple

from synthgen.errors import ConfigError
from synthgen.prompts.json_extract import ParseError, extract_json

if TYPE_CHECKING:
    from synthgen.data.example import Example
    from synthgen.prompts.templates import Template
    from synthgen.teacher import ChatRequest, Completion, Teacher

__all__ = ["Judge", "Verdict", "parse_verdict", "response_format", "verdict_of"]

MIN_SCORE, MAX_SCORE = 1, 10
_BARE_SCORE = re.compile(r'"?score"?\s*[:=]\s*"?(\d+(?:\.\d+)?)', re.IGNORECASE)
_BARE_REASON = re.compile(r'"reason"\s*:\s*"(.*)', re.DOTALL)


def response_format() -> dict[str, Any]:
    """``response_format`` asking for ``{"score": int, "reason": str}``. The 1-10 range is in
    the description: strict mode on some endpoints rejects ``minimum``/``maximum``."""
    schema = {
        "type": "object",
        "properties": {
            "score": {"type": "integer", "description": "overall score from 1 to 10"},
            "reason": {"type": "string", "description": "one sentence"},
        },
        "required": ["score", "reason"],
        "additionalProperties": False,
    }
    return {
        "type": "json_schema",
        "json_schema": {"name": "verdict", "strict": True, "schema": schema},
    }


class Verdict(NamedTuple):
    """The judge's answer: ``score`` is None when the reply could not be read, and ``reason``
    then says why."""

    score: int | None
    reason: str


class Judge:
    """Scores examples with ``teacher``: ``await judge.score(example)`` gives a Verdict.

    ``min_score`` is checked here, where the judge is set up, so that a bad ``--min-score``
    fails before any request; curation applies it."""

    def __init__(
        self,
        teacher: Teacher,
        template: Template | None = None,
        *,
        min_score: int,
        max_tokens: int | None = None,
    ) -> None:
        if not MIN_SCORE <= min_score <= MAX_SCORE:
            raise ConfigError(
                f"--min-score must be within {MIN_SCORE}..{MAX_SCORE} (got {min_score})"
            )
        if template is None:
            from synthgen.prompts.templates import load_template

            template = load_template("judge")
        self.teacher = teacher
        self.template = template
        self.min_score = min_score
        self.max_tokens = max_tokens
        # Judge calls cost money too: the caller adds these to the run's report.
        self.calls = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0

    def request(self, example: Example) -> ChatRequest:
        """The chat request that judges ``example`` (deterministic: temperature 0)."""
        from synthgen.prompts.tool_prompt import template_message
        from synthgen.teacher import ChatRequest

        # Tool calls and results spelled out: the judge sees what the assistant did.
        conversation = [template_message(m) for m in example.turns]
        messages = self.template.render(conversation=conversation, system=example.system)
        return ChatRequest(
            messages=tuple(messages),
            temperature=0.0,
            max_tokens=self.max_tokens,
            response_format=response_format(),
        )

    async def score(self, example: Example) -> Verdict:
        """The verdict on ``example``, from one call to the teacher."""
        completion = await self.teacher.complete(self.request(example))
        self.calls += 1
        self.prompt_tokens += completion.prompt_tokens
        self.completion_tokens += completion.completion_tokens
        return verdict_of(completion)


def verdict_of(completion: Completion) -> Verdict:
    """The verdict a judge reply carries."""
    if completion.finish_reason == "length":
        return Verdict(None, "judge reply cut off at the token limit")
    return parse_verdict(completion.text)


def parse_verdict(text: str) -> Verdict:
    """``(score, reason)`` from a judge reply; ``(None, why)`` when it holds no valid score."""
    try:
        data = _extract(text)
    except ParseError as e:
        return Verdict(None, f"unparseable judge reply: {e}")
    raw, reason = data.get("score"), data.get("reason")
    reason = " ".join(str(reason).split()) if reason is not None else ""
    score = _as_int(raw)
    if score is None:
        return Verdict(None, f"judge reply has no integer score (got {raw!r})")
    if not MIN_SCORE <= score <= MAX_SCORE:
        return Verdict(None, f"judge score {score} is outside {MIN_SCORE}..{MAX_SCORE}")
    return Verdict(score, reason)


def _extract(text: str) -> dict[str, Any]:
    try:
        data: dict[str, Any] = extract_json(text, dict)
        return data
    except ParseError:
        if not text.strip():
            raise
    # Broken JSON (an unescaped quote in the reason, a cut-off string) often still shows
    # the score plainly.
    bare = _BARE_SCORE.search(text)
    if bare is None:
        raise ParseError("no JSON object with a score found")
    reason = _BARE_REASON.search(text)
    # The rest of the reply after the key, minus the object's closing: quotes inside stay.
    rest = reason.group(1).rstrip().rstrip("`").rstrip().rstrip("}").rstrip() if reason else ""
    return {"score": bare.group(1), "reason": rest.removesuffix('"')}


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None
