"""The in-process teacher, and the demo teacher built on it (which must answer exactly as
FakeTeacher's generator does over HTTP)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import pytest

from synthgen.errors import TeacherError
from synthgen.teacher import ChatRequest, Completion, make_teacher
from synthgen.teacher.demo import demo_teacher
from synthgen.teacher.inprocess import InProcessTeacher
from synthgen.testing import FakeTeacher


def ask(content: str) -> ChatRequest:
    return ChatRequest(messages=({"role": "user", "content": content},))


def test_a_string_answer_is_a_finished_reply_without_usage() -> None:
    teacher = InProcessTeacher(lambda request: request.messages[0]["content"].upper())
    reply = asyncio.run(teacher.complete(ask("hello")))
    assert reply == Completion(text="HELLO", finish_reason="stop")
    assert teacher.calls == 1 and teacher.model == teacher.endpoint == "in-process"


def test_a_completion_answer_is_returned_as_is() -> None:
    cut = Completion(text='{"conv', finish_reason="length", prompt_tokens=7, completion_tokens=3)
    teacher = InProcessTeacher(lambda request: cut, model="m", endpoint="e")
    assert asyncio.run(teacher.complete(ask("x"))) is cut
    assert (teacher.model, teacher.endpoint) == ("m", "e")


def test_async_answers_complete_in_the_order_their_delays_say() -> None:
    finished: list[str] = []

    async def respond(request: ChatRequest) -> str:
        text = request.messages[0]["content"]
        # Loop turns, not seconds: the order is exact and the test takes no time.
        for _ in range(10 - int(text)):
            await asyncio.sleep(0)
        finished.append(text)
        return text

    teacher = InProcessTeacher(respond)

    async def main() -> list[Completion]:
        return await asyncio.gather(*(teacher.complete(ask(str(i))) for i in range(5)))

    replies = asyncio.run(main())
    assert [r.text for r in replies] == ["0", "1", "2", "3", "4"]
    assert finished == ["4", "3", "2", "1", "0"]


def test_a_raised_teacher_error_fails_the_call_and_close_is_recorded() -> None:
    def respond(request: ChatRequest) -> str:
        raise TeacherError("overloaded", kind="server", status=503)

    teacher = InProcessTeacher(respond)

    async def main() -> None:
        try:
            with pytest.raises(TeacherError) as info:
                await teacher.complete(ask("x"))
            assert info.value.kind == "server" and info.value.retryable
        finally:
            await teacher.aclose()

    asyncio.run(main())
    assert teacher.closed and teacher.calls == 1


def test_demo_teacher_answers_as_fake_teacher_does_over_http(
    make_fake_teacher: Callable[..., FakeTeacher],
) -> None:
    requests = [
        ChatRequest(
            messages=(
                {"role": "system", "content": "You write data."},
                {"role": "user", "content": f"Write exactly {k} conversations, please."},
            )
        )
        for k in (1, 3, 2)
    ]
    requests += requests[:2]  # a repeated prompt gets new text, on both
    fake = make_fake_teacher(seed=5)
    http = make_teacher("demo", base_url=fake.base_url)
    local = demo_teacher(seed=5)

    async def main() -> tuple[list[Completion], list[Completion]]:
        try:
            over_http = [await http.complete(r) for r in requests]
        finally:
            await http.aclose()
        return over_http, [await local.complete(r) for r in requests]

    over_http, in_process = asyncio.run(main())
    assert in_process == over_http
    counts = [len(json.loads(c.text)["conversations"]) for c in in_process]
    assert counts == [1, 3, 2, 1, 3]
    assert in_process[0].text != in_process[3].text
    assert local.model == local.endpoint == "demo"
