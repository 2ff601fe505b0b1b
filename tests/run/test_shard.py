"""--shard I/N: the setting's checks, each shard's share of n and of every category's quota,
and request numbers that no two shards share."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest

from synthgen import expand
from synthgen.data.seeds import load_seeds
from synthgen.errors import ConfigError
from synthgen.prompts.plan import Planner, Strategy, quotas, shard_request
from synthgen.run.journal import fingerprint
from synthgen.run.shard import shared_job_id
from synthgen.settings import Settings
from synthgen.settings.shard import shard_quotas, shard_size
from tests.helpers import SAMPLES, synthgen


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("2/2", "shard='2/2': shards are counted from 0, so I must be below N (0/2 to 1/2)"),
        ("1/0", "shard='1/0': the number of shards N must be at least 1"),
        ("x", "shard='x': must be I/N, shard I (counted from 0) of N, e.g. 0/4"),
        ("-1/2", "shard='-1/2': must be I/N"),
        ("1/2/3", "shard='1/2/3': must be I/N"),
    ],
)
def test_a_bad_shard_is_one_line_naming_the_parameter(value, says):
    with pytest.raises(ConfigError) as caught:
        Settings(n=10, shard=value)
    assert str(caught.value).startswith(says)
    assert "\n" not in str(caught.value)


def test_a_shard_is_written_one_way():
    assert Settings(n=10, shard=" 01/4").shard == "1/4"
    assert Settings(n=10).shard is None


def test_the_cli_names_the_flag_and_exits_2(tmp_path):
    out = tmp_path / "out"
    r = synthgen(
        "expand",
        str(SAMPLES / "marv.jsonl"),
        "-n",
        "5",
        "--model",
        "demo",
        "-o",
        str(out),
        "--shard",
        "3/3",
    )
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "synthgen: error: --shard 3/3: shards are counted from 0, so I must be below N (0/3 to 2/3)"
    ]
    assert not out.exists()


def test_more_shards_than_examples_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(ConfigError, match=r"^shard='1/8': 8 shards of n=5 would leave 3"):
        expand(SAMPLES / "marv.jsonl", 5, model="demo", out_dir=tmp_path / "o", shard="1/8")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("count", [1, 2, 3, 4, 7])
@pytest.mark.parametrize("n", [7, 30, 100, 101])
@pytest.mark.parametrize("categories", [1, 3, 5])
def test_shard_quotas_sum_to_the_job_quotas(n, categories, count):
    job = quotas([f"c{i}" for i in range(categories)], n)
    shares = [shard_quotas(job, i, count) for i in range(count)]
    for category, quota in job.items():
        assert sum(share[category] for share in shares) == quota
        assert {share[category] for share in shares} <= {quota // count, -(-quota // count)}
    assert [sum(share.values()) for share in shares] == [
        shard_size(n, i, count) for i in range(count)
    ]
    assert sum(shard_size(n, i, count) for i in range(count)) == n


@pytest.mark.parametrize(("categories", "cycle", "count"), [(1, 1, 2), (3, 1, 4), (2, 3, 3)])
def test_request_numbers_of_shards_are_disjoint_and_cover_the_job(categories, cycle, count):
    per_shard = 6 * categories * cycle
    numbers = [
        shard_request(o, categories=categories, cycle=cycle, shard=(i, count))
        for i in range(count)
        for o in range(per_shard)
    ]
    assert sorted(numbers) == list(range(count * per_shard))  # each number once, none left
    for i in range(count):  # a shard's numbers grow with its ordinals: curation order holds
        mine = [
            shard_request(o, categories=categories, cycle=cycle, shard=(i, count))
            for o in range(per_shard)
        ]
        assert mine == sorted(mine)


def test_every_shard_sees_every_category_and_template():
    seeds = load_seeds(SAMPLES / "support.jsonl").examples
    strategies = [Strategy("a", 2), Strategy("b", 1)]
    whole = Planner(seeds, balance_by="category", strategies=strategies)
    shards = [
        Planner(seeds, balance_by="category", strategies=strategies, shard=(i, 2)) for i in (0, 1)
    ]
    for planner in shards:
        plans = [planner.plan(o) for o in range(18)]
        assert [p.ordinal for p in plans] == list(range(18))  # the engine's numbering
        assert Counter(p.category for p in plans) == {"account": 6, "billing": 6, "technical": 6}
        assert Counter(p.strategy for p in plans) == {0: 12, 1: 6}  # the mix's 2:1
        for p in plans:  # the whole job's plan of the request's number in the job
            assert p == replace(whole.plan(planner.request_number(p.ordinal)), ordinal=p.ordinal)
    firsts = [{planner.request_number(o) for o in range(30)} for planner in shards]
    assert not firsts[0] & firsts[1]


def test_shards_of_a_job_split_it_and_share_its_index_prefix(tmp_path):
    a = expand(
        SAMPLES / "support.jsonl",
        30,
        model="demo",
        out_dir=tmp_path / "a",
        balance_by="category",
        shard="0/2",
    )
    b = expand(
        SAMPLES / "support.jsonl",
        30,
        model="demo",
        out_dir=tmp_path / "b",
        balance_by="category",
        shard="1/2",
    )
    assert a.complete and b.complete
    assert a.report["quotas"] == b.report["quotas"] == {"account": 5, "billing": 5, "technical": 5}
    assert a.report["settings"]["shard"] == "0/2" and a.report["settings"]["n"] == 30
    first = {(e.metadata["request"], e.metadata["n"]) for e in a.train + a.eval}
    assert len(first) == 15
    warned = [w for w in a.report["warnings"] if "without a shared" in w]
    assert warned == [
        "shard without a shared dedup_index: each shard dedups against its own examples only, "
        "so shards can write near-duplicates of each other; `synthgen merge` drops those and "
        "comes up short of n: give every shard the same dedup_index='redis://HOST:PORT/DB'"
    ]


def test_the_shards_of_a_job_and_only_they_share_an_index_prefix():
    job = {"seeds": "abc", "n": 100, "seed": 0}
    ids = {
        name: shared_job_id(value)
        for name, value in {
            "whole": job,
            "0/2": {**job, "shard": "0/2"},
            "1/2": {**job, "shard": "1/2"},
            "0/3": {**job, "shard": "0/3"},
        }.items()
    }
    assert ids["0/2"] == ids["1/2"]
    assert len({ids["whole"], ids["0/2"], ids["0/3"]}) == 3
    assert ids["whole"] == fingerprint(job)  # a whole job's prefix is what it always was
