"""Runs with --dedup-index on Redis: the same dataset as the in-memory index, resume against
the shared index, two processes that never both accept near copies, Redis down at start
(exit 2) and Redis lost mid-run (a clean stop)."""

from __future__ import annotations

import json
import random
import subprocess
from collections.abc import Iterator
from itertools import combinations, product
from pathlib import Path
from typing import Any

import pytest
import redis

from synthgen import expand
from synthgen.errors import IndexLostError
from synthgen.run.stats import RunStats
from tests.fakes import TrickyTeacher, fresh, near_copy
from tests.helpers import SAMPLES, cmd, jaccard, read_jsonl, synthgen, text
from tests.redis_kit import SHARED_URL, PrivateRedis, delete_prefix, free_port, unique_prefix

OUTPUTS = ("train.jsonl", "eval.jsonl", ".synthgen/rejected.jsonl")


@pytest.fixture
def shared_url() -> Iterator[str]:
    """The shared Redis under a key prefix of the test's own, deleted after. (The prefix a
    job derives from its fingerprint is used by the tests on private servers.)"""
    prefix = unique_prefix()
    yield f"{SHARED_URL}?prefix={prefix}"
    delete_prefix(prefix)


def tricky_run(out: Path, base_url: str, **extra: Any) -> Any:
    return expand(
        SAMPLES / "support.jsonl",
        40,
        model="m",
        base_url=base_url,
        out_dir=out,
        balance_by="category",
        concurrency=1,  # the teacher's rotation of bad replies meets the same requests
        **extra,
    )


def same_outputs(a: Path, b: Path) -> None:
    for name in OUTPUTS:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_same_dataset_as_the_in_memory_index(make_fake_teacher, tmp_path, shared_url):
    fake = make_fake_teacher(handler=TrickyTeacher())
    memory = tricky_run(tmp_path / "memory", fake.base_url)
    reasons = memory.report["rejected"]["by_reason"]
    assert {"exact_duplicate", "near_duplicate"} <= set(reasons)  # dedup had work to do
    sent = fake.request_count
    shared = tricky_run(tmp_path / "redis", fake.base_url, dedup_index=shared_url)
    assert fake.request_count == sent  # the same replies, from the cache
    assert shared.complete
    same_outputs(tmp_path / "memory", tmp_path / "redis")
    assert shared.report["rejected"] == memory.report["rejected"]
    assert shared.report["settings"]["dedup_index"] == shared_url


def test_resume_against_the_shared_index(make_fake_teacher, tmp_path, shared_url):
    """A run stopped by its budget resumes: the journal re-adds what it had accepted (already
    in Redis: no-ops), and the dataset is the one an uninterrupted run makes."""
    fake = make_fake_teacher(handler=TrickyTeacher())
    first = tricky_run(tmp_path / "redis", fake.base_url, dedup_index=shared_url, max_requests=4)
    assert not first.complete and first.report["stop"]["reason"] == "max_requests"
    # Uninterrupted: its first 4 replies from the cache, the rest bought and cached.
    tricky_run(tmp_path / "memory", fake.base_url)
    sent = fake.request_count
    resumed = tricky_run(tmp_path / "redis", fake.base_url, dedup_index=shared_url)
    assert resumed.complete and fake.request_count == sent
    assert resumed.report["run"]["resumed_from_request"] >= 4
    same_outputs(tmp_path / "memory", tmp_path / "redis")


def test_redis_down_at_start_exits_2_with_one_line(tmp_path):
    out = tmp_path / "out"
    port = free_port()
    r = synthgen(
        "expand",
        str(SAMPLES / "marv.jsonl"),
        "-n",
        "5",
        "--model",
        "demo",
        "-o",
        str(out),
        "--dedup-index",
        f"redis://:pa55word@127.0.0.1:{port}/0",
    )
    assert r.returncode == 2, r.stderr
    errors = [line for line in r.stderr.splitlines() if "demo" not in line]
    assert len(errors) == 1, r.stderr
    assert f"--dedup-index redis://127.0.0.1:{port}/0: cannot use Redis there" in errors[0]
    assert "pa55word" not in r.stderr + r.stdout
    assert not out.exists()  # nothing written


