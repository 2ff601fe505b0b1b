"""Rate-limit headers: OpenAI's reset durations, and the hold they ask for before a 429."""

from __future__ import annotations

import asyncio

import pytest

from synthgen.teacher.pacing import Pacing, RateLimiter
from synthgen.teacher.ratelimit import HeaderPace, RateLimitHeaders, duration_seconds


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("6m0s", 360.0),
        ("1s", 1.0),
        ("20ms", 0.02),
        ("1h2m3.5s", 3723.5),
        ("0.5s", 0.5),
        ("2", 2.0),
        ("", None),
        (None, None),
        ("soon", None),
        ("1s and then some", None),
    ],
)
def test_reset_durations_in_openais_formats(text: str | None, seconds: float | None) -> None:
    got = duration_seconds(text)
    assert got == pytest.approx(seconds) if seconds is not None else got is None


def test_headers_parse_and_hold_only_when_the_allowance_runs_out() -> None:
    assert RateLimitHeaders.parse({"content-type": "application/json"}) is None
    plenty = {"x-ratelimit-remaining-requests": "59", "x-ratelimit-reset-requests": "1s"}
    seen = RateLimitHeaders.parse(plenty)
    assert seen == RateLimitHeaders(remaining_requests=59, reset_requests=1.0)

    pace = HeaderPace()
    pace.observe(plenty, in_flight=16, tokens=1000)
    assert not pace.holding and pace.holds == 0
    # Four requests left and sixteen may be in flight: wait for the reset, not for a 429.
    pace.observe(
        {"x-ratelimit-remaining-requests": "4", "x-ratelimit-reset-requests": "20ms"},
        in_flight=16,
        tokens=1000,
    )
    assert pace.holds == 1
    # Tokens: 30,000 left, sixteen requests of ~2,500 would need 40,000.
    tokens = {"x-ratelimit-remaining-tokens": "30000", "x-ratelimit-reset-tokens": "6m0s"}
    pace.observe(tokens, in_flight=16, tokens=2500)
    assert pace.holding and pace.holds >= 1
    # A reset hours away is a quota, not a window: held a minute at most.
    assert pace.held <= 60.0 + 0.02


def test_a_pacing_waits_out_a_short_hold() -> None:
    async def go() -> bool:
        pacing = Pacing(4)
        pacing.observe({"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "5ms"})
        held = pacing.waiting
        await pacing.acquire(10)
        return held and not pacing.waiting

    assert asyncio.run(go())


def test_tpm_charges_what_a_reply_really_used() -> None:
    """--tpm once paced by prompt characters / 3 alone and let ~3x the limit through: the
    completion tokens are charged after the reply, and later requests wait for them."""

    async def go() -> tuple[float, float]:
        limiter = RateLimiter(tpm=6000)  # 100 tokens/s, a bucket of 1,000
        bucket = limiter._buckets[1]
        assert bucket is not None
        await limiter.acquire(100)
        before = bucket.level
        limiter.settle(100, 1600)  # the reply used 1,600 tokens, not 100
        return before, bucket.level

    before, after = asyncio.run(go())
    assert before == pytest.approx(900, abs=5)
    assert after == pytest.approx(-600, abs=5)  # in debt: the next requests wait for it


def test_a_run_with_tpm_charges_each_reply_its_usage(tmp_path) -> None:
    """Through the engine: every reply's real usage, prompt and completion, is what the
    --tpm bucket is charged after the reply (max_tokens and the prompt up front)."""
    from synthgen.teacher.inprocess import InProcessTeacher
    from tests.engine_kit import Demo, make_engine, make_job, run

    charged: list[tuple[int, int]] = []

    class Recorded(Pacing):
        def succeeded(self, *, estimated: int, used: int) -> None:
            charged.append((estimated, used))
            super().succeeded(estimated=estimated, used=used)

    job = make_job(tmp_path / "o", 10, concurrency=1)
    engine = make_engine(job, InProcessTeacher(Demo()))
    engine.runner.pacing = Recorded(1, tpm=6_000_000)
    run(engine)
    s = engine.stats
    assert len(charged) == s.replies and s.completion_tokens > 0
    assert sum(used for _, used in charged) == s.prompt_tokens + s.completion_tokens
    assert all(estimated > (job.max_tokens or 0) for estimated, _ in charged)
