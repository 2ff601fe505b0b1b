"""A reasoning model's trace, read apart from its answer, whichever way the endpoint sends it.

vLLM's reasoning parsers and DeepSeek put it in ``message.reasoning_content``; OpenRouter
(and vLLM from 0.10) in ``message.reasoning``; a server without a parser leaves it in the
content as a leading ``<think>…</think>`` block (:mod:`synthgen.text.think`), which is split
off here so that no later step reads the trace as part of the answer. A ``<think>`` never
closed (a cut trace) stays in the text, where curation names it.

The tokens the trace took are ``usage.completion_tokens_details.reasoning_tokens`` when the
server says (OpenAI, DeepSeek, OpenRouter: OpenAI's o-series report them without sending any
trace), else the trace counted with the offline tokenizer (:mod:`synthgen.text.tokens`),
at most the reply's completion tokens.
"""

from __future__ import annotations

from synthgen.errors import RunError
from synthgen.teacher.base import reply_text
from synthgen.text.think import split_think

__all__ = ["FIELDS", "Traced", "traced"]

# The message fields a trace comes in, in the order they are looked for.
FIELDS = ("reasoning_content", "reasoning")

Traced = tuple[str, str, int]  # (answer text, trace, reasoning tokens)


def _field(obj: object, name: str) -> object:
    if isinstance(obj, dict):
        return obj.get(name)
    value = getattr(obj, name, None)
    if value is None:
        # The openai SDK keeps keys its models lack (reasoning_content) as extras.
        extra = getattr(obj, "model_extra", None)
        value = extra.get(name) if isinstance(extra, dict) else None
    return value


def _reported(usage: object) -> int | None:
    details = _field(usage, "completion_tokens_details") if usage is not None else None
    value = _field(details, "reasoning_tokens") if details is not None else None
    return value if type(value) is int and value >= 0 else None


def _counted(trace: str, model: str) -> int:
    from synthgen.text.tokens import count_text_tokens

    try:
        return count_text_tokens(trace, model)
    except RunError:  # no tokenizer files: a rough count beats none
        return len(trace) // 4 + 1


def traced(text: str, message: object, usage: object, model: str) -> Traced:
    """The answer, the trace and its tokens of a reply whose content is ``text`` (already
    cleaned by ``reply_text``), whose ``message`` (a dict or an SDK/litellm object) may carry
    a trace field, and whose ``usage`` may count its tokens."""
    trace = ""
    for name in FIELDS:
        value = _field(message, name)
        if isinstance(value, str) and value.strip():
            trace = reply_text(value.strip())
            break
    think = split_think(text)
    counted = trace
    if think.cut:
        counted = trace or think.trace  # spent, though the text keeps it for curation
    elif think.trace:
        text = think.answer
        trace = counted = trace or think.trace
    reported = _reported(usage)
    # Some servers send the details with zeros whatever the reply: a trace in hand says more.
    if reported is not None and (reported > 0 or not counted):
        return text, trace, reported
    completion = _field(usage, "completion_tokens") if usage is not None else None
    spent = _counted(counted, model) if counted else 0
    if type(completion) is int and completion > 0:
        spent = min(spent, completion)
    return text, trace, spent
