"""Any OpenAI-compatible endpoint through the openai SDK on its aiohttp transport
(``--transport openai-sdk``). The default transport (``http.py``) speaks the same protocol
directly at a tenth of the CPU per request; this one is here for what the SDK adds."""

from __future__ import annotations

from typing import Any

from synthgen.errors import TeacherError
from synthgen.teacher.base import ChatRequest, Completion, OpenAICompatible, request_body
from synthgen.teacher.errors_map import retry_after_seconds, status_error


class OpenAICompatTeacher(OpenAICompatible):
    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 120.0,
        max_connections: int = 64,
    ) -> None:
        from openai import AsyncOpenAI, DefaultAioHttpClient

        super().__init__(model, base_url)
        # Keep-alive pool as large as the concurrency: the SDK's default of 100 would make
        # a run at 256 in flight reconnect constantly.
        limits = _http_module().Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        self._client = AsyncOpenAI(
            # Local servers need no key, but the SDK insists on one.
            api_key=api_key or "no-key",
            base_url=self.endpoint,
            max_retries=0,  # retries are ours: counted, jittered, shared across backends
            timeout=timeout,
            http_client=DefaultAioHttpClient(limits=limits, timeout=timeout),
        )

    async def _send(self, request: ChatRequest, *, structured: bool) -> Completion:
        import openai

        kwargs = request_body(self.model, request, structured=structured)
        try:
            resp = await self._client.chat.completions.create(**kwargs)
        except openai.APIStatusError as e:
            raise status_error(
                e.status_code,
                model=self.model,
                where=self._where,
                retry_after=retry_after_seconds(e.response.headers),
                detail=_server_message(e.body),
            ) from None
        except openai.APITimeoutError:
            raise TeacherError(f"{self._where} timed out", kind="timeout") from None
        except openai.APIConnectionError as e:
            raise TeacherError(
                f"cannot connect to {self._where}: {type(e.__cause__ or e).__name__}",
                kind="connection",
            ) from None
        except (ValueError, openai.APIResponseValidationError) as e:
            raise TeacherError(
                f"{self._where} sent a malformed response: {type(e).__name__}", kind="server"
            ) from None
        if not resp.choices:
            raise TeacherError(f"{self._where} returned no choices", kind="server")
        choice = resp.choices[0]
        usage = resp.usage
        return Completion(
            text=choice.message.content or "",
            finish_reason=choice.finish_reason,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
        )

    async def aclose(self) -> None:
        await self._client.close()


def _http_module() -> Any:
    """The HTTP library the installed openai SDK is built on: openai 3 moved from httpx to
    httpx2, and litellm's pins decide which one a fresh install gets."""
    try:
        import httpx2

        return httpx2
    except ImportError:
        import httpx

        return httpx


def _server_message(body: object) -> str:
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            return str(err["message"])
    return ""
