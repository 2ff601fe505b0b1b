"""synthgen merge: shards of one job (--shard I/N) joined into one dataset. Two shard processes
on one Redis index write no near-duplicates of each other and merge to exactly n; shards
without a shared index are deduplicated at the merge (and come up short); a short shard makes
a short merge; every wrong input is one line, exit 2, and nothing written."""

from __future__ import annotations

import json
import random
import subprocess
from collections import Counter
from collections.abc import Iterator
from itertools import combinations, product
from pathlib import Path
from typing import Any

import pytest

from synthgen import expand, merge
from synthgen.errors import InputError, OutputInUseError
from synthgen.run.outdir import OutLock
from tests.fakes import fresh, near_copy
from tests.helpers import SAMPLES, cmd, jaccard, read_jsonl, synthgen, text
from tests.redis_kit import SHARED_URL, delete_prefix, unique_prefix

DEDUP = 0.8  # the default --dedup-threshold
CLUSTER = 0.5  # data.split's default: pairs at least this similar never straddle the split


@pytest.fixture
def shared_url() -> Iterator[str]:
    prefix = unique_prefix()
    yield f"{SHARED_URL}?prefix={prefix}"
    delete_prefix(prefix)


def pooled_replies(body: dict[str, Any], index: int) -> dict[str, Any]:
    """Five conversations from one pool of 40, as exact or near copies: replies to any two
    requests overlap, so shards that dedup each on its own take some of the same ones."""
    pool_rng = random.Random(7)
    pool = [fresh(pool_rng) for _ in range(40)]
    rng = random.Random(index)
    picks = [pool[rng.randrange(len(pool))] for _ in range(5)]
    return {"conversations": [c if rng.random() < 0.5 else near_copy(c, rng) for c in picks]}


def merged_texts(out: Path) -> tuple[list[str], list[str]]:
    return (
        [text(x) for x in read_jsonl(out / "train.jsonl")],
        [text(x) for x in read_jsonl(out / "eval.jsonl")],
    )


