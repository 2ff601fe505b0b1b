"""Request body limits (uploads get their own, larger one), as ASGI middleware: a body over
its limit is answered 413 before the endpoint runs, whether its size was announced in
Content-Length or only found out while it streamed. Counts requests for /metrics too."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.exceptions import HTTPException

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from synthgen.service.metrics import ServiceMetrics
    from synthgen.service.service import Limits

__all__ = ["BodyLimit"]

# Multipart framing around an upload: the part headers and boundaries.
_FORM_OVERHEAD = 64 * 1024


class _TooLarge(HTTPException):
    """An HTTPException, so that FastAPI's body parsing passes it on instead of making it
    a 400."""

    def __init__(self, what: str, limit: int) -> None:
        super().__init__(413, f"{what} larger than the {limit:,}-byte limit")


class BodyLimit:
    def __init__(self, app: ASGIApp, *, limits: Limits, metrics: ServiceMetrics) -> None:
        self.app = app
        self.limits = limits
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = scope["path"].rstrip("/") == "/v1/files"
        limit = self.limits.upload_bytes + _FORM_OVERHEAD if upload else self.limits.body_bytes
        what = "upload" if upload else "request body"
        status = {"code": 500}

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            announced = _content_length(scope)
            if announced is not None and announced > limit:
                raise _TooLarge(what, limit)
            await self.app(scope, _capped(receive, what, limit), counting_send)
        except _TooLarge as e:
            await _refuse(send, str(e.detail))
            status["code"] = 413
        finally:
            self.metrics.http.labels(scope["method"], str(status["code"])).inc()


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _capped(receive: Receive, what: str, limit: int) -> Receive:
    seen = 0

    async def capped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _TooLarge(what, limit)
        return message

    return capped


async def _refuse(send: Send, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers: list[Any] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
