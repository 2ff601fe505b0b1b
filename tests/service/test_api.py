"""The job API over real HTTP on a real ``synthgen serve``, jobs on a FakeTeacher."""

from __future__ import annotations

import json
import threading
from typing import Any

from tests.service.server import SEEDS, job_body, wait_for


def read_events(client, job_id: str, until=None) -> list[tuple[str, dict[str, Any]]]:
    """The stream's events up to ``end`` (or the first for which ``until`` is true)."""
    events: list[tuple[str, dict[str, Any]]] = []
    with client.stream("GET", f"/v1/jobs/{job_id}/events") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        name = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: ") and name:
                events.append((name, json.loads(line.removeprefix("data: "))))
                if name == "end" or (until is not None and until(*events[-1])):
                    break
    return events


def test_a_job_end_to_end(start_server, make_fake_teacher):
    fake = make_fake_teacher(latency=0.05)
    server = start_server()
    with server.client() as client:
        r = client.post("/v1/jobs", json=job_body(fake.base_url, 40, concurrency=2))
        assert r.status_code == 201, r.text
        job = r.json()
        assert job["state"] in ("queued", "running") and job["owner"] == "local"
        assert job["id"].startswith("job_") and len(job["id"]) > 20
        events = read_events(client, job["id"])
        assert events[0][0] == "progress" and events[-1][0] == "end"
        final = events[-1][1]
        assert final["state"] == "succeeded", final
        # Counts moved while the job ran: some progress event had fewer than n accepted.
        accepted = [data["progress"]["accepted"] for name, data in events if name == "progress"]
        assert any(0 < a < 40 for a in accepted) or len(accepted) >= 2, accepted
        progress = final["progress"]
        assert progress["accepted"] == 40 and progress["requests"] > 0
        assert progress["completion_tokens"] > 0
        assert set(final["files"]) >= {"train.jsonl", "eval.jsonl", "report.json", "README.md"}

        train = client.get(f"/v1/jobs/{job['id']}/files/train.jsonl")
        evals = client.get(f"/v1/jobs/{job['id']}/files/eval.jsonl")
        lines = train.text.splitlines() + evals.text.splitlines()
        assert len(lines) == 40 and len(set(lines)) == 40
        report = client.get(f"/v1/jobs/{job['id']}/files/report.json").json()
        assert report["accepted"] == 40

        page = client.get(f"/v1/jobs/{job['id']}/examples", params={"split": "train", "limit": 5})
        assert page.status_code == 200
        body = page.json()
        assert body["total"] == len(train.text.splitlines()) and len(body["items"]) == 5
        assert body["items"][0]["record"] == json.loads(train.text.splitlines()[0])
        rejected = client.get(f"/v1/jobs/{job['id']}/examples", params={"split": "rejected"})
        assert rejected.status_code == 200

        listed = client.get("/v1/jobs", params={"state": "succeeded"}).json()
        assert [j["id"] for j in listed["jobs"]] == [job["id"]] and listed["total"] == 1
        assert client.get("/v1/jobs", params={"state": "queued"}).json()["total"] == 0

        metrics = client.get("/metrics").text
        assert 'synthgen_jobs{state="succeeded"} 1.0' in metrics
        assert "synthgen_teacher_requests_total" in metrics
        assert "synthgen_queue_length 0.0" in metrics

        assert client.delete(f"/v1/jobs/{job['id']}").status_code == 204
        assert client.get(f"/v1/jobs/{job['id']}").status_code == 404
        assert not (server.data / "jobs" / job["id"]).exists()


def test_twenty_jobs_at_once_all_complete_in_order(start_server, make_fake_teacher):
    fake = make_fake_teacher(latency=0.01)
    server = start_server("--max-jobs", "3")
    ids: list[str] = []
    lock = threading.Lock()

    def submit(i: int) -> None:
        with server.client() as client:
            r = client.post("/v1/jobs", json=job_body(fake.base_url, 6, seed=i, concurrency=2))
            assert r.status_code == 201, r.text
            with lock:
                ids.append(r.json()["id"])

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ids) == 20
    with server.client() as client:
        most_running = 0
        views = {}
        for job_id in ids:
            running = client.get("/v1/jobs", params={"state": "running"}).json()["total"]
            most_running = max(most_running, running)
            views[job_id] = wait_for(client, job_id)
        assert most_running <= 3
        assert all(v["state"] == "succeeded" for v in views.values()), views
        assert all(v["progress"]["accepted"] == 6 for v in views.values())
        # Started in submission order: the queue is first in, first out.
        by_submission = sorted(views.values(), key=lambda v: v["created_at"])
        starts = [v["started_at"] for v in by_submission]
        assert starts == sorted(starts)


def test_cancel_a_running_and_a_queued_job(start_server, make_fake_teacher):
    fake = make_fake_teacher(latency=0.5)
    server = start_server("--max-jobs", "1")
    with server.client() as client:
        first = client.post("/v1/jobs", json=job_body(fake.base_url, 400, concurrency=1)).json()
        second = client.post("/v1/jobs", json=job_body(fake.base_url, 5, seed=1)).json()
        assert client.get(f"/v1/jobs/{second['id']}").json()["state"] == "queued"
        cancelled = client.post(f"/v1/jobs/{second['id']}/cancel").json()
        assert cancelled["state"] == "cancelled"
        moving = read_events(
            client, first["id"], until=lambda _, data: data["progress"]["requests"] > 0
        )
        assert moving[-1][1]["state"] == "running"
        view = client.post(f"/v1/jobs/{first['id']}/cancel").json()
        assert view["state"] == "cancelled", view
        assert wait_for(client, first["id"])["state"] == "cancelled"
        # A finished job's cancel changes nothing.
        assert client.post(f"/v1/jobs/{second['id']}/cancel").json()["state"] == "cancelled"


def test_upload_then_submit_by_file_id(start_server, make_fake_teacher, tmp_path):
    fake = make_fake_teacher()
    server = start_server()
    text = "".join(json.dumps(s) + "\n" for s in SEEDS)
    with server.client() as client:
        r = client.post(
            "/v1/files", files={"file": ("my seeds.jsonl", text.encode(), "application/jsonl")}
        )
        assert r.status_code == 201, r.text
        upload = r.json()
        assert upload["examples"] == len(SEEDS) and upload["bytes"] == len(text.encode())
        assert upload["id"].startswith("file_") and upload["name"] == "my_seeds.jsonl"
        body = {"file_id": upload["id"], "settings": job_body(fake.base_url, 8)["settings"]}
        r = client.post("/v1/jobs", json=body)
        assert r.status_code == 201, r.text
        assert wait_for(client, r.json()["id"])["state"] == "succeeded"
        text_seeds = {
            "seeds": ["He go to school.", "She dont like it."],
            "settings": {"n": 5, "model": "demo"},
        }
        r = client.post("/v1/jobs", json=text_seeds)
        assert r.status_code == 201, r.text
        assert wait_for(client, r.json()["id"])["state"] == "succeeded"
        assert client.get("/healthz").json()["status"] == "ok"


def test_jobs_on_postgresql(start_server, make_fake_teacher, pg_url):
    fake = make_fake_teacher()
    server = start_server("--db", pg_url)
    with server.client() as client:
        job = client.post("/v1/jobs", json=job_body(fake.base_url, 6)).json()
        assert wait_for(client, job["id"])["state"] == "succeeded"
        assert client.get("/v1/jobs").json()["total"] == 1
    assert not (server.data / "jobs.sqlite").exists()  # the store is PostgreSQL's
