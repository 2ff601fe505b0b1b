"""The batch teacher (--batch) against FakeTeacher's /v1/files and /v1/batches: requests
parked into one batch, failed and expired lines retried in the next, batches recorded before
they are created and waited for again by a new teacher on the same state."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from synthgen.errors import ConfigError, TeacherError
from synthgen.teacher import ChatRequest, Completion
from synthgen.teacher.batch import BatchTeacher, batch_teacher
from synthgen.teacher.batch_lines import read_results
from synthgen.teacher.batch_pricing import batch_price_per_token, estimate_batch_cost
from synthgen.teacher.batch_state import BATCH_LOG, BatchLog
from synthgen.teacher.pricing import estimate_cost
from synthgen.teacher.request_id import request_id
from synthgen.testing import FakeTeacher, Fault


def _request(i: int) -> ChatRequest:
    return ChatRequest(messages=({"role": "user", "content": f"write example {i}"},))


def _teacher(fake: FakeTeacher, state: Path, **options: Any) -> BatchTeacher:
    return BatchTeacher("m", state_dir=state, base_url=fake.base_url, poll=0.02, **options)


async def _ask(teacher: BatchTeacher, i: int) -> Completion | TeacherError:
    request_id.set(f"key-{i}")  # the runner sets the request's cache key
    try:
        return await teacher.complete(_request(i))
    except TeacherError as e:
        return e


async def _round(teacher: BatchTeacher, ordinals: range) -> list[Completion | TeacherError]:
    async def one(i: int) -> Completion | TeacherError:
        return await asyncio.create_task(_ask(teacher, i))

    return list(await asyncio.gather(*(one(i) for i in ordinals)))


def test_requests_that_arrive_together_go_in_one_batch(
    make_fake_teacher: Any, tmp_path: Path
) -> None:
    fake = make_fake_teacher(replies=[f"reply {i}" for i in range(5)], batch_delay=0.05)

    async def go() -> list[Completion | TeacherError]:
        teacher = _teacher(fake, tmp_path)
        try:
            return await _round(teacher, range(5))
        finally:
            await teacher.aclose()

    results = asyncio.run(go())
    assert fake.batches.batches_created == 1 and fake.request_count == 0
    assert sorted(r.text for r in results if isinstance(r, Completion)) == [
        f"reply {i}" for i in range(5)
    ]
    (entry,) = BatchLog(tmp_path / BATCH_LOG).read()
    assert entry.status == "completed" and entry.batch is not None
    assert sorted(entry.ids) == [f"key-{i}" for i in range(5)]


def test_failed_lines_raise_retryable_and_fatal_errors_by_status(
    make_fake_teacher: Any, tmp_path: Path
) -> None:
    fake = make_fake_teacher(replies=["ok", Fault("500"), Fault("429"), Fault("400")])

    async def go() -> list[Completion | TeacherError]:
        teacher = _teacher(fake, tmp_path)
        try:
            return await _round(teacher, range(4))
        finally:
            await teacher.aclose()

    results = asyncio.run(go())
    kinds = sorted(r.kind if isinstance(r, TeacherError) else "reply" for r in results)
    # A 429 inside a batch is the provider's queue: retryable, but no rate-limit storm.
    assert kinds == ["bad_request", "reply", "server", "server"]
    assert fake.batches.batches_created == 1


def test_an_expired_batch_keeps_what_ran_and_fails_the_rest_retryably(
    make_fake_teacher: Any, tmp_path: Path
) -> None:
    fake = make_fake_teacher()
    fake.batches.expire = 1

    async def go() -> tuple[list[Completion | TeacherError], list[Completion | TeacherError]]:
        teacher = _teacher(fake, tmp_path)
        try:
            first = await _round(teacher, range(4))
            # What failed is asked again (the runner's retry): it goes in a new batch.
            again = await _round(teacher, range(4))
            assert teacher.stats.expired == 1 and teacher.stats.failed_lines == 2
            return first, again
        finally:
            await teacher.aclose()

    first, again = asyncio.run(go())
    expired = [r for r in first if isinstance(r, TeacherError)]
    assert len(expired) == 2 and all(e.retryable and "expired" in str(e) for e in expired)
    assert all(isinstance(r, Completion) for r in again)
    assert fake.batches.batches_created == 2 and fake.batches.lines == 2 + 4


def test_a_new_teacher_waits_for_the_recorded_batch_instead_of_submitting(
    make_fake_teacher: Any, tmp_path: Path
) -> None:
    """The state of a run killed while its batch was in progress: the next run's teacher
    polls that batch; replies nobody asked for yet are kept for when they are asked."""
    fake = make_fake_teacher(batch_delay=3600)

    async def first() -> None:
        teacher = _teacher(fake, tmp_path)
        tasks = [asyncio.create_task(_ask(teacher, i)) for i in range(4)]
        while fake.batches.polls < 1:
            await asyncio.sleep(0.01)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await teacher.aclose()

    async def second() -> list[Completion | TeacherError]:
        teacher = _teacher(fake, tmp_path)
        try:
            request_id.set("key-0")
            assert teacher.already_submitted(_request(0))
            results = await _round(teacher, range(2))
            results += await _round(teacher, range(2, 4))  # from the kept replies
            assert teacher.stats.resumed == 1 and teacher.stats.submitted == 0
            return results
        finally:
            await teacher.aclose()

    asyncio.run(first())
    fake.batches.delay = 0
    results = asyncio.run(second())
    assert all(isinstance(r, Completion) for r in results)
    assert fake.batches.batches_created == 1 and fake.batches.lines == 4


def test_a_batch_recorded_without_its_id_is_found_by_its_file(
    fake_teacher: FakeTeacher, tmp_path: Path
) -> None:
    """Killed between creating the batch and recording its id: the batch is looked up by
    its input file, not created again."""

    async def go() -> Completion | TeacherError:
        teacher = _teacher(fake_teacher, tmp_path)
        try:
            request_id.set("key-7")
            body = {"model": "m", "messages": list(_request(7).messages), "temperature": 1.0}
            line = {"custom_id": "key-7", "method": "POST", "url": "/v1/chat/completions"}
            file_id = await teacher._api.upload(json.dumps({**line, "body": body}).encode())
            await teacher._api.create(file_id)
            BatchLog(tmp_path / BATCH_LOG).submitting(file_id, ["key-7"])
            return await _ask(teacher, 7)
        finally:
            await teacher.aclose()

    assert isinstance(asyncio.run(go()), Completion)
    assert fake_teacher.batches.batches_created == 1


def test_a_torn_log_line_is_skipped_and_the_next_one_kept(tmp_path: Path) -> None:
    log = BatchLog(tmp_path / BATCH_LOG)
    log.submitting("file-1", ["a"])
    with log.path.open("a", encoding="utf-8") as fh:
        fh.write('{"file":"file-2","ids":["b"')  # a kill mid-write
    log.submitting("file-3", ["c"])
    assert [e.file for e in log.read()] == ["file-1", "file-3"]


def test_result_lines_become_replies_or_errors() -> None:
    ok: dict[str, Any] = {
        "choices": [{"message": {"content": "hi"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 2},
    }
    rows = [
        {"custom_id": "a", "response": {"status_code": 200, "body": ok}},
        {"custom_id": "b", "response": {"status_code": 401, "body": {"error": {}}}},
        {"custom_id": "c", "response": None, "error": {"code": "batch_expired"}},
        "not a line",
    ]
    data = "\n".join(json.dumps(r) for r in rows).encode() + b"\n{torn"
    got = read_results(data, model="m", where="h")
    assert got["a"] == Completion("hi", "stop", 10, 2)
    assert isinstance(got["b"], TeacherError) and got["b"].kind == "auth"
    assert isinstance(got["c"], TeacherError) and got["c"].retryable
    assert set(got) == {"a", "b", "c"}


def test_batch_prices_come_from_the_table_or_are_half_the_live_price() -> None:
    listed = batch_price_per_token("gpt-4o-mini")
    assert listed is not None and listed[2]
    assert estimate_batch_cost("gpt-4o-mini", 1000, 1000) == pytest.approx(
        estimate_cost("gpt-4o-mini", 1000, 1000) / 2  # type: ignore[operator]
    )
    assert batch_price_per_token("no-such-model-xyz") is None


def test_models_through_litellm_are_refused_with_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="OpenAI-compatible batch APIs"):
        batch_teacher(
            "anthropic/claude-3-5-haiku",
            state_dir=tmp_path,
            base_url=None,
            api_key=None,
            poll=1.0,
            timeout=5.0,
        )
