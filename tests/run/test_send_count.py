"""Count honestly, buy nothing twice (issue 10.12-10.14): requests count when sent and the count
survives kill -9; a stop signal lets paid replies land in the cache; pacing flags never change
what a request asks."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from synthgen import expand
from synthgen.errors import TeacherError
from synthgen.run.control import RunControl
from synthgen.teacher import ChatRequest, Completion
from synthgen.teacher.cache import ResponseCache
from synthgen.teacher.inprocess import InProcessTeacher
from synthgen.teacher.pacing import Backoff
from tests.engine_kit import Demo, make_engine, make_job, run
from tests.helpers import SAMPLES, cmd, synthgen

MARV = SAMPLES / "marv.jsonl"


def _wait_for(condition: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


def test_max_requests_holds_across_kill_9(make_fake_teacher: Any, tmp_path: Path) -> None:
    """Killed four times with replies in flight, then run to the end: the server never sees
    more than --max-requests (before: the requests in flight at each kill were not counted,
    and were sent again)."""
    fake = make_fake_teacher(latency=0.5)
    out = tmp_path / "o"
    args = cmd(
        *("expand", str(MARV), "-n", "400", "--per-request", "2", "--concurrency", "8"),
        *("--max-requests", "40", "--model", "m", "--base-url", fake.base_url),
        *("-o", str(out), "-q", "--language", "off"),
    )
    for _ in range(4):
        _kill_9_with_requests_in_flight(args, fake, 6)
    r = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert r.returncode == 1, r.stderr
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["stop"]["reason"] == "max_requests"
    assert fake.request_count <= 40
    # What the report counts as sent is at least what the server saw (a kill between the
    # count and the send counts a request that never left).
    assert report["requests"]["sent"] >= fake.request_count


def _kill_9_with_requests_in_flight(args: list[str], fake: Any, more: int) -> None:
    before = fake.request_count
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for(lambda: fake.request_count >= before + more or proc.poll() is not None)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def _bodies(requests: list[dict[str, Any]]) -> Counter[str]:
    return Counter(json.dumps(body, sort_keys=True) for body in requests)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_stop_signal_lets_paid_replies_land(
    make_fake_teacher: Any, tmp_path: Path, signum: int
) -> None:
    """The first Ctrl-C (SIGTERM, SIGHUP) sends nothing more and waits for the replies in
    flight: the resumed run buys none of them again (before: up to --concurrency, 8 here;
    SIGTERM and SIGHUP killed the run outright)."""
    fake = make_fake_teacher(latency=1.0)
    out = tmp_path / "o"
    full = [
        *("expand", str(MARV), "-n", "120", "--per-request", "2", "--concurrency", "8"),
        *("--model", "m", "--base-url", fake.base_url, "-o", str(out), "--language", "off"),
    ]
    proc = subprocess.Popen(cmd(*full), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(lambda: fake.request_count >= 12)  # some replies curated, eight in flight
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "run the same command again to resume" in err and "Traceback" not in err
    first = fake.request_count
    bought = _bodies(fake.requests)
    r = synthgen(*full, "-q")
    assert r.returncode == 0, r.stderr
    again = _bodies(fake.requests[first:])
    rebought = sum(min(bought[body], n) for body, n in again.items())
    assert rebought <= 1, rebought


def test_drain_lets_the_requests_in_flight_land_in_the_cache(tmp_path: Path) -> None:
    control = RunControl()
    demo = Demo(lambda i: 40)  # each reply takes 40 loop turns: four are always in flight

    async def respond(request: ChatRequest) -> Completion:
        if len(demo.requests) == 12:
            assert control.drain() and not control.drain()
        return await demo(request)

    with ResponseCache(tmp_path / "cache.sqlite") as cache:
        engine = make_engine(
            make_job(tmp_path / "o", 200, concurrency=4), InProcessTeacher(respond), cache=cache
        )
        control.attach(engine)
        run(engine)
        stored = cache.info().entries
    assert engine.stop_reason == "interrupted"
    # Nothing was sent after drain(), and everything sent came back into the cache.
    assert len(demo.requests) == engine.stats.sent == 13
    assert demo.finished == sorted(demo.finished) and len(demo.finished) == 13
    assert stored == 13 > engine.stats.requests


def test_a_second_stop_abandons_the_requests_in_flight(tmp_path: Path) -> None:
    control = RunControl()
    demo = Demo(lambda i: 40)
    answers: list[bool] = []

    async def respond(request: ChatRequest) -> Completion:
        if len(demo.requests) == 12:
            answers.extend([control.drain(), control.interrupt(), control.interrupt()])
        return await demo(request)

    engine = make_engine(make_job(tmp_path / "o", 200, concurrency=4), InProcessTeacher(respond))
    control.attach(engine)
    run(engine)
    assert answers == [True, True, False]  # the third is for the caller to handle
    assert engine.stop_reason == "interrupted"
    assert len(demo.finished) < len(demo.requests) == 13


def test_a_rerun_at_another_concurrency_is_served_from_the_cache(
    make_fake_teacher: Any, tmp_path: Path
) -> None:
    """What a request shows (the frontier) depends on the job, not on --concurrency (before:
    the frontier's lag was 2 x concurrency, and a re-run at 64 bought most replies again)."""
    fake = make_fake_teacher()
    kw: dict[str, Any] = dict(model="m", base_url=fake.base_url, language="off")
    first = expand(MARV, 300, out_dir=tmp_path / "a", concurrency=4, **kw)
    sent = fake.request_count
    assert make_job(tmp_path / "x", 300, concurrency=4).lag == 32  # the frontier is in play
    second = expand(MARV, 300, out_dir=tmp_path / "b", concurrency=64, **kw)
    assert fake.request_count == sent and second.report["requests"]["sent"] == 0
    assert [e.turns for e in second.train] == [e.turns for e in first.train]


def test_the_frontier_lag_is_a_function_of_the_job(tmp_path: Path) -> None:
    lags = {c: make_job(tmp_path / str(c), 300, concurrency=c).lag for c in (1, 4, 64, 512)}
    assert set(lags.values()) == {32}
    assert make_job(tmp_path / "big", 20_000).lag == 256  # room for hundreds in flight


def test_after_a_drain_nothing_is_retried(tmp_path: Path) -> None:
    """Requests waiting to retry when the run is stopped stop waiting and are not sent
    again (a retry is a request the server sees)."""
    control = RunControl()
    calls: list[int] = []

    def respond(request: ChatRequest) -> Completion:
        calls.append(len(calls))
        if len(calls) == 6:  # four first attempts, two retries: the others are waiting
            assert control.drain()
        raise TeacherError("overloaded", kind="server", status=503)

    job = make_job(tmp_path / "o", 50, concurrency=4)
    engine = make_engine(job, InProcessTeacher(respond), backoff=Backoff(base=0.05, retries=6))
    control.attach(engine)
    run(engine)
    assert engine.stop_reason == "interrupted" and len(calls) == 6
