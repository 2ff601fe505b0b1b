"""FakeTeacher's faults: random ones drawn by probability, a 429 storm (every request refused
for a while, then recovery), a server-side rate limit that sends OpenAI's ``x-ratelimit-*``
headers, and serving a fault on the wire (error statuses, slow replies, cut or empty ones,
malformed bodies, hangs and dropped connections)."""

from __future__ import annotations

import contextlib
import json
import math
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from synthgen.errors import ConfigError
from synthgen.testing.scripting import ERRORS, Fault, Reply, completion_body

if TYPE_CHECKING:
    from aiohttp import web

    from synthgen.testing.fake_teacher import FakeTeacher

__all__ = ["Faults", "RateLimit", "Storm"]

_DEFAULT_SLOW = 1.0
_DEFAULT_HANG_CAP = 600.0


@dataclass(frozen=True)
class Storm:
    """Every request is answered 429 (with ``retry_after``, None: no header) for ``seconds``,
    then the server recovers. It begins ``after`` seconds after the first request, and not
    before ``after_requests`` requests were answered normally."""

    seconds: float
    after: float = 0.0
    after_requests: int = 0
    retry_after: float | None = 1.0


@dataclass(frozen=True)
class RateLimit:
    """A server-side limit of ``requests`` per ``window`` seconds (fixed windows), sent as
    ``x-ratelimit-*`` headers on every reply, OpenAI's way; past it, 429 with Retry-After."""

    requests: int
    window: float = 60.0


def _go_duration(seconds: float) -> str:
    """Seconds as OpenAI writes its reset headers: "6m0s", "1s", "20ms"."""
    if seconds < 1:
        return f"{max(1, math.ceil(seconds * 1000))}ms"
    minutes, rest = divmod(seconds, 60)
    rest_text = f"{rest:.3f}".rstrip("0").rstrip(".")
    return f"{int(minutes)}m{rest_text}s" if minutes else f"{rest_text}s"


class Faults:
    """Which fault (if any) a request gets, and how many of each were served."""

    def __init__(
        self,
        probabilities: dict[str, float] | None,
        seed: int,
        storm: Storm | None = None,
        rate_limit: RateLimit | None = None,
        hang: float | None = None,
    ) -> None:
        self.probabilities = dict(probabilities or {})
        for kind, probability in self.probabilities.items():
            Fault(kind)  # validates the kind
            if not 0.0 <= probability <= 1.0:
                raise ConfigError(f"fault {kind} probability must be in 0..1, got {probability}")
        if sum(self.probabilities.values()) > 1.0 + 1e-9:
            raise ConfigError("fault probabilities add up to more than 1")
        self.storm = storm
        self.rate_limit = rate_limit
        self.hang = hang  # how long a drawn "hang" lasts (None: until stop(), at most 600 s)
        self.hanging = 0  # requests hanging now
        self._seed = seed
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.counts: Counter[str] = Counter()
            self._rng = random.Random(self._seed)
            self._first: float | None = None
            self._storm_began: float | None = None
            self._count = 0
            self._window = (0.0, 0)  # (start, requests in it)

    def served(self) -> Counter[str]:
        with self._lock:
            return Counter(self.counts)

    @property
    def active(self) -> bool:
        return bool(self.probabilities or self.storm or self.rate_limit)

    def draw(self) -> tuple[Fault | None, dict[str, str] | None]:
        """The fault for the request arriving now (None: none), and the rate-limit headers
        its reply carries. A storm or the rate limit comes before a random draw."""
        now = time.monotonic()
        with self._lock:
            if self._first is None:
                self._first = now
            storm = self.storm
            if storm is not None and self._storming(storm, now):
                return Fault("429", retry_after=storm.retry_after), None
            self._count += 1
            headers = None
            if self.rate_limit is not None:
                fault, headers = self._limit(now, self.rate_limit)
                if fault is not None:
                    return fault, headers
            draw, edge = self._rng.random(), 0.0
            for kind, probability in self.probabilities.items():
                edge += probability
                if draw < edge:
                    return Fault(kind, delay=self.hang if kind == "hang" else None), headers
        return None, headers

    def _storming(self, storm: Storm, now: float) -> bool:
        began = self._storm_began
        if began is None:
            assert self._first is not None
            if now - self._first < storm.after or self._count < storm.after_requests:
                return False
            began = self._storm_began = now
        return now - began < storm.seconds

    def _limit(self, now: float, limit: RateLimit) -> tuple[Fault | None, dict[str, str]]:
        start, used = self._window
        if now - start >= limit.window:
            start, used = now, 0
        reset = start + limit.window - now
        if used >= limit.requests:
            self._window = (start, used)
            return Fault("429", retry_after=reset), self._headers(limit, 0, reset)
        self._window = (start, used + 1)
        return None, self._headers(limit, limit.requests - used - 1, reset)

    @staticmethod
    def _headers(limit: RateLimit, remaining: int, reset: float) -> dict[str, str]:
        return {
            "x-ratelimit-limit-requests": str(limit.requests),
            "x-ratelimit-remaining-requests": str(remaining),
            "x-ratelimit-reset-requests": _go_duration(reset),
        }

    async def serve(
        self,
        fake: FakeTeacher,
        request: web.Request,
        body: dict[str, Any],
        item: Fault,
        index: int,
    ) -> web.StreamResponse:
        """Answer with ``item``, as the wire would show it."""
        import asyncio

        from aiohttp import web

        with self._lock:
            self.counts[item.kind] += 1
        kind = item.kind
        if kind in ERRORS:
            headers = None
            if kind == "429" and item.retry_after is not None:
                headers = {"Retry-After": f"{item.retry_after:g}"}
            return fake._error(kind, headers=headers)
        if kind == "slow":
            await asyncio.sleep(_DEFAULT_SLOW if item.delay is None else item.delay)
            return fake._completion(body, fake._content(body, item.reply), index)
        if kind in ("length", "empty"):
            full = fake._content(body, item.reply).content if kind == "length" else ""
            cut = Reply(full[: len(full) // 2], "length" if kind == "length" else "stop")
            return fake._completion(body, cut, index)
        if kind == "malformed":
            payload = completion_body(body, fake._content(body, item.reply), index)
            whole = json.dumps(payload).encode()
            return fake._send(
                web.Response(body=whole[: len(whole) // 2], content_type="application/json")
            )
        if kind == "hang":
            # Wait for the client to give up (the handler is then cancelled) or for stop().
            closing = fake._closing
            assert closing is not None
            cap = _DEFAULT_HANG_CAP if item.delay is None else item.delay
            with self._lock:
                self.hanging += 1
            try:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(closing.wait(), timeout=cap)
            finally:
                with self._lock:
                    self.hanging -= 1
        return await _drop(request)


async def _drop(request: web.Request) -> web.StreamResponse:
    """Close the connection without a response."""
    import asyncio

    transport = request.transport
    if transport is not None:
        transport.close()
    # Closing makes aiohttp cancel this handler; wait for that instead of writing.
    await asyncio.sleep(3600)
    raise ConnectionResetError("FakeTeacher dropped the connection")
