"""Both teacher backends against FakeTeacher: replies, and every failure mapped to its kind."""

from __future__ import annotations

import asyncio
import socket

import pytest

from synthgen.errors import ConfigError, TeacherError, TeacherFatalError
from synthgen.prompts.reply import response_format
from synthgen.teacher import ChatRequest, Completion, check_credentials, make_teacher, route
from synthgen.testing import Fault, Reply

REQ = ChatRequest(
    messages=({"role": "user", "content": "Write exactly 2 conversations."},),
    response_format=response_format(),
)


def complete(teacher, request=REQ):
    async def go():
        try:
            return await teacher.complete(request)
        finally:
            await teacher.aclose()

    return asyncio.run(go())


TRANSPORTS = ["aiohttp", "openai-sdk"]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_openai_path_reply_and_usage(make_fake_teacher, transport):
    fake = make_fake_teacher(replies=[Reply('{"conversations": []}', finish_reason="length")])
    c = complete(make_teacher("m", base_url=fake.base_url, transport=transport))
    assert c.text == '{"conversations": []}' and c.finish_reason == "length"
    assert c.prompt_tokens > 0 and c.completion_tokens > 0
    assert fake.requests[0]["response_format"]["type"] == "json_schema"


@pytest.mark.parametrize(
    "fault,kind,fatal",
    [
        (Fault("429", retry_after=3), "rate_limit", False),
        (Fault("500"), "server", False),
        (Fault("503"), "server", False),
        (Fault("401"), "auth", True),
        (Fault("403"), "auth", True),
        (Fault("404"), "not_found", True),
        (Fault("drop"), None, False),
        (Fault("malformed"), "server", False),
    ],
)
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_openai_path_maps_failures(make_fake_teacher, fault, kind, fatal, transport):
    fake = make_fake_teacher(replies=[fault])
    with pytest.raises(TeacherError) as info:
        complete(make_teacher("m", base_url=fake.base_url, timeout=5, transport=transport))
    err = info.value
    assert isinstance(err, TeacherFatalError) == fatal
    assert err.retryable == (not fatal)
    if kind:
        assert err.kind == kind
    else:
        assert err.kind in ("connection", "timeout")
    if fault.kind == "429":
        assert err.retry_after == pytest.approx(3)
    if fatal:
        assert "'m'" in str(err) and "127.0.0.1" in str(err)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_hang_times_out(make_fake_teacher, transport):
    fake = make_fake_teacher(replies=[Fault("hang", delay=30)])
    with pytest.raises(TeacherError) as info:
        complete(make_teacher("m", base_url=fake.base_url, timeout=0.5, transport=transport))
    assert info.value.kind == "timeout"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_connection_refused(transport):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once we leave: nothing listens there
    url = f"http://127.0.0.1:{port}/v1"
    with pytest.raises(TeacherError) as info:
        complete(make_teacher("m", base_url=url, timeout=2, transport=transport))
    assert info.value.kind in ("connection", "timeout")


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_server_without_json_schema_support_falls_back(serve, transport):
    """vLLM's shape of a 400: no "error" object, the message at the top level."""
    from aiohttp import web

    async def handler(request):
        fmt = (await request.json()).get("response_format") or {}
        if fmt.get("type") == "json_schema":
            body = {
                "object": "error",
                "message": "response_format json_schema is not supported by this server",
                "type": "BadRequestError",
                "param": None,
                "code": 400,
            }
            return web.json_response(body, status=400)
        content = '{"conversations": []}'
        choice = {"index": 0, "message": {"role": "assistant", "content": content}}
        return web.json_response({"choices": [{**choice, "finish_reason": "stop"}]})

    server = serve(handler)
    teacher = make_teacher("m", base_url=server.base_url, transport=transport)

    async def go():
        try:
            first = await teacher.complete(REQ)
            second = await teacher.complete(REQ)
            return first, second
        finally:
            await teacher.aclose()

    first, second = asyncio.run(go())
    assert first.text == second.text == '{"conversations": []}'
    assert len(server.seen) == 3  # one refusal, then the next mode for the rest of the run
    assert getattr(teacher, "response_format_mode", None) == "json_object+schema"


def test_routing_and_credentials(monkeypatch):
    assert route("gpt-4o-mini", None) == "openai"
    assert route("openai/gpt-4o", None) == "openai"
    assert route("anthropic/claude-3-5-haiku-latest", None) == "litellm"
    assert route("meta-llama/Llama-3-8B", "http://localhost:8000/v1") == "openai"
    # The library names parameters; the CLI's flags are in tests/cli.
    with pytest.raises(ConfigError, match=r"OPENAI_API_KEY.*model='demo'"):
        check_credentials("gpt-4o-mini", None)
    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY"):
        check_credentials("anthropic/claude-3-5-haiku-latest", None)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "x")
    check_credentials("anthropic/claude-3-5-haiku-latest", None)
    check_credentials("ollama/llama3", None)  # local providers need no key


def test_litellm_backend_against_the_fake(make_fake_teacher, monkeypatch):
    """The real litellm client, pointed at the fake through its OpenAI-compatible provider."""
    from synthgen.teacher.litellm_backend import LiteLLMTeacher

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-real")
    fake = make_fake_teacher(
        replies=['{"conversations": []}', Fault("429", retry_after=2), Fault("401")]
    )
    teacher = LiteLLMTeacher("openai/m", api_base=fake.base_url, timeout=10)

    async def go():
        out: list[Completion | TeacherError] = [await teacher.complete(REQ)]
        for _ in range(2):
            try:
                await teacher.complete(REQ)
            except TeacherError as e:
                out.append(e)
        return out

    ok, limited, refused = asyncio.run(go())
    assert ok.text == '{"conversations": []}'
    assert isinstance(limited, TeacherError) and limited.kind == "rate_limit"
    assert isinstance(refused, TeacherFatalError) and refused.kind == "auth"
    assert "sk-test-not-real" not in str(refused)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_key_sent_as_bearer_and_never_shown(make_fake_teacher, monkeypatch, transport):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-good-key-1234567890")
    fake = make_fake_teacher(require_key="sk-good-key-1234567890")
    assert complete(make_teacher("m", base_url=fake.base_url, transport=transport)).text
    monkeypatch.setenv("OPENAI_API_KEY", "sk-bad-key-0987654321")
    with pytest.raises(TeacherFatalError) as info:
        complete(make_teacher("m", base_url=fake.base_url, transport=transport))
    assert "sk-bad-key" not in str(info.value)
