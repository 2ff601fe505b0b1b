"""Sizes a job fixes before it starts: the reply token limit every request carries, how far
back the frontier looks, and how many connections the machine allows.

Each is a function of the job alone (seeds, template, model, -n), never of pacing flags
(--concurrency, --rpm): what a request asks and shows must not change when a re-run is paced
differently, or its cached reply would be bought again.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from synthgen.data.example import Example, Message

__all__ = [
    "FRONTIER_LAG_MAX",
    "FRONTIER_LAG_MIN",
    "JUDGE_MAX_TOKENS",
    "concurrency_limit",
    "frontier_lag",
    "reply_token_limit",
    "rough_tokens",
]

# Reply limit = conversations asked x (MARGIN x the longest seed's tokens + OVERHEAD), at
# least FLOOR: a reply that loops under a JSON grammar stops there instead of running to the
# context (minutes of a local GPU, or dollars).
MARGIN = 2
OVERHEAD = 40  # JSON of one conversation: braces, keys, roles, quotes
FLOOR = 256
JUDGE_MAX_TOKENS = 256  # {"score": 7, "reason": "one sentence"}

FRONTIER_LAG_MIN = 32
FRONTIER_LAG_MAX = 256

# File descriptors kept free for what is not a connection: the journal, the cache, seeds,
# outputs, the interpreter's own.
FD_MARGIN = 64


def rough_tokens(text: str) -> int:
    """Tokens of ``text``, from above for every script: a token is about 4 bytes of English
    and about 3 of CJK (one character), so UTF-8 bytes / 3 over-counts, never under."""
    return math.ceil(len(text.encode("utf-8", "replace")) / 3)


def _written(m: Message) -> str:
    """What the teacher writes of a message: its text, and the JSON of its tool calls."""
    calls = (
        f'{{"id":"{c.id}","function":{c.function.model_dump_json()}}}' for c in m.tool_calls or ()
    )
    return m.content + "".join(calls)


def reply_token_limit(seeds: Iterable[Example], per_request: int, model_limit: int | None) -> int:
    """``max_tokens`` for a request asking for ``per_request`` conversations like the
    longest of ``seeds`` (its turns, no system prompt), within ``model_limit``."""
    longest = max(
        (sum(rough_tokens(_written(m)) for m in ex.turns if m.role != "system") for ex in seeds),
        default=0,
    )
    limit = max(FLOOR, per_request * (MARGIN * longest + OVERHEAD))
    return min(limit, model_limit) if model_limit else limit


def frontier_lag(n: int, per_request: float) -> int:
    """How many requests back a prompt's frontier examples come from; also the most requests
    in flight while the frontier is on. From -n and the conversations asked (both part of
    the job), an eighth of the requests a run needs, within [32, 256]: a small job gets a
    frontier early, a large one room for hundreds of requests in flight."""
    needed = math.ceil(n / max(per_request, 1.0))
    return max(FRONTIER_LAG_MIN, min(FRONTIER_LAG_MAX, needed // 8))


def concurrency_limit() -> int | None:
    """The most connections this process can open (its open-file limit less a margin), or
    None when the platform does not say."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    try:
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (OSError, ValueError):
        return None
    if soft == resource.RLIM_INFINITY or soft <= 0:
        return None
    return max(1, soft - FD_MARGIN)
