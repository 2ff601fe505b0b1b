import asyncio
import random
import time

from synthgen.teacher.pacing import AdaptiveLimit, Backoff, RateLimiter


def test_backoff_grows_and_honours_retry_after():
    b = Backoff(base=1.0, cap=8.0)
    rng = random.Random(0)
    d = [b.delay(k, None, rng) for k in range(6)]
    assert 0.5 <= d[0] <= 1 and 4 <= d[5] <= 8
    assert b.delay(0, 5.0, rng) >= 5.0


def test_adaptive_limit_halves_once_per_burst_and_recovers():
    lim = AdaptiveLimit(16, cooldown=60)
    lim.on_rate_limit()
    lim.on_rate_limit()  # same burst
    assert lim.value == 8 and lim.cuts == 1
    for _ in range(200):
        lim.on_success()
    assert lim.value == 16


def test_rate_limiter_paces_requests():
    async def go():
        rl = RateLimiter(rpm=600)  # 10/s with a burst of 100
        start = time.monotonic()
        for _ in range(105):
            await rl.acquire(1)
        return time.monotonic() - start

    # 100 go at once, the next 5 need about half a second: a lower bound, never an upper.
    assert asyncio.run(go()) >= 0.4
