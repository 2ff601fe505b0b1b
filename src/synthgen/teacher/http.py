"""OpenAI-compatible endpoints spoken to directly over aiohttp: the default transport.

The chat-completions protocol is one JSON POST. Speaking it directly costs ≈0.3 ms of CPU per
request here, against 1.2-3 ms through the openai SDK (its request building and response
models), and synthgen's throughput is bound by that CPU (BENCHMARKS.md). The SDK path stays
available as ``--transport openai-sdk``.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import TYPE_CHECKING, Any

from ..errors import TeacherError
from .base import ChatRequest, Completion, host_of
from .errors_map import retry_after_seconds, status_error

if TYPE_CHECKING:
    import aiohttp

OPENAI_URL = "https://api.openai.com/v1"


class HTTPTeacher:
    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 120.0,
        max_connections: int = 64,
    ) -> None:
        self.model = model
        self.endpoint = (base_url or OPENAI_URL).rstrip("/")
        self._url = f"{self.endpoint}/chat/completions"
        self._where = host_of(self.endpoint)
        self._timeout = timeout
        self._max_connections = max_connections
        # Held in memory only, sent only to the endpoint; never in a message or a file.
        self._headers = {"Content-Type": "application/json"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        for env, header in (
            ("OPENAI_ORG_ID", "OpenAI-Organization"),
            ("OPENAI_PROJECT_ID", "OpenAI-Project"),
        ):
            if os.environ.get(env):
                self._headers[header] = os.environ[env]
        self._session: aiohttp.ClientSession | None = None
        self._structured = True

    def _open(self) -> aiohttp.ClientSession:
        import aiohttp

        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._max_connections, ttl_dns_cache=300),
            timeout=aiohttp.ClientTimeout(total=self._timeout),
            headers=self._headers,
        )
        return self._session

    async def complete(self, request: ChatRequest) -> Completion:
        try:
            return await self._post(request, structured=self._structured)
        except TeacherError as e:
            # Some OpenAI-compatible servers reject json_schema response_format: drop it for
            # the rest of the run; the lenient parser copes with free-form JSON.
            if e.kind == "bad_request" and self._structured and request.response_format:
                self._structured = False
                return await self._post(request, structured=False)
            raise

    async def _post(self, request: ChatRequest, *, structured: bool) -> Completion:
        import aiohttp

        body: dict[str, Any] = {
            "model": self.model,
            "messages": list(request.messages),
            "temperature": request.temperature,
            **request.extra,
        }
        if request.max_tokens:
            body["max_tokens"] = request.max_tokens
        if structured and request.response_format:
            body["response_format"] = request.response_format
        session = self._session or self._open()
        try:
            async with session.post(self._url, data=json.dumps(body)) as resp:
                raw = await resp.read()
                status, headers = resp.status, resp.headers
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
                detail=_server_message(raw),
            )
        return _completion(raw, self._where)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _completion(raw: bytes, where: str) -> Completion:
    try:
        data = json.loads(raw)
        choice = data["choices"][0]
        text = choice["message"].get("content") or ""
        usage = data.get("usage") or {}
        return Completion(
            text=text if isinstance(text, str) else "",
            finish_reason=choice.get("finish_reason"),
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
        )
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        raise TeacherError(f"{where} sent a malformed response", kind="server") from None


def _server_message(raw: bytes) -> str:
    try:
        err = json.loads(raw).get("error")
    except (ValueError, AttributeError):
        return ""
    if isinstance(err, dict) and isinstance(err.get("message"), str):
        return str(err["message"])
    return ""
