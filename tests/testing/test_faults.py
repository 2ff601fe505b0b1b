"""FakeTeacher's storms, server-side rate limit with OpenAI's x-ratelimit-* headers, and
hangs of a chosen length, over real HTTP."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from synthgen.teacher.ratelimit import duration_seconds
from synthgen.testing import FakeTeacher, RateLimit, Storm
from synthgen.testing.faults import _go_duration
from tests.testing.test_testing import USER, post

MakeFake = Callable[..., FakeTeacher]
BODY: Any = {"model": "m", "messages": USER}


def test_a_storm_refuses_everything_after_its_start_then_recovers(
    make_fake_teacher: MakeFake,
) -> None:
    fake = make_fake_teacher(storm=Storm(0.3, after_requests=2, retry_after=0.05))
    statuses = [post(fake, BODY)[0] for _ in range(2)]
    status, headers, _ = post(fake, BODY)
    statuses.append(status)
    assert statuses == [200, 200, 429] and headers["Retry-After"] == "0.05"
    while post(fake, BODY)[0] == 429:
        time.sleep(0.05)
    assert post(fake, BODY)[0] == 200  # over for good
    assert fake.fault_counts["429"] >= 1


def test_the_rate_limit_sends_openais_headers_and_429s_past_it(
    make_fake_teacher: MakeFake,
) -> None:
    fake = make_fake_teacher(rate_limit=RateLimit(requests=3, window=60))
    seen = [post(fake, BODY) for _ in range(4)]
    assert [s for s, _, _ in seen] == [200, 200, 200, 429]
    remaining = [h["x-ratelimit-remaining-requests"] for _, h, _ in seen]
    assert remaining == ["2", "1", "0", "0"]
    reset = duration_seconds(seen[0][1]["x-ratelimit-reset-requests"])
    assert reset is not None and 0 < reset <= 60
    assert float(seen[3][1]["Retry-After"]) <= 60


@pytest.mark.parametrize(
    ("seconds", "text"), [(360.0, "6m0s"), (1.0, "1s"), (0.02, "20ms"), (61.5, "1m1.5s")]
)
def test_reset_durations_are_written_as_openai_does(seconds: float, text: str) -> None:
    assert _go_duration(seconds) == text
    assert duration_seconds(text) == pytest.approx(seconds)


def test_a_drawn_hang_lasts_as_long_as_asked_and_is_counted(make_fake_teacher: MakeFake) -> None:
    fake = make_fake_teacher(faults={"hang": 1.0}, hang=0.2)
    assert fake.hanging == 0
    with pytest.raises(aiohttp.ClientError):  # the server drops the connection
        post(fake, BODY, timeout=10)
    assert fake.fault_counts["hang"] == 1 and fake.hanging == 0
