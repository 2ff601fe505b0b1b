"""Tokens: each sees and controls only its own jobs, admin sees all; no tokens, no binding
beyond 127.0.0.1."""

from __future__ import annotations

import subprocess
import sys

from tests.service.server import job_body, wait_for

ANN, BOB, ADMIN = "ann-token-0123456789", "bob-token-0123456789", "admin-token-0123456789"


def test_two_tokens_are_isolated(start_server, make_fake_teacher, tmp_path):
    tokens = tmp_path / "tokens.txt"
    tokens.write_text(f"# team\nann:{ANN}\nbob:{BOB}\n\nadmin:{ADMIN}\n")
    fake = make_fake_teacher()
    server = start_server("--tokens", str(tokens))
    with server.client(ANN) as ann, server.client(BOB) as bob, server.client(ADMIN) as admin:
        job = ann.post("/v1/jobs", json=job_body(fake.base_url, 5)).json()
        assert job["owner"] == "ann"
        assert wait_for(ann, job["id"])["state"] == "succeeded"
        mine = bob.post("/v1/jobs", json=job_body(fake.base_url, 5, seed=3)).json()
        # Bob cannot see, read, watch, cancel or delete Ann's job: it does not exist for him.
        path = f"/v1/jobs/{job['id']}"
        for method, url in [
            ("GET", path),
            ("GET", f"{path}/events"),
            ("GET", f"{path}/files/train.jsonl"),
            ("GET", f"{path}/examples"),
            ("POST", f"{path}/cancel"),
            ("DELETE", path),
        ]:
            r = bob.request(method, url)
            assert r.status_code == 404, (method, url, r.text)
            assert job["id"] in r.json()["detail"]
        assert [j["id"] for j in bob.get("/v1/jobs").json()["jobs"]] == [mine["id"]]
        assert [j["id"] for j in ann.get("/v1/jobs").json()["jobs"]] == [job["id"]]
        assert {j["id"] for j in admin.get("/v1/jobs").json()["jobs"]} == {job["id"], mine["id"]}
        assert admin.get(path).status_code == 200
        # An upload is its owner's too.
        upload = ann.post("/v1/files", files={"file": ("s.txt", b"one line\nanother line\n")})
        assert upload.status_code == 201
        r = bob.post(
            "/v1/jobs", json={"file_id": upload.json()["id"], "settings": {"n": 2, "model": "demo"}}
        )
        assert r.status_code == 404 and "no such upload" in r.json()["detail"]

    with server.client() as nobody, server.client("wrong-token-0123456789") as wrong:
        r = nobody.get("/v1/jobs")
        assert r.status_code == 401 and "token" in r.json()["detail"]
        r = wrong.get("/v1/jobs")
        assert r.status_code == 401 and r.json()["detail"] == "wrong token"
        assert nobody.get("/healthz").status_code == 200
    # The web page's cookie works as well as the header.
    with server.client(cookies={"synthgen_token": BOB}) as browser:
        assert [j["id"] for j in browser.get("/v1/jobs").json()["jobs"]] == [mine["id"]]


def serve(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "synthgen", "serve", "--port", "0", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_no_tokens_means_loopback_only(tmp_path):
    r = serve("--host", "0.0.0.0", "--data", str(tmp_path / "d"))
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "--tokens" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "d").exists()


def test_bad_tokens_file(tmp_path):
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("ann:short\n")
    r = serve("--tokens", str(tokens), "--data", str(tmp_path / "d"))
    assert r.returncode == 2 and f"{tokens}:1" in r.stderr and "shorter" in r.stderr
    assert not (tmp_path / "d").exists()  # nothing written for a refused start
    tokens.write_text(f"ann {ANN}\n")
    r = serve("--tokens", str(tokens), "--data", str(tmp_path / "d"))
    assert r.returncode == 2 and "expected name:token" in r.stderr
    r = serve("--tokens", str(tmp_path / "missing.txt"), "--data", str(tmp_path / "d"))
    assert r.returncode == 2 and "cannot be read" in r.stderr
