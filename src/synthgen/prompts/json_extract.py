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
        if json_too_deep(data):
            why = f"JSON nested more than {MAX_JSON_DEPTH} levels deep"
            continue
        if isinstance(data, want):
            return _clean(data)
    raise ParseError(why)


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
