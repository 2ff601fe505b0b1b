"""Rejected replies and candidates as the journal keeps them: excerpts, not whole texts."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["EXCERPT_CHARS", "bounded"]

# Rejected replies and candidates are kept to this many characters (journal, rejected.jsonl).
EXCERPT_CHARS = 2_000


def bounded(row: dict[str, Any]) -> dict[str, Any]:
    """A rejected.jsonl row as the journal keeps it: what was rejected, cut to an excerpt of
    EXCERPT_CHARS characters when longer (a 100 MB reply once made a 4 GB journal), with its
    full length in ``chars``."""
    key = "text" if "text" in row else "messages"
    value = row.get(key)
    if _size(value) <= EXCERPT_CHARS:
        return row
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    rest = {k: v for k, v in row.items() if k != key}
    return {**rest, "text": text[:EXCERPT_CHARS], "chars": len(text)}


def _size(value: object) -> int:
    """About how many characters ``value`` is as JSON; cheap for the usual conversation."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list) and len(value) <= 64:
        contents = [m.get("content") if isinstance(m, dict) else None for m in value]
        if all(isinstance(c, str) for c in contents):
            return sum(len(c) + 40 for c in contents if isinstance(c, str))
    return len(json.dumps(value, ensure_ascii=False, default=str))
