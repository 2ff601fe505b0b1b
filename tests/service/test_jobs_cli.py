"""``synthgen jobs ...`` as a user runs it, against a real ``synthgen serve`` subprocess and
a real FakeTeacher: submit, watch (expand's progress, fed by the event stream), list, show,
download, cancel; bad input is one line and exit 2."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from synthgen.service.client import Client
from synthgen.testing import FakeTeacher
from tests.helpers import SAMPLES, cmd, read_jsonl, synthgen
from tests.service.server import Server
from tests.service.test_client import placeholder_handler

KEY = "sk-test-0123456789abcdef"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeTeacher]:
    teacher = FakeTeacher(handler=placeholder_handler).start()
    yield teacher
    teacher.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("serve") / "data").start()
    yield running
    running.stop()


def jobs(server: Server, *args: str, **env: str):
    return synthgen("jobs", *args, env={"SYNTHGEN_SERVER": server.url, **env}, timeout=120)


def one_line_error(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("synthgen: error: "), stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_submit_watch_show_list_and_download(server, fake, tmp_path):
    r = synthgen(
        "jobs", "submit", str(SAMPLES / "support.jsonl"), "-n", "20", "--model", "m",
        "--base-url", fake.base_url, "--balance-by", "category", "--concurrency", "4",
        "--server", server.url, "--api-key-env", "MY_TEACHER_KEY",
        env={"MY_TEACHER_KEY": KEY},
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    job_id = r.stdout.strip()
    assert job_id.startswith("job_") and f"submitted job {job_id}" in r.stderr
    assert KEY not in r.stdout + r.stderr

    r = jobs(server, "watch", job_id, SYNTHGEN_PROGRESS_EVERY="0.2")
    assert r.returncode == 0, r.stderr
    assert "synthgen: accepted 20/20" in r.stderr  # expand's plain progress line
    assert f"job {job_id} succeeded: accepted 20/20" in r.stderr

    r = jobs(server, "list")
    assert r.returncode == 0 and job_id in r.stdout
    assert any(job_id in line and "succeeded" in line for line in r.stdout.splitlines())
    r = jobs(server, "show", job_id)
    assert r.returncode == 0, r.stderr
    assert "state     succeeded" in r.stdout and "accepted  20/20" in r.stdout
    assert "placeholder" in r.stdout and "category  account" in r.stdout
    r = jobs(server, "show", job_id, "--json")
    shown = json.loads(r.stdout)
    assert shown["id"] == job_id and shown["progress"]["accepted"] == 20
    assert shown["settings"]["balance_by"] == "category"

    out = tmp_path / "out"
    r = jobs(server, "download", job_id, "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert len(read_jsonl(out / "train.jsonl") + read_jsonl(out / "eval.jsonl")) == 20
    assert str(out / "report.json") in r.stdout.splitlines()
    before = (out / "train.jsonl").stat().st_mtime_ns
    r = jobs(server, "download", job_id, "-o", str(out))
    assert r.returncode == 2 and "--force" in one_line_error(r.stderr)
    assert (out / "train.jsonl").stat().st_mtime_ns == before
    assert jobs(server, "download", job_id, "-o", str(out), "--force").returncode == 0


def test_watch_exits_1_for_a_cancelled_job(server, tmp_path):
    with FakeTeacher(latency=0.5) as slow:
        r = jobs(
            server, "submit", str(SAMPLES / "seeds.txt"), "-n", "5000", "--model", "m",
            "--base-url", slow.base_url, "--concurrency", "1", "--language", "off",
            OPENAI_API_KEY=KEY,
        )  # fmt: skip
        assert r.returncode == 0, r.stderr
        job_id = r.stdout.strip()
        r = jobs(server, "cancel", job_id)
        assert r.returncode == 0 and r.stdout.strip().startswith(f"job {job_id} ")
        r = jobs(server, "watch", job_id, "-q")
    assert r.returncode == 1
    assert f"job {job_id} cancelled" in r.stderr


def test_bad_input_is_one_line_and_exit_2(server, fake, tmp_path):
    seeds = str(SAMPLES / "seeds.txt")
    r = jobs(server, "submit", seeds, "-n", "0")
    assert r.returncode == 2 and " n" in one_line_error(r.stderr)
    r = jobs(server, "submit", str(tmp_path / "missing.jsonl"), "-n", "5")
    assert r.returncode == 2 and "missing.jsonl" in one_line_error(r.stderr)
    r = jobs(server, "submit", seeds, "-n", "5", "--template", "nope")
    assert r.returncode == 2 and "template" in one_line_error(r.stderr)
    r = jobs(server, "submit", seeds, "-n", "5", "--api-key-env", "NOT_SET_ANYWHERE")
    assert r.returncode == 2 and "NOT_SET_ANYWHERE" in one_line_error(r.stderr)
    r = jobs(server, "show", "job_does_not_exist")
    assert r.returncode == 2 and "404" in one_line_error(r.stderr)
    r = jobs(server, "list", "--state", "sleeping")
    assert r.returncode == 2 and "state" in one_line_error(r.stderr)
    r = synthgen("jobs", "list", "--server", "127.0.0.1:8700")
    assert r.returncode == 2 and "http://HOST:PORT" in one_line_error(r.stderr)
    r = synthgen("jobs", "list", "--server", "http://127.0.0.1:9")
    assert r.returncode == 1 and "cannot reach" in one_line_error(r.stderr)
    assert not list(Path(tmp_path).iterdir())


def crash(server: Server) -> None:
    """kill -9 the server and the processes it started."""
    assert server.proc is not None
    pid = server.proc.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    server.kill()
    for child in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(child), signal.SIGKILL)


def test_watch_follows_a_job_across_a_server_restart(tmp_path):
    """kill -9 the server (and its job runner, as a crash of the machine would) under
    ``jobs watch``; started again on the same port and data, it resumes the job, and the
    same watch, which waited for it, sees the job to the end."""
    env = {"OPENAI_API_KEY": KEY}
    servers = [Server(tmp_path / "data", env=env).start()]
    port = servers[0].url.rsplit(":", 1)[1]
    with FakeTeacher(latency=0.3) as slow, Client(servers[0].url) as client:
        job = client.submit(
            SAMPLES / "support.jsonl", n=40, model="m", base_url=slow.base_url, concurrency=1
        )
        job_id = job.id
        watch = subprocess.Popen(
            cmd("jobs", "watch", job_id, "--server", servers[0].url),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "SYNTHGEN_PROGRESS_EVERY": "0.5"},
        )
        try:
            while job.status().progress.accepted == 0:
                time.sleep(0.05)
            assert job.view.state == "running"
            crash(servers[0])
            assert watch.poll() is None
            servers.append(Server(tmp_path / "data", "--port", port, env=env).start())
            _, stderr = watch.communicate(timeout=120)
        finally:
            if watch.poll() is None:
                watch.kill()
                watch.communicate()
            for server in servers:
                server.stop()
    assert watch.returncode == 0, stderr
    assert f"job {job_id} succeeded: accepted 40/40" in stderr