def test_the_password_is_never_written(tmp_path):
    server = PrivateRedis(tmp_path / "redis-data", password="pa55-w0rd-xyz")
    (tmp_path / "redis-data").mkdir()
    server.start()
    try:
        out = tmp_path / "out"
        args = ["expand", str(SAMPLES / "marv.jsonl"), "-n", "10", "--model", "demo"]
        r = synthgen(*args, "-o", str(out), "--dedup-index", server.url)
        assert r.returncode == 0, r.stderr
        assert "pa55-w0rd-xyz" not in r.stdout + r.stderr
        for path in out.rglob("*"):
            if path.is_file():
                assert b"pa55-w0rd-xyz" not in path.read_bytes(), path
        public = f"redis://127.0.0.1:{server.port}/0"
        assert json.loads((out / "report.json").read_text())["settings"]["dedup_index"] == public
        # No ?prefix=: the job's keys are under a prefix made from its fingerprint.
        client = redis.Redis.from_url(server.url, decode_responses=True)
        names = [str(n) for n in client.keys("*")]
        assert len({n.split("}")[0] for n in names}) == 1
        assert all(n.startswith("{synthgen:") for n in names)
    finally:
        server.kill()


def test_redis_lost_mid_run_stops_cleanly_and_resumes(make_fake_teacher, tmp_path):
    """Redis killed while the run curates: IndexLostError, what was curated is journaled,
    nothing half-written; once Redis is back (empty: it kept nothing), the same call
    resumes, re-adds the journaled examples and makes the uninterrupted run's dataset."""
    fake = make_fake_teacher(per_reply=5)
    args: dict[str, Any] = {"model": "m", "base_url": fake.base_url, "concurrency": 4}
    expand(SAMPLES / "marv.jsonl", 150, out_dir=tmp_path / "memory", **args)
    data = tmp_path / "redis-data"
    data.mkdir()
    server = PrivateRedis(data).start()
    out = tmp_path / "redis"

    def kill_redis(stats: RunStats) -> None:
        if stats.accepted >= 40:
            server.kill()

    try:
        with pytest.raises(IndexLostError) as caught:
            expand(
                SAMPLES / "marv.jsonl",
                150,
                out_dir=out,
                dedup_index=server.url,
                on_progress=kill_redis,
                **args,
            )
        assert str(caught.value).startswith(f"dedup index {server.url} lost (")
        journal = (out / ".synthgen" / "journal.jsonl").read_text().splitlines()
        assert sum(len(json.loads(line).get("acc", [])) for line in journal) >= 40
        assert not (out / "train.jsonl").exists()
        server = PrivateRedis(data, port=server.port).start()
        resumed = expand(SAMPLES / "marv.jsonl", 150, out_dir=out, dedup_index=server.url, **args)
    finally:
        server.kill()
    assert resumed.complete and resumed.report["run"]["resumed_from_request"] >= 8
    same_outputs(tmp_path / "memory", out)


def pooled_replies(body: dict[str, Any], index: int) -> dict[str, Any]:
    """Five conversations drawn from one pool of 40, as exact or near copies: whoever asks,
    replies overlap with replies given to anyone else."""
    pool_rng = random.Random(7)
    pool = [fresh(pool_rng) for _ in range(40)]
    rng = random.Random(index)
    picks = [pool[rng.randrange(len(pool))] for _ in range(5)]
    return {"conversations": [c if rng.random() < 0.5 else near_copy(c, rng) for c in picks]}


def two_jobs_at_once(base_url: str, tmp_path: Path, *extra: str) -> list[list[str]]:
    """Two jobs (other --seed) run as two processes at the same time; their texts."""
    outs = [tmp_path / f"job{seed}" for seed in (1, 2)]
    procs = [
        subprocess.Popen(
            cmd(
                "expand",
                str(SAMPLES / "marv.jsonl"),
                "-n",
                "15",
                "--seed",
                str(seed),
                "--model",
                "m",
                "--base-url",
                base_url,
                "-o",
                str(out),
                "-q",
                *extra,
            ),
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed, out in zip((1, 2), outs, strict=True)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    return [
        [text(x) for x in read_jsonl(out / "train.jsonl") + read_jsonl(out / "eval.jsonl")]
        for out in outs
    ]


def test_two_processes_sharing_the_index_accept_no_near_copies_of_each_other(
    make_fake_teacher, tmp_path, shared_url
):
    # The premise: replies to different requests hold near copies of each other, so two
    # jobs that dedup each on its own would take some of the same conversations.
    early = [text(c) for i in range(4) for c in pooled_replies({}, i)["conversations"]]
    late = [text(c) for i in range(4, 8) for c in pooled_replies({}, i)["conversations"]]
    assert max(jaccard(a, b) for a, b in product(early, late)) >= 0.8
    fake = make_fake_teacher(handler=pooled_replies)
    first, second = two_jobs_at_once(fake.base_url, tmp_path, "--dedup-index", shared_url)
    assert len(first) == len(second) == 15
    everything = first + second
    assert max(jaccard(a, b) for a, b in combinations(everything, 2)) < 0.8
