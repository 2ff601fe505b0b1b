"""A real local HTTP server with hostile behaviour of the test's choosing (echoed headers,
HTML pages, endless replies, quota errors...), for what FakeTeacher does not script."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class LocalServer:
    """An aiohttp app on 127.0.0.1 in a background thread; every path goes to ``handler``.
    ``seen`` holds (path_qs, headers, JSON body or None) of each request, in order."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self.seen: list[tuple[str, dict[str, str], Any]] = []
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.port = 0

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except ValueError:
            body = None
        self.seen.append((request.path_qs, dict(request.headers), body))
        return await self._handler(request)

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def start(self) -> LocalServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def bodies(self) -> list[Any]:
        return [body for _, _, body in self.seen]


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], LocalServer]]:
    """``serve(handler)`` starts a LocalServer, stopped after the test."""
    started: list[LocalServer] = []

    def make(handler: Handler) -> LocalServer:
        server = LocalServer(handler).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()
