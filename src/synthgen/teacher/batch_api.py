"""A provider's batch API over the openai SDK: upload a JSONL file (``/v1/files``), create a
batch from it (``/v1/batches``), find a batch by its file, poll it, download its output and
error files. OpenAI's protocol, which Azure OpenAI (its ``/openai/v1`` API) and other
OpenAI-compatible servers speak too. Errors become TeacherErrors, as for a chat request."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from synthgen.errors import TeacherError
from synthgen.redact import register_secret
from synthgen.teacher.errors_map import read_error_body, retry_after_seconds, status_error
from synthgen.teacher.urls import authorization_header

__all__ = ["BatchAPI", "BatchStatus"]

# Batches listed when looking for the one made from a file (newest first): a batch lost
# between its creation and the log is looked for among the provider's latest.
_FIND_SCAN = 500


@dataclass(frozen=True)
class BatchStatus:
    status: str
    output_file: str | None = None
    error_file: str | None = None
    message: str = ""  # why a failed batch failed, as the provider said


class BatchAPI:
    def __init__(
        self, base_url: str, api_key: str | None, *, model: str, where: str, timeout: float
    ) -> None:
        from openai import AsyncOpenAI

        self._model, self._where = model, where
        register_secret(api_key)
        parts = urlsplit(base_url)
        headers = {}
        if parts.username is not None or parts.password is not None:
            headers["Authorization"] = str(authorization_header(base_url, None))
            register_secret(headers["Authorization"])
        self._client = AsyncOpenAI(
            api_key=api_key or "no-key",
            base_url=urlunsplit(
                (parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", "")
            ),
            default_query=dict(parse_qsl(parts.query, keep_blank_values=True)) or None,
            default_headers=headers or None,
            max_retries=2,  # polls and downloads only: creating a batch is never retried blind
            timeout=timeout,
        )

    async def upload(self, data: bytes) -> str:
        async with self._mapped("uploading a batch file"):
            created = await self._client.files.create(
                file=("synthgen-batch.jsonl", data, "application/jsonl"), purpose="batch"
            )
        return str(created.id)

    async def create(self, file_id: str) -> str:
        # Not retried by the SDK: a create whose answer was lost may have made a batch, which
        # find() then finds instead of a second one being paid for.
        async with self._mapped("creating a batch"):
            batch = await self._client.with_options(max_retries=0).batches.create(
                completion_window="24h",
                endpoint="/v1/chat/completions",
                input_file_id=file_id,
                metadata={"made_by": "synthgen"},
            )
        return str(batch.id)

    async def find(self, file_id: str) -> str | None:
        """The batch made from ``file_id``, among the provider's latest, or None."""
        async with self._mapped("listing batches"):
            seen = 0
            async for batch in self._client.batches.list(limit=100):
                if batch.input_file_id == file_id:
                    return str(batch.id)
                seen += 1
                if seen >= _FIND_SCAN:
                    break
        return None

    async def retrieve(self, batch_id: str) -> BatchStatus:
        async with self._mapped("polling a batch"):
            batch = await self._client.batches.retrieve(batch_id)
        errors = getattr(batch.errors, "data", None) or []
        message = "; ".join(str(e.message) for e in errors[:3] if getattr(e, "message", None))
        return BatchStatus(str(batch.status), batch.output_file_id, batch.error_file_id, message)

    async def content(self, file_id: str) -> bytes:
        async with self._mapped("downloading batch results"):
            response = await self._client.files.content(file_id)
        return bytes(response.content)

    async def aclose(self) -> None:
        await self._client.close()

    @contextlib.asynccontextmanager
    async def _mapped(self, doing: str) -> AsyncIterator[None]:
        import openai

        try:
            yield
        except openai.APIStatusError as e:
            err = status_error(
                e.status_code,
                model=self._model,
                where=self._where,
                retry_after=retry_after_seconds(e.response.headers),
                body=read_error_body(_body(e)),
            )
            raise type(err)(
                f"{doing}: {err}",
                kind=err.kind,
                status=err.status,
                retry_after=err.retry_after,
                detail=err.detail,
            ) from None
        except openai.APITimeoutError:
            raise TeacherError(f"{doing}: {self._where} timed out", kind="timeout") from None
        except openai.APIConnectionError as e:
            raise TeacherError(
                f"{doing}: cannot connect to {self._where}: {type(e.__cause__ or e).__name__}",
                kind="connection",
            ) from None
        except (ValueError, openai.APIResponseValidationError) as e:
            raise TeacherError(
                f"{doing}: {self._where} sent a malformed response: {type(e).__name__}",
                kind="server",
            ) from None


def _body(e: Any) -> object:
    try:
        content = e.response.content
    except Exception:
        return e.body
    return content if isinstance(content, bytes) and content else e.body
