"""synthgen.Client and AsyncClient against a real ``synthgen serve`` subprocess and a real
FakeTeacher: submit (upload or inline seeds), follow by events or polling, re-attach, browse
examples, download, cancel; the server's refusals become synthgen errors with its message."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

from synthgen import AsyncClient, Client, InputError, RunError, SeedError
from synthgen.service.client import RequestRejected, ServiceUnavailable
from synthgen.teacher.demo import demo_reply
from synthgen.testing import FakeTeacher
from tests.helpers import SAMPLES, read_jsonl
from tests.service.server import SEEDS, Server

ALICE = "alice-token-0123456789abcdef"
BOB = "bob-token-0123456789abcdef"


def placeholder_handler(body: dict[str, Any], index: int) -> dict[str, Any]:
    """The demo teacher's replies, the first conversation of each a placeholder: counted
    rejections (reason "placeholder") beside the accepted examples."""
    reply = demo_reply(body["messages"], ordinal=index)
    reply["conversations"][0]["messages"][1]["content"] = "TODO"
    return reply


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeTeacher]:
    teacher = FakeTeacher(handler=placeholder_handler).start()
    yield teacher
    teacher.stop()


@pytest.fixture(scope="module")
def slow_fake() -> Iterator[FakeTeacher]:
    teacher = FakeTeacher(latency=0.5).start()
    yield teacher
    teacher.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("serve") / "data").start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("serve-tokens")
    tokens = folder / "tokens.txt"
    tokens.write_text(f"alice:{ALICE}\nbob:{BOB}\n", encoding="utf-8")
    running = Server(folder / "data", "--tokens", str(tokens)).start()
    yield running
    running.stop()


def settings(fake: FakeTeacher, n: int) -> dict[str, Any]:
    return {"n": n, "model": "m", "base_url": fake.base_url, "api_key": "sk-test-0123456789"}


def test_submit_a_file_wait_on_events_and_download(server, fake, tmp_path):
    with Client(server.url) as client:
        job = client.submit(
            SAMPLES / "support.jsonl", balance_by="category", concurrency=4, **settings(fake, 24)
        )
        assert job.id.startswith("job_") and job.view.state in ("queued", "running")
        seen = list(job.events())
        final = job.wait()  # already over: returns at once
    assert seen[-1].state == "succeeded" and final.state == "succeeded"
    assert final.progress.accepted == 24
    assert final.progress.rejected.get("placeholder", 0) >= 1
    assert set(final.progress.per_category) == {"account", "billing", "technical"}
    assert final.settings["balance_by"] == "category" and final.settings["concurrency"] == 4
    with Client(server.url) as client:
        saved = client.job(job.id).download(tmp_path / "out")
        with pytest.raises(InputError, match="not the name of a job's file"):
            job.download(tmp_path / "out", ["../escaped.jsonl"])
    assert not (tmp_path / "escaped.jsonl").exists()
    assert {p.name for p in saved} >= {"train.jsonl", "eval.jsonl", "report.json"}
    rows = read_jsonl(tmp_path / "out" / "train.jsonl") + read_jsonl(
        tmp_path / "out" / "eval.jsonl"
    )
    assert len(rows) == 24
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert report["rejected"]["by_reason"]["placeholder"] == final.progress.rejected["placeholder"]
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.endswith(".part")]


def test_reattach_browse_examples_and_poll(server, fake):
    with Client(server.url) as client:
        job = client.submit(SEEDS, **settings(fake, 12), language="off")
        other = Client(server.url)  # another process's view of the same job
        again = other.job(job.id)
        assert again.id == job.id
        assert again.wait(poll=0.1).state == "succeeded"
        other.close()
        train = job.examples("train", limit=5)
        rejected = job.examples("rejected", limit=3)
        listed = client.jobs(state="succeeded", limit=100)
    assert train.split == "train" and train.total >= 1 and len(train.items) <= 5
    assert "messages" in train.items[0].record
    assert rejected.total >= 1 and rejected.items[0].reason == "placeholder"
    assert job.id in {j.id for j in listed.jobs}
    assert repr(job).startswith("JobHandle(")


def test_async_client_submits_follows_and_downloads(server, fake, tmp_path):
    async def run() -> dict[str, Any]:
        async with AsyncClient(server.url) as client:
            job = await client.submit(SEEDS, **settings(fake, 10), language="off")
            states = [view.state async for view in job.events()]
            again = await client.job(job.id)
            return {
                "states": states,
                "final": await again.wait(poll=0.1),
                "rejected": await job.examples("rejected"),
                "saved": await job.download(tmp_path / "async", ["train.jsonl", "report.json"]),
                "listed": await client.jobs(limit=100),
                "id": job.id,
            }

    got = asyncio.run(run())
    assert got["states"][-1] == "succeeded"
    assert got["final"].state == "succeeded" and got["final"].progress.accepted == 10
    assert got["rejected"].total >= 1
    assert [p.name for p in got["saved"]] == ["train.jsonl", "report.json"]
    assert got["id"] in {j.id for j in got["listed"].jobs}


def test_cancel_a_running_job(server, slow_fake):
    with Client(server.url) as client:
        job = client.submit(SEEDS, **settings(slow_fake, 5000), concurrency=1, language="off")
        with pytest.raises(TimeoutError, match="still"):
            job.wait(timeout=0.3)
        view = job.cancel()
        assert view.state in ("cancelled", "running", "queued")
        with pytest.raises(RunError, match=f"job {job.id} cancelled"):
            job.wait()
        assert job.wait(check=False).state == "cancelled"


def test_server_refusals_are_synthgen_errors_with_its_message(server, fake, tmp_path):
    with Client(server.url) as client:
        with pytest.raises(RequestRejected, match=r"settings\.bogus") as refused:
            client.submit(SEEDS, n=5, bogus=1)
        assert refused.value.status == 422 and isinstance(refused.value, InputError)
        with pytest.raises(RequestRejected, match="out_dir") as refused:
            client.submit(SEEDS, n=5, out_dir=tmp_path)
        with pytest.raises(RequestRejected) as refused:
            client.job("job_does_not_exist")
        assert refused.value.status == 404
        empty = tmp_path / "empty.jsonl"
        empty.write_text("", encoding="utf-8")
        with pytest.raises(RequestRejected, match="empty"):
            client.submit(empty, n=5)
        with pytest.raises(SeedError, match="no such file"):
            client.submit(tmp_path / "missing.jsonl", n=5)
    with Client("http://127.0.0.1:9") as client, pytest.raises(ServiceUnavailable, match="reach"):
        client.jobs()


def test_token_from_argument_or_environment_and_never_shown(token_server, fake, monkeypatch):
    with Client(token_server.url) as anonymous, pytest.raises(RequestRejected) as refused:
        anonymous.jobs()
    assert refused.value.status == 401
    wrong = "wrong-token-0123456789abcdef"
    with Client(token_server.url, token=wrong) as client, pytest.raises(RequestRejected) as e:
        client.jobs()
    assert wrong not in str(e.value) and wrong not in repr(client)
    with Client(token_server.url, token=ALICE) as alice:
        job = alice.submit(SEEDS, **settings(fake, 5), language="off")
        assert job.view.owner == "alice"
        assert ALICE not in repr(alice) + repr(job)
    monkeypatch.setenv("SYNTHGEN_TOKEN", BOB)
    with Client(token_server.url) as bob:
        with pytest.raises(RequestRejected) as hidden:
            bob.job(job.id)  # another token's job does not exist for bob
        assert hidden.value.status == 404
        assert job.id not in {j.id for j in bob.jobs().jobs}
    with Client(token_server.url, token=ALICE) as alice:
        assert alice.job(job.id).wait().state == "succeeded"
