"""``--workers N --engine ray``: shards as tasks of a local Ray (2 CPUs, started once for this
module), one task's worker killed mid-run; and what is refused before Ray starts."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import sys
import threading
import time
from collections.abc import Iterator
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest
import ray

from synthgen import expand
from synthgen.errors import ConfigError
from synthgen.run.outdir import LOCK, STATE_DIR
from tests.fakes import fresh, near_copy
from tests.helpers import SAMPLES, jaccard, read_jsonl, synthgen, text
from tests.redis_kit import SHARED_URL, delete_prefix, unique_prefix

N = 60
LATENCY = 0.3  # seconds per reply: a shard runs for seconds, long enough to be killed mid-way
POOL = [fresh(random.Random(f"pool-{i}")) for i in range(150)]


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def pooled_replies(body: dict[str, Any], index: int) -> dict[str, Any]:
    """Five conversations from one pool of 150, as exact or near copies, chosen by the
    request's own text: whichever shard asks, replies overlap with other shards' replies,
    and a request asked again gets the same reply."""
    digest = hashlib.sha256(json.dumps(body["messages"]).encode()).hexdigest()
    rng = random.Random(digest)
    picks = [rng.choice(POOL) for _ in range(5)]
    return {"conversations": [c if rng.random() < 0.5 else near_copy(c, rng) for c in picks]}


def ray_run(out: Path, base_url: str, prefix: str) -> Any:
    return expand(
        SAMPLES / "marv.jsonl",
        N,
        model="m",
        base_url=base_url,
        out_dir=out,
        concurrency=1,
        workers=2,
        executor="ray",
        dedup_index=f"{SHARED_URL}?prefix={prefix}",
    )


def lock_pid(shard: Path) -> int | None:
    try:
        found = (shard / STATE_DIR / LOCK).read_text().strip()
    except OSError:
        return None
    return int(found) if found.isdigit() else None


def journaled(shard: Path) -> int:
    """How many requests the shard's journal has recorded so far."""
    try:
        lines = (shard / STATE_DIR / "journal.jsonl").read_text().splitlines()
    except OSError:
        return 0
    return sum('"acc"' in line for line in lines)


def kill_when_journaled(shard: Path, running: threading.Thread) -> int:
    """SIGKILL the Ray worker running ``shard`` once its journal shows a reply; its pid."""
    deadline = time.monotonic() + 120
    while journaled(shard) == 0:
        assert running.is_alive() and time.monotonic() < deadline, "the shard never started"
        time.sleep(0.02)
    pid = lock_pid(shard)
    assert pid is not None and pid != os.getpid()
    # The lock names the Ray worker that runs the task: never anything else.
    assert b"ray::" in Path(f"/proc/{pid}/cmdline").read_bytes()
    os.kill(pid, signal.SIGKILL)
    return pid


def merged_texts(out: Path) -> list[str]:
    return [text(x) for x in read_jsonl(out / "train.jsonl") + read_jsonl(out / "eval.jsonl")]


def blocked_by_the_other_shard(out: Path, i: int, shards: list[list[str]]) -> bool:
    rejected = read_jsonl(out / "shards" / str(i) / STATE_DIR / "rejected.jsonl")
    for line in rejected:
        candidate = text(line)
        if max(jaccard(candidate, a) for a in shards[1 - i]) >= 0.8 and (
            max(jaccard(candidate, a) for a in shards[i]) < 0.8
        ):
            return True
    return False


def test_a_killed_task_resumes_and_the_merge_has_no_near_copies(
    local_ray, make_fake_teacher, tmp_path
):
    prefixes = [unique_prefix(), unique_prefix()]
    outcome: dict[str, Any] = {}
    try:
        # The same job unkilled, against a teacher of its own (another endpoint: no cache
        # hits between the two runs): what the job costs.
        unkilled_teacher = make_fake_teacher(handler=pooled_replies, latency=LATENCY)
        unkilled = ray_run(tmp_path / "unkilled", unkilled_teacher.base_url, prefixes[0])
        assert unkilled.complete
        teacher = make_fake_teacher(handler=pooled_replies, latency=LATENCY)
        out = tmp_path / "killed"

        def run() -> None:
            try:
                outcome["result"] = ray_run(out, teacher.base_url, prefixes[1])
            except BaseException as e:  # raised again below, in the test's thread
                outcome["error"] = e

        running = threading.Thread(target=run)
        running.start()
        victim = kill_when_journaled(out / "shards" / "0", running)
        running.join(timeout=240)
        assert not running.is_alive()
    finally:
        for prefix in prefixes:
            delete_prefix(prefix)
    if "error" in outcome:
        raise outcome["error"]
    result = outcome["result"]
    assert result.complete
    # Ray ran the shard again in another worker, which resumed the journal.
    assert lock_pid(out / "shards" / "0") not in (None, victim)
    texts = merged_texts(out)
    assert len(texts) == N
    shards = [merged_texts(out / "shards" / str(i)) for i in range(2)]
    assert sorted(shards[0] + shards[1]) == sorted(texts)
    # The premise: some candidates were near copies of the other shard's examples only, so
    # shards deduping each on its own would have accepted them.
    assert any(blocked_by_the_other_shard(out, i, shards) for i in (0, 1))
    pairs = [(a, b) for a in shards[0] for b in shards[1]]
    assert max(jaccard(a, b) for a, b in pairs) < 0.8
    assert max(jaccard(a, b) for a, b in combinations(texts, 2)) < 0.8
    assert teacher.request_count <= 1.15 * unkilled_teacher.request_count


def test_without_ray_installed_the_extra_is_named(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # what an environment without it has
    with pytest.raises(ConfigError, match=r"pip install 'synthgen\[ray\]'"):
        expand(
            SAMPLES / "marv.jsonl",
            10,
            model="demo",
            out_dir=tmp_path / "out",
            workers=2,
            executor="ray",
            dedup_index=SHARED_URL,
        )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (["--engine", "ray"], "--engine ray needs --dedup-index redis://HOST:PORT/DB"),
        (["--workers", "2"], "--workers 2 runs its shards as Ray tasks: add --engine ray"),
        (["--ray-address", "auto"], "--ray-address is the Ray cluster of --engine ray"),
        (
            ["--workers", "2", "--engine", "ray", "--shard", "0/2", "--dedup-index", SHARED_URL],
            "--shard runs one share of a job, and --workers runs all of them",
        ),
    ],
)
def test_refused_before_anything_starts(tmp_path, flags, says):
    out = tmp_path / "out"
    args = ["expand", str(SAMPLES / "marv.jsonl"), "-n", "10", "--model", "demo", "-o", str(out)]
    r = synthgen(*args, *flags)
    assert r.returncode == 2, r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith("synthgen: error:")]
    assert len(errors) == 1 and says in errors[0], r.stderr
    assert "Traceback" not in r.stderr
    assert not out.exists()
