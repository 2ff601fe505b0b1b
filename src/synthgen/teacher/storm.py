"""Weathering a 429 storm: an endpoint answering 429 to everything for a while.

Retrying each request on its own backoff keeps dozens of requests hammering an endpoint that
refuses them all, uses up their retries, and ends the run as "repeated failures". Instead,
after a few 429s in a row with no success between them, spread over at least a second (a
burst of 429s answered at once is one full window, which the halved concurrency and each
request's own backoff handle), the endpoint is paused: nothing is sent until the pause ends
(the server's Retry-After, or a backoff that grows with each refused probe), then one
request at a time probes it; the first success ends the storm and the adaptive limit ramps
back up from one. A storm that outlasts ``patience`` ends the run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

__all__ = ["PatienceExhausted", "Storm"]


class PatienceExhausted(Exception):
    """The endpoint has refused every request for longer than the patience allows."""


class Storm:
    def __init__(
        self,
        *,
        patience: float,
        threshold: int = 3,
        span: float = 1.0,
        base: float = 1.0,
        cap: float = 10.0,
    ) -> None:
        self.patience = patience
        # A storm: ``threshold`` 429s in a row (no success between) over ``span`` seconds.
        self.threshold = threshold
        self.span = span
        self._streak_began = 0.0
        self._base = base
        self._cap = cap
        self.streak = 0
        self.active = False
        self.started = 0.0  # time.monotonic() when the current storm began
        self.resume_at = 0.0  # the next probe may go then
        self.probing = False  # a probe is out
        self.refused = 0  # probes refused in the current storm
        self.storms = 0
        self.gave_up = False
        self._ended = 0.0  # seconds of the storms that are over
        self._changed: asyncio.Future[None] | None = None
        # Told when a storm begins or ends (the live view shows "rate limited, waiting").
        self.listeners: list[Callable[[], None]] = []

    @property
    def seconds(self) -> float:
        """Seconds spent paused by storms, the current one included."""
        return self._ended + (time.monotonic() - self.started if self.active else 0.0)

    async def turn(self) -> bool:
        """Wait until a request may be sent: at once outside a storm; in one, after the pause
        and when no other probe is out. True when this request is the storm's probe: its
        outcome must be reported (success, rate_limited or failed)."""
        while self.active:
            now = time.monotonic()
            if self.gave_up or now - self.started >= self.patience:
                self.gave_up = True
                self._notify()
                raise PatienceExhausted(self.detail())
            if now >= self.resume_at and not self.probing:
                self.probing = True
                return True
            wait = self.started + self.patience - now
            if now < self.resume_at:
                wait = min(wait, self.resume_at - now)
            await self._wait_change(wait)
        if self.gave_up:
            raise PatienceExhausted(self.detail())
        return False

    def detail(self) -> str:
        return f"the teacher answered only 429 (rate limited) for {self.seconds:.0f}s"

    def rate_limited(self, retry_after: float | None, *, probe: bool) -> None:
        """A 429; ``retry_after`` is the server's hint in seconds, if it sent one."""
        now = time.monotonic()
        self.streak += 1
        if self.streak == 1:
            self._streak_began = now
        if self.active:
            if probe:
                self.probing = False
                self.refused += 1
                self.resume_at = max(self.resume_at, now + self._pause(retry_after))
                self._notify()
            elif retry_after:  # a request sent before the storm: its hint still counts
                self.resume_at = max(self.resume_at, now + retry_after)
            return
        if self.streak >= self.threshold and now - self._streak_began >= self.span:
            self.active = True
            self.started = now
            self.refused = 0
            self.storms += 1
            self.resume_at = now + self._pause(retry_after)
            self._notify()
            self._tell()

    def failed(self, *, probe: bool) -> None:
        """Another failure (a 500, a timeout, a cancelled probe): another probe may go."""
        if probe:
            self.probing = False
            self._notify()

    def succeeded(self) -> bool:
        """A reply: the streak is over; True when it ended a storm."""
        self.streak = 0
        if not self.active:
            return False
        self.active = False
        self.probing = False
        self._ended += time.monotonic() - self.started
        self._notify()
        self._tell()
        return True

    def _tell(self) -> None:
        for listener in list(self.listeners):
            listener()

    def _pause(self, retry_after: float | None) -> float:
        """The server's Retry-After when it sends one (it knows its window: probing sooner
        is refused, later wastes time), else a backoff growing with each refused probe."""
        if retry_after is not None:
            return retry_after
        return min(self._cap, self._base * 2.0**self.refused)

    def _notify(self) -> None:
        if self._changed is not None and not self._changed.done():
            self._changed.set_result(None)
        self._changed = None

    async def _wait_change(self, timeout: float) -> None:
        if self._changed is None:
            self._changed = asyncio.get_running_loop().create_future()
        await asyncio.wait({self._changed}, timeout=max(timeout, 0.0))
