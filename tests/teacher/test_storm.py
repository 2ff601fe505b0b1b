"""429 storms: the endpoint is paused after a few 429s in a row, probed one request at a
time, recovered from at the first success, and given up on after the patience."""

from __future__ import annotations

import asyncio

import pytest

from synthgen.teacher.pacing import AdaptiveLimit, Pacing, PatienceExhausted
from synthgen.teacher.storm import Storm


def test_isolated_429s_and_a_burst_of_them_are_no_storm() -> None:
    storm = Storm(patience=60, span=0)
    for _ in range(5):
        storm.rate_limited(0.01, probe=False)
        storm.rate_limited(0.01, probe=False)
        storm.succeeded()
    assert not storm.active and storm.storms == 0
    # 429s answered all at once are one full window, not an endpoint refusing everything.
    burst = Storm(patience=60, span=1.0)
    for _ in range(16):
        burst.rate_limited(0.01, probe=False)
    assert not burst.active


def test_a_storm_lets_one_probe_out_at_a_time_and_ends_at_the_first_success() -> None:
    async def go() -> tuple[list[str], int]:
        storm = Storm(patience=60, span=0)
        for _ in range(3):
            storm.rate_limited(0.01, probe=False)  # Retry-After: 10 ms
        assert storm.active and storm.storms == 1
        events: list[str] = []
        out = most = 0

        async def request() -> None:
            nonlocal out, most
            while True:
                probe = await storm.turn()
                during = storm.active
                out += 1
                most = max(most, out) if during else most
                await asyncio.sleep(0.005)
                out -= 1
                if probe and events.count("refused") == 0:  # the first probe is refused
                    events.append("refused")
                    storm.rate_limited(0.01, probe=True)
                    continue
                events.append("probe answered" if probe else "answered")
                storm.succeeded()
                return

        await asyncio.gather(*(request() for _ in range(4)))
        assert not storm.active and storm.refused == 1
        return events, most

    events, most = asyncio.run(go())
    assert most == 1  # while the storm lasted, one request at a time
    assert events[:2] == ["refused", "probe answered"]
    assert events[2:] == ["answered"] * 3


def test_a_storm_past_its_patience_gives_up_for_everyone() -> None:
    async def go() -> int:
        storm = Storm(patience=0.05, span=0)
        for _ in range(3):
            storm.rate_limited(None, probe=False)  # no Retry-After: a growing backoff
        failed = 0
        for outcome in await asyncio.gather(
            *(storm.turn() for _ in range(4)), return_exceptions=True
        ):
            failed += isinstance(outcome, PatienceExhausted)
        return failed

    assert asyncio.run(go()) == 4


def test_after_a_storm_the_limit_starts_at_one_and_doubles() -> None:
    limit = AdaptiveLimit(16)
    limit.restart()
    seen = [limit.value]
    for _ in range(15):
        limit.on_success()
        seen.append(limit.value)
    assert seen[0] == 1 and seen[-1] == 16
    assert sorted(set(seen)) == [1, 2, 4, 8, 16]


def test_a_pacing_restarts_its_limit_when_a_storm_ends() -> None:
    pacing = Pacing(8)
    pacing.storm.span = 0
    for _ in range(3):
        pacing.rate_limited(0.01, probe=False)
    assert pacing.waiting and pacing.storm.active
    pacing.succeeded(estimated=10, used=10)
    # Restarted at one; the probe that ended the storm is its first success: two.
    assert not pacing.waiting and pacing.limit.value == 2


@pytest.mark.parametrize("hint", [0.5, None])
def test_the_pause_honours_retry_after_or_backs_off(hint: float | None) -> None:
    storm = Storm(patience=600, span=0)
    for _ in range(3):
        storm.rate_limited(hint, probe=False)
    pause = storm.resume_at - storm.started
    assert pause == pytest.approx(hint if hint is not None else 1.0, abs=0.05)
