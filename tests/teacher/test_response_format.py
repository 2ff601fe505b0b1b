"""Structured output degrading step by step on endpoints that refuse it, and errors that the
same request would get again not being retried (issue 9.1), on both OpenAI transports."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from aiohttp import web

from synthgen.errors import TeacherError
from synthgen.prompts.reply import response_format
from synthgen.teacher import ChatRequest, make_teacher
from synthgen.teacher.base import FORMAT_MODES, degraded_format, format_mode_of

TRANSPORTS = ["aiohttp", "openai-sdk"]
REQ = ChatRequest(
    messages=({"role": "user", "content": "Write exactly 2 conversations."},),
    response_format=response_format(),
)
SCHEMA = REQ.response_format["json_schema"]["schema"]  # type: ignore[index]

# What llama-cpp-python's server answers to response_format json_schema: HTTP 500 and the
# pydantic validation error, wrapped in its OpenAI-style error body.
LLAMA_CPP_MESSAGE = (
    "[{'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
    "'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema', "
    "'ctx': {'expected': \"'text' or 'json_object'\"}}]"
)


def reply(content: str = '{"conversations": []}') -> web.Response:
    return web.json_response(
        {
            "id": "x",
            "object": "chat.completion",
            "created": 0,
            "model": "m",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
        }
    )


def run(teacher: Any, *requests: ChatRequest) -> list[Any]:
    async def go() -> list[Any]:
        out: list[Any] = []
        try:
            for request in requests:
                try:
                    out.append(await teacher.complete(request))
                except TeacherError as e:
                    out.append(e)
        finally:
            await teacher.aclose()
        return out

    return asyncio.run(go())


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_llama_cpp_500_on_json_schema_degrades_to_json_object_with_schema(
    serve: Any, transport: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def llama_cpp(request: web.Request) -> web.Response:
        fmt = (await request.json()).get("response_format") or {}
        if fmt.get("type") not in (None, "text", "json_object"):
            error = {"message": LLAMA_CPP_MESSAGE, "type": "internal_server_error"}
            return web.json_response({"error": error}, status=500)
        return reply()

    server = serve(llama_cpp)
    teacher = make_teacher("m", base_url=server.base_url, transport=transport)
    with caplog.at_level(logging.WARNING, logger="synthgen"):
        first, second = run(teacher, REQ, REQ)
    assert first.text == second.text == '{"conversations": []}'
    # One refusal, then json_object with the schema beside it for the rest of the run.
    sent = [body.get("response_format") for body in server.bodies]
    assert [f["type"] for f in sent] == ["json_schema", "json_object", "json_object"]
    assert sent[1] == sent[2] == {"type": "json_object", "schema": SCHEMA}
    assert teacher.response_format_mode == "json_object+schema"  # type: ignore[attr-defined]
    assert "refused response_format json_schema (HTTP 500)" in caplog.text


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_endpoint_refusing_every_format_ends_with_plain_prompting(
    serve: Any, transport: str
) -> None:
    async def no_formats(request: web.Request) -> web.Response:
        if "response_format" in await request.json():  # FastAPI's 422 shape
            detail = [{"loc": ["body", "response_format"], "msg": "Extra inputs are not permitted"}]
            return web.json_response({"detail": detail}, status=422)
        return reply()

    server = serve(no_formats)
    teacher = make_teacher("m", base_url=server.base_url, transport=transport)
    first, second = run(teacher, REQ, REQ)
    assert first.text == second.text
    steps = [body.get("response_format") for body in server.bodies]
    assert steps == [
        REQ.response_format,
        {"type": "json_object", "schema": SCHEMA},
        {"type": "json_object"},
        None,
        None,
    ]
    assert teacher.response_format_mode == "none"  # type: ignore[attr-defined]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_refusal_not_about_the_format_keeps_it_and_is_not_retryable(
    serve: Any, transport: str
) -> None:
    async def too_long(request: web.Request) -> web.Response:
        error = {"message": "This model's maximum context length is 2048 tokens.", "code": None}
        return web.json_response({"error": error}, status=400)

    server = serve(too_long)
    teacher = make_teacher("m", base_url=server.base_url, transport=transport)
    (err,) = run(teacher, REQ)
    assert isinstance(err, TeacherError) and err.kind == "bad_request" and not err.retryable
    assert "maximum context length is 2048" in str(err)
    assert len(server.seen) == 1
    assert teacher.response_format_mode == "json_schema"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "status,body,kind,retryable",
    [
        # A 5xx whose body is a validation error gets the same answer every time.
        (
            500,
            {"error": {"message": "1 validation error for Req\nmessages\n  Field required"}},
            "bad_request",
            False,
        ),
        (503, {"error": {"message": "The engine is currently overloaded"}}, "server", True),
        (
            422,
            {"detail": [{"loc": ["body", "messages"], "msg": "Field required"}]},
            "bad_request",
            False,
        ),
        (413, "Request Entity Too Large", "bad_request", False),
        (409, {"error": {"message": "conflict, try again"}}, "server", True),
        (408, "", "server", True),
    ],
)
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_errors_the_same_request_gets_again_are_not_retryable(
    serve: Any, transport: str, status: int, body: Any, kind: str, retryable: bool
) -> None:
    async def fail(request: web.Request) -> web.Response:
        if isinstance(body, dict):
            return web.json_response(body, status=status)
        return web.Response(text=body, status=status)

    server = serve(fail)
    plain = ChatRequest(messages=REQ.messages)
    (err,) = run(make_teacher("m", base_url=server.base_url, transport=transport), plain)
    assert isinstance(err, TeacherError)
    assert (err.kind, err.retryable, err.status) == (kind, retryable, status)
    if not retryable:  # the server's own words say what to fix
        said = json.dumps(body) if isinstance(body, dict) else body
        assert ("Field required" in str(err)) == ("Field required" in said)


def test_degraded_format_never_asks_more_than_the_request() -> None:
    json_object = {"type": "json_object"}
    assert degraded_format(json_object, "json_schema") == json_object
    assert degraded_format(json_object, "none") is None
    assert degraded_format(None, "json_schema") is None
    no_schema = {"type": "json_schema", "json_schema": {"name": "x"}}
    assert degraded_format(no_schema, "json_object+schema") == json_object
    assert [degraded_format(REQ.response_format, m) for m in FORMAT_MODES] == [
        REQ.response_format,
        {"type": "json_object", "schema": SCHEMA},
        json_object,
        None,
    ]


def test_a_refused_format_of_another_type_steps_straight_to_none() -> None:
    text = {"type": "text"}
    assert format_mode_of(text) == "json_object"
    assert degraded_format(text, "json_object") == text
    assert degraded_format(text, "none") is None
