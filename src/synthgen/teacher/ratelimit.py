"""Reading the ``x-ratelimit-*`` headers OpenAI-compatible servers send with every reply, and
pacing by them: when an endpoint says its request or token allowance is about to run out,
new requests wait for the reset instead of running into a 429.

OpenAI writes the reset times as Go durations ("6m0s", "1s", "20ms", "1h2m3.5s"); others
send plain seconds. A header that does not parse is ignored, never an error.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["HeaderPace", "RateLimitHeaders", "duration_seconds"]

# The longest hold a header can ask for: a reset hours away is a daily quota, which waiting
# here cannot help with (the 429s that follow are the storm's to weather).
MAX_HOLD = 60.0
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)")
_SCALE = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


def duration_seconds(text: str | None) -> float | None:
    """Seconds in a reset header: "6m0s", "1s", "20ms", "1h2m3.5s", or a plain number."""
    if not text:
        return None
    text = text.strip().lower()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    parts = _PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(float(n) * _SCALE[u] for n, u in parts)


def _count(text: str | None) -> int | None:
    try:
        return int(float(text)) if text else None
    except ValueError:
        return None


@dataclass(frozen=True)
class RateLimitHeaders:
    """What one reply's headers say about the endpoint's allowance (None: not sent)."""

    remaining_requests: int | None = None
    remaining_tokens: int | None = None
    reset_requests: float | None = None  # seconds until the request allowance refills
    reset_tokens: float | None = None

    @classmethod
    def parse(cls, headers: Mapping[str, str]) -> RateLimitHeaders | None:
        """The rate-limit headers of a reply, or None when it has none."""
        remaining = headers.get("x-ratelimit-remaining-requests")
        tokens = headers.get("x-ratelimit-remaining-tokens")
        if remaining is None and tokens is None:
            return None
        return cls(
            remaining_requests=_count(remaining),
            remaining_tokens=_count(tokens),
            reset_requests=duration_seconds(headers.get("x-ratelimit-reset-requests")),
            reset_tokens=duration_seconds(headers.get("x-ratelimit-reset-tokens")),
        )


class HeaderPace:
    """Holds new requests until the endpoint's allowance resets once the latest reply says
    what is left would be used up by the requests already in flight."""

    def __init__(self) -> None:
        self.hold_until = 0.0  # time.monotonic(); new requests wait until then
        self.holds = 0  # how often the headers held requests back
        self.held = 0.0  # seconds of holds started (overlapping holds counted once)

    def observe(self, headers: Mapping[str, str], *, in_flight: int, tokens: float) -> None:
        """Read a reply's headers; ``in_flight`` requests of about ``tokens`` tokens each
        may still be sent against what they say is left."""
        seen = RateLimitHeaders.parse(headers)
        if seen is None:
            return
        wait = 0.0
        if seen.remaining_requests is not None and seen.remaining_requests <= in_flight:
            wait = max(wait, seen.reset_requests or 0.0)
        if seen.remaining_tokens is not None and seen.remaining_tokens <= in_flight * tokens:
            wait = max(wait, seen.reset_tokens or 0.0)
        if wait <= 0:
            return
        now = time.monotonic()
        until = now + min(wait, MAX_HOLD)
        if until > self.hold_until:
            self.held += until - max(now, self.hold_until)
            if self.hold_until <= now:
                self.holds += 1
            self.hold_until = until

    @property
    def holding(self) -> bool:
        return self.hold_until > time.monotonic()

    async def wait(self) -> None:
        """Until the hold (if any) ends; a later reply may extend it."""
        while True:
            left = self.hold_until - time.monotonic()
            if left <= 0:
                return
            await asyncio.sleep(left)
