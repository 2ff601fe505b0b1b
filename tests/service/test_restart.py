"""Jobs survive the server: kill -9 while jobs run, start again, and every running job
resumes from its journal and the response cache to exactly n; queued jobs stay queued; a
job whose API key died with the server fails saying so."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time
from collections import Counter
from pathlib import Path

from tests.helpers import SAMPLES, synthgen
from tests.service.server import Server, job_body, wait_for

N = 160
CONCURRENCY = 4


def stored_states(data: Path) -> dict[str, str]:
    with sqlite3.connect(data / "jobs.sqlite") as conn:
        return dict(conn.execute("SELECT id, state FROM jobs").fetchall())


def wait_accepted(client, job_id: str, at_least: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = client.get(f"/v1/jobs/{job_id}").json()
        assert view["state"] in ("queued", "running"), view
        if view["progress"]["accepted"] >= at_least:
            return
        time.sleep(0.02)
    raise AssertionError("the job made no progress")


def test_kill_9_mid_job_resumes_to_exactly_n(start_server, make_fake_teacher, tmp_path):
    settings = {"per_request": 2, "concurrency": CONCURRENCY, "balance_by": "category"}
    seeds = [json.loads(x) for x in (SAMPLES / "support.jsonl").read_text().splitlines()]
    # Uninterrupted, through `expand`, with a cache of its own: the baseline request count.
    base = make_fake_teacher(latency=0.03)
    r = synthgen(
        "expand",
        str(SAMPLES / "support.jsonl"),
        "-n",
        str(N),
        "--per-request",
        "2",
        "--concurrency",
        str(CONCURRENCY),
        "--balance-by",
        "category",
        "--language",
        "off",
        "--base-url",
        base.base_url,
        "--model",
        "m",
        "-q",
        "-o",
        str(tmp_path / "base"),
        env={"SYNTHGEN_CACHE_DIR": str(tmp_path / "cache-base")},
    )
    assert r.returncode == 0, r.stderr
    baseline = base.request_count

    fake = make_fake_teacher(latency=0.03)
    data = tmp_path / "data"
    server = start_server("--max-jobs", "1", data=data)
    with server.client() as client:
        body = {**job_body(fake.base_url, N, **settings), "seeds": seeds}
        running = client.post("/v1/jobs", json=body).json()
        queued = client.post("/v1/jobs", json=job_body(fake.base_url, 6, seed=7)).json()
        wait_accepted(client, running["id"], N // 3)
    server.kill()
    sent_before = fake.request_count
    bodies_before = Counter(json.dumps(b, sort_keys=True) for b in fake.requests)
    assert stored_states(data) == {running["id"]: "running", queued["id"]: "queued"}
    assert not (data / "jobs" / running["id"] / "out" / "train.jsonl").exists()

    again = start_server("--max-jobs", "1", data=data)
    with again.client() as client:
        final = wait_for(client, running["id"])
        assert final["state"] == "succeeded", final
        assert final["progress"]["accepted"] == N
        lines = (
            client.get(f"/v1/jobs/{running['id']}/files/train.jsonl").text.splitlines()
            + client.get(f"/v1/jobs/{running['id']}/files/eval.jsonl").text.splitlines()
        )
        report = client.get(f"/v1/jobs/{running['id']}/files/report.json").json()
        later = wait_for(client, queued["id"])
    assert len(lines) == N and len(set(lines)) == N  # exactly n, no duplicates across the kill
    assert report["run"]["resumed_from_request"] > 0
    # The queued job stayed queued: it started only once the resumed one had finished.
    assert later["state"] == "succeeded" and later["started_at"] >= final["finished_at"]

    after = [json.dumps(b, sort_keys=True) for b in fake.requests[sent_before:]]
    bought_again = sum(1 for b in after if bodies_before[b])
    print(
        f"requests: uninterrupted {baseline}; killed at {sent_before}, "
        f"{fake.request_count} in all; sent again after the restart: {bought_again}"
    )
    # Only what was in flight at the kill (its replies never arrived) may be sent again.
    assert bought_again <= CONCURRENCY, bought_again
    assert fake.request_count - 6 <= baseline + CONCURRENCY + 2, (fake.request_count, baseline)


def test_a_key_held_in_memory_does_not_survive_a_restart(start_server, make_fake_teacher, tmp_path):
    key = "sk-job-key-0123456789abcdef"
    fake = make_fake_teacher(latency=0.2, require_key=key)
    data = tmp_path / "data"
    server = start_server(data=data)
    with server.client() as client:
        body = {**job_body(fake.base_url, 200, concurrency=2), "api_key": key}
        job = client.post("/v1/jobs", json=body).json()
        assert job["state"] in ("queued", "running")
        assert "api_key" not in json.dumps(job) and key not in json.dumps(job)
        wait_accepted(client, job["id"], 1)  # the key works
    assert fake.status_counts[401] == 0
    server.kill()

    again = start_server(data=data)
    with again.client() as client:
        final = wait_for(client, job["id"])
    assert final["state"] == "failed"
    assert "submit the job again with its api_key" in final["error"]
    for path in data.rglob("*"):  # the key is in no file the server wrote
        if path.is_file():
            assert key.encode() not in path.read_bytes(), path
    assert key not in server.stderr() + again.stderr()


def test_sigterm_keeps_running_jobs_running(start_server, make_fake_teacher, tmp_path):
    fake = make_fake_teacher(latency=0.1)
    data = tmp_path / "data"
    server: Server = start_server(data=data)
    with server.client() as client:
        job = client.post("/v1/jobs", json=job_body(fake.base_url, 60, concurrency=2)).json()
        wait_accepted(client, job["id"], 2)
    server.stop()  # a graceful stop: the job is left to resume, not failed or cancelled
    assert stored_states(data) == {job["id"]: "running"}
    again = start_server(data=data)
    with again.client() as client:
        final = wait_for(client, job["id"])
    assert final["state"] == "succeeded" and final["progress"]["accepted"] == 60


def test_a_crashed_job_runner_fails_its_jobs_and_is_replaced(
    start_server, make_fake_teacher, tmp_path
):
    fake = make_fake_teacher(latency=0.2)
    server = start_server()
    assert server.proc is not None
    with server.client() as client:
        job = client.post("/v1/jobs", json=job_body(fake.base_url, 200, concurrency=1)).json()
        wait_accepted(client, job["id"], 1)
        children = Path(f"/proc/{server.proc.pid}/task/{server.proc.pid}/children").read_text()
        for pid in children.split():
            os.kill(int(pid), signal.SIGKILL)  # the job runner, under the API
        final = wait_for(client, job["id"])
        assert final["state"] == "failed" and "job runner process exited" in final["error"]
        later = client.post("/v1/jobs", json=job_body(fake.base_url, 4, seed=2)).json()
        assert wait_for(client, later["id"])["state"] == "succeeded"
