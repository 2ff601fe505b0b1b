"""Pacing the teacher: retry backoff, adaptive concurrency and optional rpm/tpm limits."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Jittered exponential backoff ("full jitter"), honouring the server's Retry-After up
    to ``max_retry_after`` seconds (Retry-After: 999999 once made each retry wait 300 s)."""

    base: float = 1.0
    cap: float = 60.0
    retries: int = 6
    max_retry_after: float = 60.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        ceiling = min(self.cap, self.base * (2**attempt))
        wait = rng.uniform(ceiling / 2, ceiling)
        if retry_after is not None:
            # The server knows its window; a little jitter keeps a burst of 429s from
            # coming back at the same instant.
            hint = min(retry_after, self.max_retry_after)
            wait = max(wait, hint + rng.uniform(0, 0.1 * ceiling))
        return wait


class AdaptiveLimit:
    """How many requests may be in flight: halved on a 429 (at most once per cooldown, so a
    burst of 429s from one window counts once), grown back by one per window of successes."""

    def __init__(self, maximum: int, cooldown: float = 1.0) -> None:
        self.maximum = maximum
        self.value = maximum
        self._cooldown = cooldown
        self._last_cut = -1e9
        self._successes = 0
        self.cuts = 0

    def on_rate_limit(self) -> None:
        now = time.monotonic()
        if now - self._last_cut >= self._cooldown and self.value > 1:
            self.value = max(1, self.value // 2)
            self._last_cut = now
            self._successes = 0
            self.cuts += 1

    def on_success(self) -> None:
        if self.value < self.maximum:
            self._successes += 1
            if self._successes >= self.value:
                self.value += 1
                self._successes = 0


class RateLimiter:
    """Token buckets for requests per minute and tokens per minute (either may be off)."""

    def __init__(self, rpm: float | None = None, tpm: float | None = None) -> None:
        self._buckets = [
            _Bucket(rate / 60.0, rate / 60.0 * 10) if rate else None for rate in (rpm, tpm)
        ]
        self._lock = asyncio.Lock()

    @property
    def active(self) -> bool:
        return any(self._buckets)

    async def acquire(self, tokens: int) -> None:
        if not self.active:
            return
        async with self._lock:  # FIFO: a large request is not starved by small ones
            for bucket, amount in zip(self._buckets, (1, tokens), strict=True):
                if bucket is not None:
                    await bucket.take(amount)


class _Bucket:
    def __init__(self, per_second: float, burst: float) -> None:
        self.rate = per_second
        self.capacity = max(burst, 1.0)
        self.level = self.capacity
        self.stamp = time.monotonic()

    async def take(self, amount: float) -> None:
        amount = min(amount, self.capacity)  # a request bigger than the bucket still goes
        while True:
            now = time.monotonic()
            self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.level >= amount:
                self.level -= amount
                return
            await asyncio.sleep((amount - self.level) / self.rate)
