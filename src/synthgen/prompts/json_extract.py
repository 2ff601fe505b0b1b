"""Lenient reading of the JSON a model was asked for, shared by the reply parser and the judge.

Many endpoints ignore ``response_format``, and models wrap JSON in ```json fences or put prose
around it. The candidates tried, in order: the contents of each fence, the whole text, the
span from the first ``{`` to the last ``}``, and from the first ``[`` to the last ``]``.

Whatever a reply holds, reading it fails only with a :class:`ParseError`: JSON nested deeper
than ``MAX_JSON_DEPTH`` is refused (100,000 levels made the parser raise RecursionError), and
lone surrogates (``"\\ud83d"``, half an emoji) become U+FFFD, so no later step that encodes
the text (dedup, the journal, the output) can fail on them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from synthgen.data.seed_records import MAX_JSON_DEPTH, json_too_deep
from synthgen.text.normalize import LONE_SURROGATE

__all__ = ["ParseError", "extract_json"]

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)


class ParseError(ValueError):
    """The reply holds no usable JSON; the message says why (it goes into rejected.jsonl)."""


def _candidates(text: str) -> Iterator[str]:
    for fenced in _FENCE.finditer(text):
        yield fenced.group(1)
    yield text
    for open_, close in (("{", "}"), ("[", "]")):
        start, end = text.find(open_), text.rfind(close)
        if 0 <= start < end:
            yield text[start : end + 1]


def extract_json(text: str, want: type | tuple[type, ...] = object) -> Any:
    """The first candidate (see the module doc) that parses as JSON and is a ``want``; a
    :class:`ParseError` when the text is blank or none is."""
    if not text or not text.strip():
        raise ParseError("empty reply")
    why = "no JSON object found in the reply"
    for chunk in _candidates(text):
        try:
            data = json.loads(chunk)
        except ValueError:
            continue
        except RecursionError:
            why = f"JSON nested more than {MAX_JSON_DEPTH} levels deep"
            continue
        if _may_nest_deeply(chunk) and json_too_deep(data):
            why = f"JSON nested more than {MAX_JSON_DEPTH} levels deep"
            continue
        if isinstance(data, want):
            return _clean(data) if _may_hold_surrogates(chunk) else data
    raise ParseError(why)


# A \uD800-\uDFFF escape: json.loads turns it into a surrogate, alone unless paired.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _may_hold_surrogates(chunk: str) -> bool:
    """Whether the JSON parsed from ``chunk`` can hold a lone surrogate: only from an escape
    of one or a surrogate in the text itself. Two scans of the text instead of a walk over
    every string parsed (most replies have neither)."""
    return bool(_SURROGATE_ESCAPE.search(chunk) or LONE_SURROGATE.search(chunk))


def _may_nest_deeply(chunk: str) -> bool:
    """Whether ``chunk`` has brackets enough to nest past MAX_JSON_DEPTH (each level opens
    one): a usual reply has a few dozen, so the walk over the parsed value is skipped."""
    return chunk.count("[") + chunk.count("{") > MAX_JSON_DEPTH


def _clean(value: Any) -> Any:
    """``value`` with lone surrogates in its strings replaced by U+FFFD. Recursive, which is
    safe: the depth was checked."""
    if isinstance(value, str):
        return LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    return value
