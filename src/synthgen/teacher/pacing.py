"""Pacing the teacher: retry backoff, adaptive concurrency, optional rpm/tpm limits, 429
storms and the endpoint's rate-limit headers, bundled in :class:`Pacing`."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass

from synthgen.teacher.ratelimit import HeaderPace
from synthgen.teacher.storm import PatienceExhausted, Storm

__all__ = ["AdaptiveLimit", "Backoff", "Pacing", "PatienceExhausted", "RateLimiter"]

# How long a 429 storm may last before the run gives up (Settings.rate_limit_patience).
DEFAULT_PATIENCE = 600.0


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
    burst of 429s from one window counts once), grown back by one per window of successes;
    after a 429 storm, restarted at one and doubled per window of successes (slow start)."""

    def __init__(self, maximum: int, cooldown: float = 1.0) -> None:
        self.maximum = maximum
        self.value = maximum
        self._cooldown = cooldown
        self._last_cut = -1e9
        self._successes = 0
        self._slow_start = False
        self.cuts = 0

    def on_rate_limit(self) -> None:
        self._slow_start = False
        now = time.monotonic()
        if now - self._last_cut >= self._cooldown and self.value > 1:
            self.value = max(1, self.value // 2)
            self._last_cut = now
            self._successes = 0
            self.cuts += 1

    def restart(self) -> None:
        """A storm is over: one request at a time, doubling while the endpoint keeps up."""
        self.value = 1
        self._successes = 0
        self._slow_start = True

    def on_success(self) -> None:
        if self.value < self.maximum:
            self._successes += 1
            if self._successes >= self.value:
                grown = 2 * self.value if self._slow_start else self.value + 1
                self.value = min(self.maximum, grown)
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

    def settle(self, estimated: int, actual: int) -> None:
        """A reply used ``actual`` tokens where ``estimated`` were taken before it was sent:
        the difference is charged (or given back), so --tpm paces what is really used."""
        bucket = self._buckets[1]
        if bucket is not None and actual != estimated:
            bucket.charge(actual - estimated)

    async def acquire(self, tokens: int) -> None:
        if not self.active:
            return
        async with self._lock:  # FIFO: a large request is not starved by small ones
            for bucket, amount in zip(self._buckets, (1, tokens), strict=True):
                if bucket is not None:
                    await bucket.take(amount)


class Pacing:
    """Everything that paces requests to one endpoint and key: the adaptive concurrency limit,
    the --rpm/--tpm buckets, the 429-storm gate and the hold the rate-limit headers ask for.
    Runs (or service jobs) on one endpoint and key may share one: they then share its
    buckets, storms and holds, and its limit (each keeps at most ``limit.value`` in flight,
    so the service should size it for the jobs it runs at once)."""

    def __init__(
        self,
        concurrency: int = 16,
        *,
        rpm: float | None = None,
        tpm: float | None = None,
        patience: float = DEFAULT_PATIENCE,
    ) -> None:
        self.limit = AdaptiveLimit(concurrency)
        self.rate = RateLimiter(rpm, tpm)
        self.storm = Storm(patience=patience)
        self.headers = HeaderPace()
        self._tokens = 1000.0  # a request's tokens, prompt and completion: a running mean

    @property
    def waiting(self) -> bool:
        """Nothing may be sent now: paused by a storm or held by the headers."""
        return self.storm.active or self.headers.holding

    @property
    def waited(self) -> float:
        """Seconds paused by 429 storms so far."""
        return self.storm.seconds

    async def acquire(self, tokens: int) -> bool:
        """Wait for a turn to send a request of about ``tokens`` tokens. True when it is a
        storm's probe (report its outcome). PatienceExhausted: the storm lasted too long."""
        probe = await self.storm.turn() if self.storm.active else False
        if self.headers.hold_until:
            await self.headers.wait()
        if self.rate.active:
            await self.rate.acquire(tokens)
        return probe

    def succeeded(self, *, estimated: int, used: int) -> None:
        """A reply that used ``used`` tokens (prompt and completion), ``estimated`` up front."""
        self.rate.settle(estimated, used)
        self._tokens += (used - self._tokens) / 16
        if self.storm.succeeded():
            self.limit.restart()
        self.limit.on_success()

    def rate_limited(self, retry_after: float | None, *, probe: bool) -> None:
        self.limit.on_rate_limit()
        self.storm.rate_limited(retry_after, probe=probe)

    def failed(self, *, probe: bool) -> None:
        """Any other failure of a request that was let through."""
        self.storm.failed(probe=probe)

    def observe(self, headers: Mapping[str, str]) -> None:
        """A reply's headers: x-ratelimit-* may hold the next requests until a reset."""
        self.headers.observe(headers, in_flight=self.limit.value, tokens=self._tokens)


class _Bucket:
    def __init__(self, per_second: float, burst: float) -> None:
        self.rate = per_second
        self.capacity = max(burst, 1.0)
        self.level = self.capacity
        self.stamp = time.monotonic()

    def charge(self, amount: float) -> None:
        """Take (or give back, when negative) ``amount`` after the fact; the level may go
        below zero, and later requests wait until it is paid off."""
        self.level = min(self.capacity, self.level - amount)

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
