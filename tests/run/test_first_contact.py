"""The first hour with a real server (issue 9): a failure every request gets stops the run, every
request carries a reply limit, a server that is not there fails in seconds, bad settings are
refused up front, the structured-output step-down is reported, and what the run did is said."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from synthgen import expand
from synthgen.errors import ConfigError, TeacherFatalError
from synthgen.run.job import prepare
from synthgen.run.sizing import FLOOR, JUDGE_MAX_TOKENS, reply_token_limit
from synthgen.settings import Settings
from synthgen.testing import Fault
from tests.helpers import SAMPLES, synthgen
from tests.teacher.conftest import LocalServer

MARV = SAMPLES / "marv.jsonl"


def test_identical_failures_stop_the_run_at_once(make_fake_teacher: Any, tmp_path: Path) -> None:
    """Every request gets the same 400: three in a row stop the run with the server's
    message (exit 1), instead of spending --max-requests; the partial output is written and
    the journal kept."""
    fake = make_fake_teacher(handler=lambda body, i: Fault("400"))
    out = tmp_path / "o"
    r = synthgen(
        *("expand", str(MARV), "-n", "50", "--model", "m", "--base-url", fake.base_url),
        *("--concurrency", "2", "--max-requests", "40", "-o", str(out), "--json"),
    )
    assert r.returncode == 1, r.stderr
    report = json.loads(r.stdout)
    assert report["stop"]["reason"] == "repeated_failure"
    assert "Invalid request (injected by FakeTeacher)" in report["stop"]["detail"]
    assert fake.request_count <= 3 + 2  # three in a row, and what was in flight
    assert (out / "train.jsonl").is_file() and (out / ".synthgen" / "journal.jsonl").is_file()
    # Counted as they come back; those curated (in request order) are in failures.jsonl.
    assert report["requests"]["failed"] >= 2


def test_a_reply_between_failures_breaks_the_streak(make_fake_teacher: Any, tmp_path: Path) -> None:
    def handler(body: dict[str, Any], i: int) -> Any:
        return Fault("400") if i % 3 < 2 else None  # two failures, then a good reply

    fake = make_fake_teacher(handler=handler)
    result = expand(
        MARV, 10, model="m", base_url=fake.base_url, out_dir=tmp_path / "o", concurrency=1
    )
    assert result.complete and result.report["requests"]["failed"] >= 4


def test_out_of_quota_stops_at_once(serve_local: Any, tmp_path: Path) -> None:
    async def broke(request: web.Request) -> web.Response:
        error = {"message": "You exceeded your current quota.", "code": "insufficient_quota"}
        return web.json_response({"error": error}, status=429)

    server = serve_local(broke)
    with pytest.raises(TeacherFatalError, match="out of credit or quota"):
        expand(MARV, 20, model="m", base_url=server.base_url, out_dir=tmp_path / "o")
    assert len(server.seen) <= 16  # what was in flight; never retried
    assert not (tmp_path / "o").exists()


# -- every request carries max_tokens ---------------------------------------------------------


def test_every_request_carries_a_derived_max_tokens(make_fake_teacher: Any, tmp_path: Path) -> None:
    fake = make_fake_teacher()
    out = tmp_path / "o"
    result = expand(MARV, 12, model="m", base_url=fake.base_url, out_dir=out, language="off")
    limits = {body.get("max_tokens") for body in fake.requests}
    job = prepare(MARV, Settings(n=12, model="m", out_dir=tmp_path / "x", language="off"))
    assert limits == {job.max_tokens} and job.max_tokens is not None
    # Five conversations like Marv's longest, with room: far below any context.
    assert FLOOR <= job.max_tokens < 2048
    assert result.report["teacher"]["max_tokens"] == job.max_tokens


def test_max_tokens_option_model_limit_and_judge(make_fake_teacher: Any, tmp_path: Path) -> None:
    fake = make_fake_teacher()
    expand(
        MARV,
        8,
        model="m",
        base_url=fake.base_url,
        out_dir=tmp_path / "o",
        language="off",
        max_tokens=77,
        judge="judge-m",
    )
    judged = [b for b in fake.requests if b["response_format"]["json_schema"]["name"] == "verdict"]
    asked = [b for b in fake.requests if b not in judged]
    assert judged and {b["max_tokens"] for b in judged} == {JUDGE_MAX_TOKENS}
    assert asked and {b["max_tokens"] for b in asked} == {77}
    # Derived limits stay within the model's output limit (gpt-3.5-turbo: 4,096).
    settings = Settings(n=5, model="gpt-3.5-turbo", per_request=100, out_dir=tmp_path / "y")
    assert prepare(MARV, settings).max_tokens == 4096
    assert reply_token_limit([], 5, None) == FLOOR


def test_the_response_format_step_down_is_reported(serve_local: Any, tmp_path: Path) -> None:
    """llama-cpp-python answers json_schema with HTTP 500 and a validation error naming it:
    the run steps down and says so in report.json (the warning is logged when it happens)."""
    from tests.teacher.test_response_format import LLAMA_CPP_MESSAGE, reply

    async def llama_cpp(request: web.Request) -> web.Response:
        fmt = (await request.json()).get("response_format") or {}
        if fmt.get("type") not in (None, "text", "json_object"):
            error = {"message": LLAMA_CPP_MESSAGE, "type": "internal_server_error"}
            return web.json_response({"error": error}, status=500)
        return reply(json.dumps({"conversations": []}))

    server = serve_local(llama_cpp)
    result = expand(
        MARV, 5, model="m", base_url=server.base_url, out_dir=tmp_path / "o", max_requests=3
    )
    teacher = result.report["teacher"]
    assert teacher["response_format"] == "json_object+schema"
    assert any("json_object+schema" in w for w in result.report["warnings"])


# -- a server that is not there; settings refused up front ------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_connection_refused_fails_at_once_and_writes_nothing(tmp_path: Path) -> None:
    """Before: 4 min 45 s of retries, then an empty dataset and a card for 0 examples."""
    port = _closed_port()
    out = tmp_path / "o"
    r = synthgen(
        *("expand", str(SAMPLES / "seeds.txt"), "-n", "200", "--model", "m", "-o", str(out)),
        *("--base-url", f"http://127.0.0.1:{port}/v1"),
        timeout=60,
    )
    assert r.returncode == 1, r.stderr
    lines = r.stderr.strip().splitlines()
    assert lines[-1].startswith(f"synthgen: error: cannot connect to 127.0.0.1:{port}")
    assert "connection refused" in lines[-1] and "is the server running?" in lines[-1]
    assert not out.exists()


def test_a_dropped_first_connection_is_retried(make_fake_teacher: Any, tmp_path: Path) -> None:
    """The server is there (it dropped one connection): not a reason to stop."""
    fake = make_fake_teacher(handler=lambda body, i: Fault("drop") if i == 0 else None)
    # One request at a time: the dropped one must be retried for the run to finish (with more
    # in flight, another reply could complete the run while the retry waits).
    result = expand(
        MARV, 5, model="m", base_url=fake.base_url, out_dir=tmp_path / "o", concurrency=1
    )
    assert result.complete and result.report["requests"]["retries"] >= 1


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("file:///etc/passwd", "uses file://"),
        ("ftp://example.com/v1", "uses ftp://"),
        ("localhost:8000/v1", "has no scheme"),
        ("http://[::1", "is not a valid URL"),
    ],
)
def test_base_urls_are_checked_before_anything(tmp_path: Path, url: str, needle: str) -> None:
    settings = Settings(n=5, model="m", base_url=url, out_dir=tmp_path / "o")
    with pytest.raises(ConfigError, match=needle):
        prepare(MARV, settings)
    r = synthgen("expand", str(MARV), "-n", "5", "--model", "m", "--base-url", url, "--dry-run")
    assert r.returncode == 2 and needle in r.stderr


@pytest.mark.parametrize(
    ("given", "needle"),
    [
        ({"model": "demo", "base_url": "http://127.0.0.1:8000/v1"}, "would be ignored"),
        ({"timeout": float("nan")}, "timeout must be a finite number"),
        ({"timeout": float("inf")}, "timeout must be a finite number"),
        ({"rpm": 1e-300}, "rpm must be at least 0.001"),
        ({"tpm": 0.5}, "tpm must be at least 1"),
        ({"max_tokens": 0}, "max_tokens must be at least 1"),
    ],
)
def test_settings_that_cannot_work_are_refused(given: dict[str, Any], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        Settings(n=5, **given)


def test_the_reply_size_default_is_the_transports() -> None:
    from synthgen.settings.model import DEFAULT_MAX_REPLY_BYTES
    from synthgen.teacher.base import DEFAULT_MAX_REPLY_BYTES as TRANSPORT_DEFAULT

    assert DEFAULT_MAX_REPLY_BYTES == TRANSPORT_DEFAULT == Settings(n=1).max_reply_bytes


@pytest.fixture
def serve_local() -> Any:
    started: list[LocalServer] = []

    def make(handler: Any) -> LocalServer:
        server = LocalServer(handler).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()
