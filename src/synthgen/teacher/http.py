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
from typing import TYPE_CHECKING

from synthgen.errors import TeacherError
from synthgen.teacher.base import ChatRequest, Completion, OpenAICompatible, request_body
from synthgen.teacher.errors_map import retry_after_seconds, status_error

if TYPE_CHECKING:
    import aiohttp


class HTTPTeacher(OpenAICompatible):
    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 120.0,
        max_connections: int = 64,
    ) -> None:
        super().__init__(model, base_url)
        self._url = f"{self.endpoint}/chat/completions"
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

    def _open(self) -> aiohttp.ClientSession:
        import aiohttp

        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._max_connections, ttl_dns_cache=300),
            timeout=aiohttp.ClientTimeout(total=self._timeout),
            headers=self._headers,
        )
        return self._session

    async def _send(self, request: ChatRequest, *, structured: bool) -> Completion:
        import aiohttp

        body = request_body(self.model, request, structured=structured)
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
