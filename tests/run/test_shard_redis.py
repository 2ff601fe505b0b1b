"""A shard's Redis index failing: down at start is one line and exit 2 with nothing written;
lost mid-run stops the shard with its work journaled, the merge refuses the unfinished shard,
and once Redis is back the shard resumes and the job merges to exactly n."""

from __future__ import annotations

import json
from itertools import combinations
from typing import Any

import pytest

from synthgen import expand, merge
from synthgen.errors import IndexLostError, InputError
from synthgen.run.stats import RunStats
from tests.helpers import SAMPLES, jaccard, synthgen, text
from tests.redis_kit import PrivateRedis, free_port


def test_redis_down_at_the_start_of_a_shard_exits_2_with_one_line(tmp_path):
    out = tmp_path / "shard0"
    port = free_port()
    r = synthgen(
        "expand",
        str(SAMPLES / "marv.jsonl"),
        "-n",
        "10",
        "--model",
        "demo",
        "-q",
        "-o",
        str(out),
        "--shard",
        "0/2",
        "--dedup-index",
        f"redis://127.0.0.1:{port}/0",
    )
    assert r.returncode == 2, r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith(
        f"synthgen: error: --dedup-index redis://127.0.0.1:{port}/0: cannot use Redis there"
    )
    assert not out.exists()


def test_redis_lost_mid_shard_stops_it_journaled_and_it_resumes(make_fake_teacher, tmp_path):
    fake = make_fake_teacher(per_reply=5)
    data = tmp_path / "redis-data"
    data.mkdir()
    server = PrivateRedis(data).start()
    dirs = [tmp_path / "shard0", tmp_path / "shard1"]
    args: dict[str, Any] = {"model": "m", "base_url": fake.base_url, "concurrency": 4}

    def kill_redis(stats: RunStats) -> None:
        if stats.accepted >= 20:
            server.kill()

    try:
        with pytest.raises(IndexLostError):
            expand(
                SAMPLES / "marv.jsonl",
                100,
                out_dir=dirs[0],
                shard="0/2",
                dedup_index=server.url,
                on_progress=kill_redis,
                **args,
            )
        journal = (dirs[0] / ".synthgen" / "journal.jsonl").read_text().splitlines()
        assert sum(len(json.loads(line).get("acc", [])) for line in journal) >= 20
        assert not (dirs[0] / "train.jsonl").exists()
        server = PrivateRedis(data, port=server.port).start()  # back, and empty
        expand(
            SAMPLES / "marv.jsonl",
            100,
            out_dir=dirs[1],
            shard="1/2",
            dedup_index=server.url,
            **args,
        )
        with pytest.raises(InputError, match=r"shard 0/2 has not written its dataset"):
            merge(dirs, tmp_path / "merged")
        assert not (tmp_path / "merged").exists()
        resumed = expand(
            SAMPLES / "marv.jsonl",
            100,
            out_dir=dirs[0],
            shard="0/2",
            dedup_index=server.url,
            **args,
        )
    finally:
        server.kill()
    assert resumed.complete and resumed.report["run"]["resumed_from_request"] >= 4
    result = merge(dirs, tmp_path / "merged")
    assert result.complete and len(result.train) + len(result.eval) == 100
    texts = [text(e.to_chat()) for e in result.train + result.eval]
    assert max(jaccard(a, b) for a, b in combinations(texts, 2)) < 0.8
