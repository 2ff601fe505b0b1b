"""Bad input: each gets a 4xx with a JSON body naming the problem; nothing is written for a
refused request, and the job running meanwhile finishes as if nothing happened."""

from __future__ import annotations

import json

import pytest

from tests.service.server import SEEDS, job_body, wait_for

# (what is sent, the status, words the detail must hold)
BAD_JOBS = [
    ({"seeds": SEEDS, "settings": {"n": 0, "model": "demo"}}, 422, ["n", "at least 1"]),
    ({"seeds": SEEDS, "settings": {"n": 10**7, "model": "demo"}}, 422, ["n", "at most"]),
    ({"seeds": SEEDS, "settings": {"n": "many", "model": "demo"}}, 422, ["n", "whole number"]),
    ({"seeds": SEEDS, "settings": {"model": "demo"}}, 422, ["n", "required"]),
    ({"seeds": SEEDS, "settings": {"n": 5, "colour": "red"}}, 422, ["settings.colour", "unknown"]),
    (
        {"seeds": SEEDS, "settings": {"n": 5, "out_dir": "/tmp/x"}},
        422,
        ["settings.out_dir", "server"],
    ),
    ({"seeds": SEEDS, "settings": {"n": 5, "force": True}}, 422, ["settings.force"]),
    ({"seeds": SEEDS, "settings": {"n": 5, "template": "nope"}}, 422, ["template", "'nope'"]),
    ({"seeds": SEEDS, "settings": {"n": 5, "template": "/etc/passwd"}}, 422, ["template"]),
    ({"seeds": SEEDS, "settings": {"n": 5, "model": "demo", "rpm": 0}}, 422, ["rpm"]),
    ({"seeds": SEEDS, "settings": {"n": 5}}, 422, ["needs an API key"]),
    ({"seeds": SEEDS, "settings": {"n": 5, "model": "m", "base_url": "ftp://x"}}, 422, ["ftp://x"]),
    ({"seeds": SEEDS, "settings": {"n": 5, "model": "demo"}, "colour": 1}, 422, ["colour"]),
    ({"settings": {"n": 5, "model": "demo"}}, 422, ["exactly one of seeds", "file_id"]),
    ({"seeds": SEEDS, "file_id": "file_x", "settings": {"n": 5}}, 422, ["exactly one of seeds"]),
    ({"file_id": "file_nope", "settings": {"n": 5, "model": "demo"}}, 404, ["file_nope"]),
    ({"seeds": [], "settings": {"n": 5, "model": "demo"}}, 422, ["seeds", "empty"]),
    ({"seeds": ["a", {"text": "b"}], "settings": {"n": 5, "model": "demo"}}, 422, ["mix"]),
    ({"seeds": ["two\nlines"], "settings": {"n": 5, "model": "demo"}}, 422, ["item 1", "one line"]),
    (
        {"seeds": [{"colour": "red"}], "settings": {"n": 5, "model": "demo"}},
        422,
        ["seeds:1", "colour"],
    ),
    (
        {"seeds": SEEDS, "settings": {"n": 5, "model": "demo", "balance_by": "topic"}},
        422,
        ["seeds:1", "topic"],
    ),
    ({"seeds": SEEDS, "settings": {"n": 5, "model": "x/y"}, "api_key": "k" * 20}, 422, ["api_key"]),
]


@pytest.fixture
def busy_server(start_server, make_fake_teacher, tmp_path):
    """A server with a job running on it while the bad requests come in."""
    fake = make_fake_teacher(latency=0.05)
    server = start_server("--max-upload-mb", "0.01")
    with server.client() as client:
        job = client.post("/v1/jobs", json=job_body(fake.base_url, 30, concurrency=1)).json()
        yield server, client, job
        final = wait_for(client, job["id"])
        assert final["state"] == "succeeded" and final["progress"]["accepted"] == 30
        assert [p.name for p in (server.data / "jobs").iterdir()] == [job["id"]]
        assert not any((server.data / "staging").iterdir())


def check(response, status: int, words: list[str]) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    detail = response.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail and "staging" not in detail
    for word in words:
        assert word in detail, (word, detail)


def test_bad_jobs(busy_server):
    server, client, _ = busy_server
    for body, status, words in BAD_JOBS:
        check(client.post("/v1/jobs", json=body), status, words)
    malformed = client.post(
        "/v1/jobs", content=b'{"seeds": [', headers={"content-type": "application/json"}
    )
    check(malformed, 422, ["malformed JSON"])
    huge = json.dumps({"seeds": ["x" * 1000] * 21_000, "settings": {"n": 5}}).encode()
    check(
        client.post("/v1/jobs", content=huge, headers={"content-type": "application/json"}),
        413,
        ["limit"],
    )
    assert not any((server.data / "files").iterdir())


def test_bad_uploads(busy_server):
    server, client, _ = busy_server
    for name, content, status, words in [
        ("seeds.jsonl", b"", 422, ["seeds.jsonl", "empty"]),
        ("seeds.txt", bytes(range(256)) * 4, 422, ["seeds.txt:1", "UTF-8"]),
        ("seeds.jsonl", b'{"messages": [}\n', 422, ["seeds.jsonl:1"]),
        ("seeds.exe", b"MZ\x90\x00", 422, ["seeds.exe", ".jsonl"]),
        ("../../etc/passwd", b"a line\n", 422, ["passwd", ".jsonl"]),
        ("big.txt", b"a seed line\n" * 2000, 413, ["limit"]),
    ]:
        check(client.post("/v1/files", files={"file": (name, content)}), status, words)
    check(client.post("/v1/files", data={"other": "x"}), 422, ["file"])
    assert not any((server.data / "files").iterdir())


def test_bad_paths_and_queries(busy_server):
    _, client, job = busy_server
    base = f"/v1/jobs/{job['id']}"
    check(client.get(f"{base}/files/../../etc/passwd"), 404, [])
    check(client.get(f"{base}/files/..%2F..%2Fetc%2Fpasswd"), 404, [])
    check(client.get(f"{base}/files/.synthgen%2Fjob.json"), 404, ["job.json"])
    check(client.get(f"{base}/files/train.jsonl"), 404, ["train.jsonl", "none yet"])
    check(client.get("/v1/jobs/job_nope"), 404, ["job_nope"])
    check(client.get("/v1/jobs", params={"state": "lost"}), 422, ["state"])
    check(client.get("/v1/jobs", params={"limit": 0}), 422, ["limit"])
    check(client.get("/v1/jobs", params={"offset": -1}), 422, ["offset"])
    check(client.get(f"{base}/examples", params={"split": "test"}), 422, ["split"])
