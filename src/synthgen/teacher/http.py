"""OpenAI-compatible endpoints spoken to directly over aiohttp: the default transport.

The chat-completions protocol is one JSON POST. Speaking it directly costs ≈0.3 ms of CPU per
request here, against 1.2-3 ms through the openai SDK (its request building and response
models), and synthgen's throughput is bound by that CPU (BENCHMARKS.md). The SDK path stays
available as ``--transport openai-sdk``.

A reply is read in chunks and abandoned past ``max_reply_bytes`` (an endless chunked reply
once took 3.7 GB of memory in 5.6 s); proxies come from HTTP(S)_PROXY / NO_PROXY like in the
SDK transport, read once per session: aiohttp's ``trust_env`` looked them (and ~/.netrc) up
again in a thread for every request, 0.5 ms of CPU each.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from synthgen.errors import TeacherError
from synthgen.redact import register_secret
from synthgen.teacher.base import (
    DEFAULT_MAX_REPLY_BYTES,
    ChatRequest,
    Completion,
    OpenAICompatible,
    cached_tokens_of,
    reply_text,
    request_body,
)
from synthgen.teacher.errors_map import (
    ERROR_BODY_LIMIT,
    read_error_body,
    retry_after_seconds,
    status_error,
    unparsable_reply,
)
from synthgen.teacher.reasoning import traced
from synthgen.teacher.urls import authorization_header, chat_url

if TYPE_CHECKING:
    import aiohttp

_CHUNK = 64 * 1024


class HTTPTeacher(OpenAICompatible):
    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 120.0,
        max_connections: int = 64,
        max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES,
    ) -> None:
        super().__init__(model, base_url)
        self._url = chat_url(self._base_url)
        self._timeout = timeout
        self._max_connections = max_connections
        self.max_reply_bytes = max_reply_bytes
        # Held in memory only, sent only to the endpoint; registered so that no message or
        # file can show them, even when a server echoes them back.
        self._headers = {"Content-Type": "application/json"}
        auth = authorization_header(self._base_url, api_key)
        if auth:
            self._headers["Authorization"] = auth
            register_secret(auth)
        register_secret(api_key)
        for env, header in (
            ("OPENAI_ORG_ID", "OpenAI-Organization"),
            ("OPENAI_PROJECT_ID", "OpenAI-Project"),
        ):
            if os.environ.get(env):
                self._headers[header] = os.environ[env]
                register_secret(os.environ[env])
        self._session: aiohttp.ClientSession | None = None
        self._proxy: str | None = None
        # Told every reply's headers (x-ratelimit-* steer the pace: teacher.pacing.Pacing).
        self.on_headers: Callable[[Mapping[str, str]], None] | None = None

    def _open(self) -> aiohttp.ClientSession:
        import aiohttp

        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._max_connections, ttl_dns_cache=300),
            timeout=aiohttp.ClientTimeout(total=self._timeout),
            headers=self._headers,
        )
        self._proxy = _proxy_for(self._url)
        return self._session

    async def _send(
        self, request: ChatRequest, *, response_format: dict[str, Any] | None
    ) -> Completion:
        import aiohttp

        body = request_body(self.model, request, response_format=response_format)
        session = self._session or self._open()
        try:
            async with session.post(self._url, data=json.dumps(body), proxy=self._proxy) as resp:
                status, headers = resp.status, resp.headers
                if self.on_headers is not None:
                    self.on_headers(headers)
                limit = self.max_reply_bytes if status < 400 else ERROR_BODY_LIMIT
                raw = await self._read(resp, limit, whole=status < 400)
        except asyncio.TimeoutError:
            raise TeacherError(f"{self._where} timed out", kind="timeout") from None
        except aiohttp.ClientError as e:
            raise TeacherError(
                f"cannot connect to {self._where}: {type(e).__name__}", kind="connection"
            ) from None
        if status >= 400:
            raise status_error(
                status,
                model=self.model,
                where=self._where,
                retry_after=retry_after_seconds(headers),
                body=read_error_body(raw),
            )
        return _completion(raw, self._where, headers.get("Content-Type", ""), self.model)

    async def _read(self, resp: aiohttp.ClientResponse, limit: int, *, whole: bool) -> bytes:
        """At most ``limit`` bytes of the body. Past it, a reply (``whole``) is abandoned with
        a too_large error, the connection closed unread; an error body is just cut."""
        if whole and resp.content_length is not None and resp.content_length > limit:
            raise self._too_large(limit)
        got = bytearray()
        async for chunk in resp.content.iter_chunked(_CHUNK):
            got += chunk
            if len(got) > limit:
                if whole:
                    raise self._too_large(limit)
                return bytes(got[:limit])
        return bytes(got)

    def _too_large(self, limit: int) -> TeacherError:
        return TeacherError(
            f"{self._where} sent a reply larger than {limit:,} bytes; stopped reading it "
            "(raise max_reply_bytes if replies this large are expected)",
            kind="too_large",
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _completion(raw: bytes, where: str, content_type: str, model: str) -> Completion:
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise unparsable_reply(raw, where, content_type) from None
    try:
        choice = data["choices"][0]
        message = choice["message"]
        text = message.get("content") or ""
        usage = data.get("usage") or {}
        reason = choice.get("finish_reason")
        prompt_tokens = int(usage.get("prompt_tokens") or 0)
        answer, trace, spent = traced(
            reply_text(text) if isinstance(text, str) else "", message, usage, model
        )
        return Completion(
            text=answer,
            finish_reason=reason if isinstance(reason, str) else None,
            prompt_tokens=prompt_tokens,
            completion_tokens=int(usage.get("completion_tokens") or 0),
            cached_tokens=cached_tokens_of(usage, prompt_tokens),
            reasoning=trace,
            reasoning_tokens=spent,
        )
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        raise TeacherError(f"{where} sent a malformed response", kind="server") from None


def _proxy_for(url: str) -> str | None:
    """The proxy HTTP(S)_PROXY / NO_PROXY name for ``url``, or None."""
    import urllib.request
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy is None or urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return proxy
