"""Any OpenAI-compatible endpoint through the openai SDK on its aiohttp transport
(``--transport openai-sdk``). The default transport (``http.py``) speaks the same protocol
directly at a tenth of the CPU per request; this one is here for what the SDK adds.

The reply size cap holds here too, with one gap: the SDK reads the body itself, so the cap
is applied to the body as it arrives (a response hook wraps its byte stream: a large
Content-Length is refused before reading, an endless chunked reply is cut at the cap), but
on the bytes as sent. A compressed reply is decompressed after that count, so a small gzip
body that inflates hugely is not caught; ``Accept-Encoding: identity`` asks servers not to
compress, which well-behaved ones honour.
"""

from __future__ import annotations

import functools
import os
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

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
    read_error_body,
    retry_after_seconds,
    status_error,
    unparsable_reply,
)
from synthgen.teacher.reasoning import traced
from synthgen.teacher.urls import authorization_header


class ReplyTooLarge(Exception):
    """Raised from inside the SDK's read; deliberately not an httpx error, so the SDK lets it
    through unwrapped instead of turning it into a connection error."""


class OpenAICompatTeacher(OpenAICompatible):
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
        from openai import AsyncOpenAI, DefaultAioHttpClient

        super().__init__(model, base_url)
        self.max_reply_bytes = max_reply_bytes
        for value in (
            api_key,
            os.environ.get("OPENAI_ORG_ID"),
            os.environ.get("OPENAI_PROJECT_ID"),
        ):
            register_secret(value)
        # The query (some gateways take ?api-key=) goes with every request; credentials in
        # the URL become a basic-auth header, as in the aiohttp transport.
        parts = urlsplit(self._base_url)
        headers = {"Accept-Encoding": "identity"}
        if parts.username is not None or parts.password is not None:
            headers["Authorization"] = str(authorization_header(self._base_url, None))
            register_secret(headers["Authorization"])
        # Keep-alive pool as large as the concurrency: the SDK's default of 100 would make
        # a run at 256 in flight reconnect constantly.
        limits = _http_module().Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        self._client = AsyncOpenAI(
            # Local servers need no key, but the SDK insists on one.
            api_key=api_key or "no-key",
            base_url=urlunsplit(
                (parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", "")
            ),
            default_query=dict(parse_qsl(parts.query, keep_blank_values=True)) or None,
            default_headers=headers,
            max_retries=0,  # retries are ours: counted, jittered, shared across backends
            timeout=timeout,
            http_client=DefaultAioHttpClient(
                limits=limits, timeout=timeout, event_hooks={"response": [self._cap_reply]}
            ),
        )

    async def _cap_reply(self, response: Any) -> None:
        """httpx response hook, before the body is read: refuse a declared size over the cap,
        and count the bytes of an undeclared one as they arrive."""
        limit = self.max_reply_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise ReplyTooLarge(limit)
        response.stream = _capped_stream_class()(response.stream, limit)

    async def _send(
        self, request: ChatRequest, *, response_format: dict[str, Any] | None
    ) -> Completion:
        import openai
        from openai.types.chat import ChatCompletion

        kwargs = request_body(self.model, request, response_format=response_format)
        try:
            resp = await self._client.chat.completions.create(**kwargs)
        except openai.APIStatusError as e:
            raise status_error(
                e.status_code,
                model=self.model,
                where=self._where,
                retry_after=retry_after_seconds(e.response.headers),
                body=read_error_body(_error_body(e)),
            ) from None
        except openai.APITimeoutError:
            raise TeacherError(f"{self._where} timed out", kind="timeout") from None
        except openai.APIConnectionError as e:
            raise TeacherError(
                f"cannot connect to {self._where}: {type(e.__cause__ or e).__name__}",
                kind="connection",
            ) from None
        except ReplyTooLarge:
            raise TeacherError(
                f"{self._where} sent a reply larger than {self.max_reply_bytes:,} bytes; "
                "stopped reading it (raise max_reply_bytes if replies this large are expected)",
                kind="too_large",
            ) from None
        except (ValueError, RecursionError, openai.APIResponseValidationError) as e:
            raise TeacherError(
                f"{self._where} sent a malformed response: {type(e).__name__}", kind="server"
            ) from None
        if not isinstance(resp, ChatCompletion):
            # Not JSON at all: the SDK hands back the body as text.
            raise unparsable_reply(resp if isinstance(resp, str) else "?", self._where, "")
        if not resp.choices:
            raise TeacherError(f"{self._where} returned no choices", kind="server")
        choice = resp.choices[0]
        usage = resp.usage
        prompt_tokens = usage.prompt_tokens if usage else 0
        answer, trace, spent = traced(
            reply_text(choice.message.content or ""), choice.message, usage, self.model
        )
        return Completion(
            text=answer,
            finish_reason=choice.finish_reason,
            prompt_tokens=prompt_tokens,
            completion_tokens=usage.completion_tokens if usage else 0,
            # The SDK keeps keys it does not model (prompt_cache_hit_tokens, ...) as extras.
            cached_tokens=cached_tokens_of(usage, prompt_tokens),
            reasoning=trace,
            reasoning_tokens=spent,
        )

    async def aclose(self) -> None:
        await self._client.close()


@functools.cache
def _capped_stream_class() -> Any:
    """An httpx async byte stream class (of whichever httpx the SDK uses: httpx checks the
    base class) that raises ReplyTooLarge past ``limit`` bytes."""

    class CappedStream(_http_module().AsyncByteStream):  # type: ignore[misc]
        def __init__(self, inner: Any, limit: int) -> None:
            self._inner = inner
            self._limit = limit

        async def __aiter__(self) -> AsyncIterator[bytes]:
            seen = 0
            async for chunk in self._inner:
                seen += len(chunk)
                if seen > self._limit:
                    raise ReplyTooLarge(self._limit)
                yield chunk

        async def aclose(self) -> None:
            await self._inner.aclose()

    return CappedStream


def _error_body(e: Any) -> object:
    """The error reply as the server sent it (the SDK has read it), else what the SDK kept."""
    try:
        content = e.response.content
    except Exception:  # a stream the SDK did not read: use what it parsed
        return e.body
    return content if isinstance(content, bytes) and content else e.body


def _http_module() -> Any:
    """The HTTP library the installed openai SDK is built on: openai 3 moved from httpx to
    httpx2, and litellm's pins decide which one a fresh install gets."""
    try:
        import httpx2

        return httpx2
    except ImportError:
        import httpx

        return httpx
