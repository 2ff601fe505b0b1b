"""429 storms are weathered: the run pauses (one probe at a time, honouring Retry-After),
then ramps back up and finishes; a teacher that never recovers ends the run after the
patience, its work written and resumable; rate-limit headers pace the run before a 429."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from itertools import combinations
from pathlib import Path
from typing import Any

from synthgen import expand
from synthgen.testing import RateLimit, Storm
from tests.helpers import SAMPLES, cmd, jaccard, read_jsonl, synthgen

MARV = SAMPLES / "marv.jsonl"


def texts(out: Path) -> list[str]:
    return [
        "\n".join(m["content"] for m in x["messages"] if m["role"] != "system")
        for x in read_jsonl(out / "train.jsonl") + read_jsonl(out / "eval.jsonl")
    ]


def journal_lines(out: Path) -> int:
    path = out / ".synthgen" / "journal.jsonl"
    return path.read_bytes().count(b"\n") if path.exists() else 0


def test_a_storm_is_waited_out_and_the_run_completes(make_fake_teacher, tmp_path) -> None:
    # After 10 replies, every request gets 429 (Retry-After: 0.1 s) for 2.5 seconds.
    fake = make_fake_teacher(storm=Storm(2.5, after_requests=10, retry_after=0.1))
    out = tmp_path / "o"
    result = expand(
        MARV, 80, out_dir=out, model="m", base_url=fake.base_url, language="off", concurrency=8
    )
    report = result.report
    assert result.complete and report["accepted"] == 80
    assert fake.fault_counts["429"] >= 3
    # Paused, not failed: no request used up its retries, and the wait is in the report.
    assert report["requests"]["failed"] == 0
    assert report["requests"]["faults"]["rate_limit"] == fake.fault_counts["429"]
    waited = report["run"]["rate_limited"]
    assert waited["pauses"] >= 1 and waited["waited_s"] > 0
    # The data-quality bar holds: valid output, no duplicates, no near copies.
    assert report["validation"]["train"]["ok"]
    all_texts = texts(out)
    assert len(all_texts) == len(set(all_texts)) == 80
    assert max(jaccard(a, b) for a, b in combinations(all_texts, 2)) < 0.8


def test_a_teacher_that_never_recovers_ends_the_run_after_the_patience(
    make_fake_teacher, tmp_path
) -> None:
    fake = make_fake_teacher(storm=Storm(3600, after_requests=12, retry_after=0.05))
    out = tmp_path / "o"
    args = [
        "expand",
        str(MARV),
        "-n",
        "200",
        "--model",
        "m",
        "--base-url",
        fake.base_url,
        "--language",
        "off",
        "--concurrency",
        "4",
        "-o",
        str(out),
        "--rate-limit-patience",
        "0.5",
    ]
    r = synthgen(*args)
    assert r.returncode == 1, r.stderr
    assert "rate_limited" in r.stderr and "Traceback" not in r.stderr
    report = json.loads((out / "report.json").read_text())
    assert not report["complete"] and report["stop"]["reason"] == "rate_limited"
    # The curated work is written, and a resume picks up from the journal.
    written = len(texts(out))
    assert 0 < written == report["accepted"] < 200
    assert journal_lines(out) == report["requests"]["total"] >= 1


def test_kill_9_during_a_storm_then_resume_buys_little_twice(make_fake_teacher, tmp_path) -> None:
    n = 240
    args = ["expand", str(MARV), "-n", str(n), "--per-request", "2", "--concurrency", "8", "-q"]
    base = make_fake_teacher(latency=0.02)
    r = synthgen(
        *args,
        "--base-url",
        base.base_url,
        "--model",
        "m",
        "-o",
        str(tmp_path / "base"),
        env={"SYNTHGEN_CACHE_DIR": str(tmp_path / "cache-base")},
    )
    assert r.returncode == 0, r.stderr
    baseline = base.status_counts[200]

    # A storm of two seconds after 40 replies; killed while it rages, resumed at once.
    fake = make_fake_teacher(latency=0.02, storm=Storm(2.0, after_requests=40, retry_after=0.1))
    out = tmp_path / "out"
    full = [*args, "--base-url", fake.base_url, "--model", "m", "-o", str(out)]
    proc = subprocess.Popen(cmd(*full), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    limit = time.monotonic() + 60
    while fake.fault_counts["429"] < 4 and time.monotonic() < limit and proc.poll() is None:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert fake.fault_counts["429"] >= 4  # killed during the storm
    assert 0 < journal_lines(out) < n

    r = synthgen(*full)
    assert r.returncode == 0, r.stderr
    all_texts = texts(out)
    assert len(all_texts) == len(set(all_texts)) == n
    # Replies bought (answered 200) across the kill, against the uninterrupted run's.
    bought = fake.status_counts[200]
    print(f"replies bought: uninterrupted {baseline}, killed in a storm + resumed {bought}")
    assert bought <= 1.15 * baseline, (bought, baseline)


def test_rate_limit_headers_pace_the_run_before_a_429(make_fake_teacher, tmp_path) -> None:
    # Six requests per 0.3 s window, told in x-ratelimit-* headers on every reply.
    fake = make_fake_teacher(rate_limit=RateLimit(requests=6, window=0.3))
    out = tmp_path / "o"
    options: dict[str, Any] = dict(model="m", base_url=fake.base_url, language="off")
    result = expand(MARV, 60, out_dir=out, concurrency=4, **options)
    report = result.report
    assert result.complete
    assert report["run"]["rate_limited"]["header_holds"] >= 1
    # Held at the window's end instead of running into it: (almost) no 429.
    answered = fake.status_counts[200]
    assert fake.status_counts[429] <= 2, (fake.status_counts, answered)


def test_jobs_on_one_endpoint_share_one_pacing(make_fake_teacher, tmp_path) -> None:
    """run_job takes the pacing from outside (the service gives the jobs on one endpoint and
    key the same): the storm one job met is the one the other sees."""
    import asyncio

    from synthgen.run.expand import prepare, run_job
    from synthgen.settings import Settings
    from synthgen.teacher.pacing import Pacing

    fake = make_fake_teacher(storm=Storm(2.5, after_requests=4, retry_after=0.05))
    shared = Pacing(4)

    def job(name: str) -> Any:
        settings = Settings(
            n=30,
            model="m",
            base_url=fake.base_url,
            language="off",
            concurrency=4,
            out_dir=tmp_path / name,
        )
        return prepare(MARV, settings)

    async def both() -> list[Any]:
        return list(await asyncio.gather(*(run_job(job(x), pacing=shared) for x in "ab")))

    results = asyncio.run(both())
    assert all(r.complete for r in results)
    assert shared.storm.storms == 1 and shared.waited > 0  # one storm, weathered once
    assert all(r.report["run"]["rate_limited"]["pauses"] == 1 for r in results)
