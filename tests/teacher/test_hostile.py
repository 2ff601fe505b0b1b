"""Both OpenAI transports against hostile servers on 127.0.0.1 (issue 10.5, 10.8, 10.9, 9.9):
echoed keys, out of credit, absurd Retry-After, HTML pages, endless replies, proxies."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aiohttp import web

from synthgen.errors import TeacherError, TeacherFatalError
from synthgen.teacher import ChatRequest, make_teacher

TRANSPORTS = ["aiohttp", "openai-sdk"]
REQ = ChatRequest(messages=({"role": "user", "content": "hi"},))
KEY = "gw-local-7f3a9c1e2b5d"  # a gateway key: no sk- prefix, no known shape
ORG = "quiet-org-4411"


def completion_json(content: str) -> dict[str, Any]:
    return {
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


def one(teacher: Any, request: ChatRequest = REQ) -> Any:
    async def go() -> Any:
        try:
            return await teacher.complete(request)
        except TeacherError as e:
            return e
        finally:
            await teacher.aclose()

    return asyncio.run(go())


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_server_echoing_the_authorization_header_cannot_leak_the_key(
    serve: Any, transport: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def echo(request: web.Request) -> web.Response:
        headers = "; ".join(f"{k}: {v}" for k, v in request.headers.items())
        return web.json_response({"error": {"message": f"bad request, got {headers}"}}, status=400)

    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_ORG_ID", ORG)
    server = serve(echo)
    err = one(make_teacher("m", base_url=server.base_url, transport=transport))
    assert isinstance(err, TeacherError)
    assert server.seen[0][1]["Authorization"] == f"Bearer {KEY}"  # it was sent...
    for shown in (str(err), err.detail, repr(err.args)):
        assert KEY not in shown and ORG not in shown  # ...and is never shown
    assert "Authorization: ***" in err.detail


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_insufficient_quota_is_fatal_and_says_so(serve: Any, transport: str) -> None:
    async def broke(request: web.Request) -> web.Response:
        error = {
            "message": "You exceeded your current quota, please check your plan and billing "
            "details.",
            "type": "insufficient_quota",
            "param": None,
            "code": "insufficient_quota",
        }
        return web.json_response({"error": error}, status=429, headers={"Retry-After": "1"})

    server = serve(broke)
    err = one(make_teacher("m", base_url=server.base_url, transport=transport))
    assert isinstance(err, TeacherFatalError) and err.kind == "quota" and not err.retryable
    assert "out of credit" in str(err) and "insufficient_quota" in str(err)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_absurd_retry_after_is_capped(serve: Any, transport: str) -> None:
    async def limited(request: web.Request) -> web.Response:
        body = {"error": {"message": "Rate limit reached.", "code": "rate_limit_exceeded"}}
        return web.json_response(body, status=429, headers={"Retry-After": "999999"})

    server = serve(limited)
    err = one(make_teacher("m", base_url=server.base_url, transport=transport))
    assert isinstance(err, TeacherError) and err.kind == "rate_limit" and err.retryable
    assert err.retry_after == 60.0


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_an_html_page_means_a_wrong_base_url(serve: Any, transport: str) -> None:
    async def website(request: web.Request) -> web.Response:
        return web.Response(
            text="<!doctype html><html><body>Welcome</body></html>", content_type="text/html"
        )

    server = serve(website)
    err = one(make_teacher("m", base_url=server.base_url, transport=transport))
    assert isinstance(err, TeacherError) and err.kind == "not_json" and not err.retryable
    assert "base URL is probably wrong" in str(err)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_reply_over_the_size_cap_is_refused(serve: Any, transport: str) -> None:
    big = json.dumps(completion_json("x" * 300_000))

    async def huge(request: web.Request) -> web.Response:
        return web.Response(text=big, content_type="application/json")

    server = serve(huge)
    cap = 100_000
    err = one(make_teacher("m", base_url=server.base_url, transport=transport, max_reply_bytes=cap))
    assert isinstance(err, TeacherError) and err.kind == "too_large" and not err.retryable
    assert "100,000 bytes" in str(err)
    ok = one(make_teacher("m", base_url=server.base_url, transport=transport))
    assert len(ok.text) == 300_000  # the default cap (8 MiB) lets a large real reply through


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_an_endless_chunked_reply_is_cut_at_the_cap(serve: Any, transport: str) -> None:
    sent = []

    async def endless(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        await resp.write(b'{"choices": [{"message": {"content": "')
        chunk = b"y" * 65536
        try:
            for _ in range(16_000):  # 1 GB, unless the client stops reading first
                await resp.write(chunk)
                sent.append(len(chunk))
        except (ConnectionError, RuntimeError):
            pass
        return resp

    server = serve(endless)
    err = one(
        make_teacher(
            "m",
            base_url=server.base_url,
            transport=transport,
            max_reply_bytes=1_000_000,
            timeout=60,
        )
    )
    assert isinstance(err, TeacherError) and err.kind == "too_large"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_lone_surrogates_in_a_reply_are_replaced(serve: Any, transport: str) -> None:
    raw = json.dumps(completion_json("smile \ud83d!"))  # half an emoji, as \ud83d in the JSON
    assert "\\ud83d" in raw

    async def half_emoji(request: web.Request) -> web.Response:
        return web.Response(text=raw, content_type="application/json")

    server = serve(half_emoji)
    got = one(make_teacher("m", base_url=server.base_url, transport=transport))
    assert got.text == "smile \ufffd!"
    got.text.encode("utf-8")


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_http_proxy_from_the_environment_is_used(
    serve: Any, transport: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def proxy(request: web.Request) -> web.Response:
        return web.json_response(completion_json(f"via proxy to {request.url.host}"))

    server = serve(proxy)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.port}")
    # Nothing listens on the teacher's address: only the proxy can answer.
    got = one(make_teacher("m", base_url="http://teacher.test:9/v1", transport=transport))
    assert got.text == "via proxy to teacher.test"
    assert server.seen[0][0].endswith("/v1/chat/completions")


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_no_proxy_sends_directly(
    serve: Any, transport: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def direct(request: web.Request) -> web.Response:
        return web.json_response(completion_json("direct"))

    server = serve(direct)
    # The proxy's address has nothing listening: only a direct request can be answered.
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    monkeypatch.delenv("no_proxy", raising=False)
    got = one(make_teacher("m", base_url=server.base_url, transport=transport))
    assert got.text == "direct"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_credentials_in_the_base_url_are_sent_but_never_shown(serve: Any, transport: str) -> None:
    async def gateway(request: web.Request) -> web.Response:
        return web.json_response(completion_json("ok"))

    server = serve(gateway)
    url = f"http://alice:Pa55-w0rd-x@127.0.0.1:{server.port}/v1?api-key=qk-123456&v=2"
    teacher = make_teacher("m", base_url=url, transport=transport)
    assert teacher.endpoint == f"http://127.0.0.1:{server.port}/v1?api-key=***&v=2"
    assert one(teacher).text == "ok"
    path_qs, headers, _ = server.seen[0]
    assert path_qs == "/v1/chat/completions?api-key=qk-123456&v=2"
    assert headers["Authorization"].startswith("Basic ")  # alice:Pa55-w0rd-x
    err = TeacherError(f"failed at {url} with {headers['Authorization']}")
    assert "Pa55-w0rd-x" not in str(err) and "qk-123456" not in str(err)
    assert headers["Authorization"].split()[1] not in str(err)


def test_litellm_out_of_quota_is_fatal_too(serve: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from synthgen.teacher.litellm_backend import LiteLLMTeacher

    async def broke(request: web.Request) -> web.Response:
        error = {"message": "You exceeded your current quota.", "code": "insufficient_quota"}
        return web.json_response({"error": error}, status=429)

    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    server = serve(broke)
    err = one(LiteLLMTeacher("openai/m", api_base=server.base_url, timeout=10))
    assert isinstance(err, TeacherFatalError) and err.kind == "quota"
    assert KEY not in str(err)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_reply_echoing_the_key_does_not_carry_it_into_the_data(
    serve: Any, transport: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def echo(request: web.Request) -> web.Response:
        return web.json_response(completion_json(f"you sent {request.headers['Authorization']}"))

    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    server = serve(echo)
    got = one(make_teacher("m", base_url=server.base_url, transport=transport))
    assert got.text == "you sent ***"
