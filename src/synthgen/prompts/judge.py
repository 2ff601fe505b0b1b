"""An optional LLM judge: the teacher (or another model) scores each accepted candidate 1-10
for correctness, helpfulness and fidelity to the system prompt (templates/judge.j2), and
candidates below ``min_score`` are dropped with reason ``low_score``.

The judge asks for ``{"score": int, "reason": str}`` with a JSON schema and parses what comes
back leniently (```json fences, prose around the object, and as a last resort a bare
``"score": N``). A reply it cannot read scores None with the reason, rather than raising: by
default such a candidate is kept, since a judge failure says nothing about the candidate.
Retries and rate limits belong to whoever calls the teacher.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from synthgen.errors import ConfigError
from synthgen.prompts.reply import ParseError

if TYPE_CHECKING:
    from synthgen.curate.filters import Drop
    from synthgen.data.example import Example
    from synthgen.prompts.templates import Template
    from synthgen.teacher import ChatRequest, Completion, Teacher

__all__ = ["Judge", "parse_verdict", "response_format", "verdict_of"]

MIN_SCORE, MAX_SCORE = 1, 10
_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)
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


class Judge:
    """Scores examples with ``teacher``; ``await judge(example)`` gives a Drop or None."""

    def __init__(
        self,
        teacher: Teacher,
        template: Template | None = None,
        *,
        min_score: int,
        keep_unscored: bool = True,
        max_tokens: int | None = None,
    ) -> None:
        if not MIN_SCORE <= min_score <= MAX_SCORE:
            raise ConfigError(
                f"--judge-min-score must be within {MIN_SCORE}..{MAX_SCORE} (got {min_score})"
            )
        if template is None:
            from synthgen.prompts.templates import load_template

            template = load_template("judge")
        self.teacher = teacher
        self.template = template
        self.min_score = min_score
        self.keep_unscored = keep_unscored
        self.max_tokens = max_tokens
        # Judge calls cost money too: the caller adds these to the run's report.
        self.calls = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0

    def request(self, example: Example) -> ChatRequest:
        """The chat request that judges ``example`` (deterministic: temperature 0)."""
        from synthgen.teacher import ChatRequest

        conversation = [{"role": m.role, "content": m.content} for m in example.turns]
        messages = self.template.render(conversation=conversation, system=example.system)
        return ChatRequest(
            messages=tuple(messages),
            temperature=0.0,
            max_tokens=self.max_tokens,
            response_format=response_format(),
        )

    async def score(self, example: Example) -> tuple[int | None, str]:
        """``(score, reason)``; the score is None when the reply could not be read, and the
        reason then says why."""
        completion = await self.teacher.complete(self.request(example))
        self.calls += 1
        self.prompt_tokens += completion.prompt_tokens
        self.completion_tokens += completion.completion_tokens
        return verdict_of(completion)

    async def __call__(self, example: Example) -> Drop | None:
        from synthgen.curate.filters import Drop

        score, reason = await self.score(example)
        if score is None:
            return None if self.keep_unscored else Drop("judge_failed", reason)
        if score < self.min_score:
            why = f": {reason}" if reason else ""
            return Drop("low_score", f"judge scored {score}/10 < {self.min_score}{why}")
        return None


def verdict_of(completion: Completion) -> tuple[int | None, str]:
    if completion.finish_reason == "length":
        return None, "judge reply cut off at the token limit"
    return parse_verdict(completion.text)


def parse_verdict(text: str) -> tuple[int | None, str]:
    """``(score, reason)`` from a judge reply; ``(None, why)`` when it holds no valid score."""
    try:
        data = _extract(text)
    except ParseError as e:
        return None, f"unparseable judge reply: {e}"
    raw, reason = data.get("score"), data.get("reason")
    reason = " ".join(str(reason).split()) if reason is not None else ""
    score = _as_int(raw)
    if score is None:
        return None, f"judge reply has no integer score (got {raw!r})"
    if not MIN_SCORE <= score <= MAX_SCORE:
        return None, f"judge score {score} is outside {MIN_SCORE}..{MAX_SCORE}"
    return score, reason


def _extract(text: str) -> dict[str, Any]:
    if not text or not text.strip():
        raise ParseError("empty reply")
    chunks = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        chunks.append(text[start : end + 1])
    for chunk in chunks:
        try:
            data = json.loads(chunk)
        except ValueError:
            continue
        if isinstance(data, dict):
            return data
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
