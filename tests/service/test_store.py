"""The job store's one interface, against real SQLite and real PostgreSQL."""

from __future__ import annotations

import threading
import time

import pytest

from synthgen.errors import ConfigError
from synthgen.service.store import FileRecord, JobRecord, open_store


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    return request.getfixturevalue("pg_url")


def job(i: int, owner: str = "ann", state: str = "queued") -> JobRecord:
    return JobRecord(
        id=f"job_{i}",
        owner=owner,
        state=state,
        created_at=1000.0 + i,
        settings={"n": i, "model": "m", "nested": {"ü": [1, 2]}},
        seeds="seeds.jsonl",
        progress={"n": i},
    )


def test_jobs_round_trip_filter_and_page(store_url, tmp_path):
    store = open_store(store_url, tmp_path)
    try:
        for i in range(1, 8):
            store.add_job(job(i, owner="ann" if i % 2 else "bob"))
        got = store.get_job("job_3")
        assert got is not None
        assert got.settings == {"n": 3, "model": "m", "nested": {"ü": [1, 2]}}
        assert (got.owner, got.state, got.seeds, got.has_key) == (
            "ann",
            "queued",
            "seeds.jsonl",
            False,
        )
        assert store.get_job("job_404") is None
        page, total = store.list_jobs(owner="ann", state=None, offset=1, limit=2)
        assert total == 4
        assert [j.id for j in page] == ["job_5", "job_3"]  # newest first
        everyone, total = store.list_jobs(owner=None, state="queued", offset=0, limit=50)
        assert total == 7 and len(everyone) == 7
        assert store.count_by_state() == {"queued": 7}
        store.delete_job("job_7")
        assert store.get_job("job_7") is None
    finally:
        store.close()


def test_update_only_from_a_state(store_url, tmp_path):
    store = open_store(store_url, tmp_path)
    try:
        store.add_job(job(1))
        assert not store.update("job_1", only_from=("running",), state="succeeded")
        assert store.update("job_1", only_from=("queued",), state="cancelled", finished_at=5.0)
        got = store.get_job("job_1")
        assert got is not None and (got.state, got.finished_at) == ("cancelled", 5.0)
        assert store.update("job_1", progress={"n": 1, "accepted": 1}, files=["train.jsonl"])
        got = store.get_job("job_1")
        assert got is not None and got.progress["accepted"] == 1 and got.files == ["train.jsonl"]
        with pytest.raises(ValueError, match="owner"):
            store.update("job_1", owner="mallory")
    finally:
        store.close()


def test_claims_go_in_submission_order_and_never_twice(store_url, tmp_path):
    """Two store connections (as two API processes) claiming at once share out the queue."""
    first, second = open_store(store_url, tmp_path), open_store(store_url, tmp_path)
    try:
        for i in range(1, 21):
            first.add_job(job(i))
        claimed: list[list[str]] = [[], []]

        def claim(store, into):
            while (record := store.claim_next(time.time())) is not None:
                assert record.state == "running" and record.started_at is not None
                into.append(record.id)

        threads = [
            threading.Thread(target=claim, args=(s, c))
            for s, c in zip((first, second), claimed, strict=True)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        everything = claimed[0] + claimed[1]
        assert sorted(everything) == sorted(f"job_{i}" for i in range(1, 21))
        assert len(set(everything)) == 20
        for ids in claimed:  # each claimer took them oldest first
            assert ids == sorted(ids, key=lambda x: int(x.split("_")[1]))
        assert [j.id for j in first.jobs_in("running")][:3] == ["job_1", "job_2", "job_3"]
    finally:
        first.close()
        second.close()


def test_files(store_url, tmp_path):
    store = open_store(store_url, tmp_path)
    try:
        store.add_file(FileRecord("file_1", "ann", "seeds.jsonl", 120, 4, "seeds.jsonl", 1.0))
        got = store.get_file("file_1")
        assert got is not None and (got.owner, got.bytes, got.examples) == ("ann", 120, 4)
        assert store.get_file("file_2") is None
    finally:
        store.close()


def test_bad_store_urls(tmp_path):
    with pytest.raises(ConfigError, match="--db"):
        open_store("mysql://x", tmp_path)
    with pytest.raises(ConfigError, match=r"--db postgresql://127\.0\.0\.1:5432/") as e:
        open_store("postgresql://someone:hunter2@127.0.0.1:5432/no_such_db_here", tmp_path)
    assert "hunter2" not in str(e.value)