def test_two_shard_processes_on_one_index_merge_to_exactly_n(
    make_fake_teacher, tmp_path, shared_url
):
    fake = make_fake_teacher(handler=pooled_replies)
    dirs = [tmp_path / f"shard{i}" for i in (0, 1)]
    procs = [
        subprocess.Popen(
            cmd(
                "expand",
                str(SAMPLES / "marv.jsonl"),
                "-n",
                "30",
                "--model",
                "m",
                "--base-url",
                fake.base_url,
                "-o",
                str(d),
                "-q",
                "--shard",
                f"{i}/2",
                "--dedup-index",
                shared_url,
            ),
            stderr=subprocess.PIPE,
            text=True,
        )
        for i, d in enumerate(dirs)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    shards = [json.loads((d / "report.json").read_text()) for d in dirs]
    assert [s["accepted"] for s in shards] == [15, 15]
    assert all("without a shared" not in w for s in shards for w in s.get("warnings") or [])
    out = tmp_path / "merged"
    r = synthgen("merge", *map(str, dirs), "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert f"wrote {out}/train.jsonl (27) and {out}/eval.jsonl (3)" in r.stderr
    train, evals = merged_texts(out)
    assert len(train) + len(evals) == 30
    everything = train + evals
    assert max(jaccard(a, b) for a, b in combinations(everything, 2)) < DEDUP
    assert max(jaccard(a, b) for a, b in product(train, evals)) < CLUSTER  # no leakage
    report = json.loads((out / "report.json").read_text())
    assert report["complete"] and report["accepted"] == 30 and report["settings"]["shard"] is None
    for key in ("total", "sent", "cache_hits", "failed"):
        assert report["requests"][key] == sum(s["requests"][key] for s in shards), key
    for key in ("prompt", "completion"):
        assert report["tokens"][key] == sum(s["tokens"][key] for s in shards), key
    assert report["rejected"]["by_reason"] == dict(
        sum((Counter(s["rejected"]["by_reason"]) for s in shards), Counter()).most_common()
    )
    # Each example names its request in the job: no two shards share one.
    rows = read_jsonl(out / "metadata.jsonl")
    assert len({(m["metadata"]["request"], m["metadata"]["n"]) for m in rows}) == 30
    card = (out / "README.md").read_text()
    assert "--shard 0/2" in card and "--shard 1/2" in card and "synthgen merge" in card


def shards_of(tmp_path: Path, fake_url: str, **extra: Any) -> list[Path]:
    """Two shards of one job run one after the other in this process, each with an index of
    its own (no --dedup-index)."""
    dirs = [tmp_path / f"shard{i}" for i in (0, 1)]
    for i, d in enumerate(dirs):
        expand(
            SAMPLES / "marv.jsonl",
            30,
            model="m",
            base_url=fake_url,
            out_dir=d,
            shard=f"{i}/2",
            concurrency=1,
            **extra,
        )
    return dirs


def test_shards_without_a_shared_index_are_deduplicated_at_the_merge(make_fake_teacher, tmp_path):
    fake = make_fake_teacher(handler=pooled_replies)
    dirs = shards_of(tmp_path, fake.base_url)
    result = merge(dirs, tmp_path / "merged")
    dropped = 30 - len(result.train) - len(result.eval)
    assert dropped > 0  # the premise: the shards took some of the same conversations
    assert not result.complete
    assert result.report["stop"] == {
        "reason": "cross_shard_duplicates",
        "detail": f"{dropped} examples duplicated another shard's",
    }
    everything = [text(e.to_chat()) for e in result.train + result.eval]
    assert max(jaccard(a, b) for a, b in combinations(everything, 2)) < DEDUP
    warnings = result.report["warnings"]
    assert sum("without a shared" in w for w in warnings) == 1  # said by both shards: once
    assert any(w.startswith(f"dropped {dropped} examples that duplicate") for w in warnings)
    assert result.report["accepted"] == 30 - dropped


def demo_shards(
    tmp_path: Path, n: int = 30, *, only_1: dict[str, Any] | None = None, **extra: Any
) -> list[Path]:
    """Two shards of one job with the demo teacher; ``only_1``: settings of shard 1 only."""
    dirs = [tmp_path / f"shard{i}" for i in (0, 1)]
    for i, d in enumerate(dirs):
        options = {**extra, **(only_1 or {})} if i == 1 else extra
        expand(
            SAMPLES / "support.jsonl",
            n,
            model="demo",
            out_dir=d,
            balance_by="category",
            shard=f"{i}/2",
            **options,
        )
    return dirs


def test_the_merge_is_stratified_and_rerunnable(tmp_path):
    dirs = demo_shards(tmp_path)
    out = tmp_path / "merged"
    first = merge(dirs, out)
    assert first.complete and len(first.train) + len(first.eval) == 30
    assert first.report["quotas"] == {"account": 10, "billing": 10, "technical": 10}
    assert first.report["per_category"] == {"account": 10, "billing": 10, "technical": 10}
    assert Counter(e.metadata["category"] for e in first.eval) == {
        "account": 1,
        "billing": 1,
        "technical": 1,
    }
    card = (out / "README.md").read_text()  # shards run from Python: their commands, made
    assert f"-o {dirs[0]} --model demo --balance-by category --shard 0/2\n" in card
    assert f"-o {dirs[1]} --model demo --balance-by category --shard 1/2\n" in card
    data = (out / "train.jsonl").read_bytes()
    again = merge(list(reversed(dirs)), out)  # same job: replaced, the same bytes
    assert again.complete and (out / "train.jsonl").read_bytes() == data
    assert not (out / ".synthgen" / "journal.jsonl").exists()


def test_a_short_shard_makes_a_short_merge(tmp_path):
    dirs = demo_shards(tmp_path, 40, per_request=2, only_1={"max_requests": 1})
    out = tmp_path / "merged"
    r = synthgen("merge", *map(str, dirs), "-o", str(out))
    assert r.returncode == 1
    assert "stopped early (max_requests): shard 1/2: max_requests (max_requests=1 reached)" in (
        r.stderr
    )
    report = json.loads((out / "report.json").read_text())
    assert not report["complete"] and report["accepted"] == 20 + 2
    assert report["split"]["train"] + report["split"]["eval"] == 22


def refused(args: list[str], says: str, out: Path) -> None:
    r = synthgen("merge", *args, "-o", str(out))
    assert r.returncode == 2, r.stderr
    assert r.stderr.splitlines() == [f"synthgen: error: {says}"]
    assert not out.exists()


def test_cli_errors_are_one_line_exit_2_and_write_nothing(tmp_path):
    dirs = demo_shards(tmp_path, 10)
    out = tmp_path / "merged"
    refused([str(dirs[0]), str(tmp_path / "nope")], f"{tmp_path / 'nope'}: no such folder", out)
    other = tmp_path / "other"
    expand(
        SAMPLES / "support.jsonl",
        10,
        model="demo",
        out_dir=other,
        balance_by="category",
        shard="1/2",
        seed=5,
    )
    refused(
        [str(dirs[0]), str(other)],
        f"{other}: is another job than {dirs[0]} (its 'seed' differs); the shards of one job "
        "differ only in --shard",
        out,
    )


def test_library_errors_name_the_folder_and_write_nothing(tmp_path):
    dirs = demo_shards(tmp_path, 10)
    out = tmp_path / "merged"
    whole = tmp_path / "whole"
    expand(SAMPLES / "support.jsonl", 10, model="demo", out_dir=whole, balance_by="category")
    cases = [
        ([dirs[0]], "shard 1/2 missing: give the folders of all 2 shards"),
        ([dirs[0], whole], f"{whole}: was not made with shard (a whole job's folder)"),
        ([], "merge needs the output folders of a job's shards"),
    ]
    for given, says in cases:
        with pytest.raises(InputError) as caught:
            merge(given, out)
        assert str(caught.value).startswith(says)
        assert not out.exists()
    with pytest.raises(InputError, match=r"is in the folder of shard 0/2"):
        merge(dirs, dirs[0] / "merged")
    assert not (dirs[0] / "merged").exists()
    (dirs[1] / "report.json").rename(tmp_path / "kept.json")
    with pytest.raises(InputError, match=r"shard 1/2 has not written its dataset"):
        merge(dirs, out)
    (tmp_path / "kept.json").rename(dirs[1] / "report.json")
    held = OutLock.acquire(dirs[1] / ".synthgen", dirs[1])  # as a running shard holds it
    try:
        with pytest.raises(OutputInUseError):
            merge(dirs, out)
    finally:
        held.release()
    assert not out.exists()
    assert merge(dirs, out).complete  # and once all is well, it merges
