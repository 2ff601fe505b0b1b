"""Python clients of ``synthgen serve``: :class:`Client` (blocking) and :class:`AsyncClient`,
over httpx, speaking the JSON API of service/api_models.py.

    client = Client("http://host:8700", token=...)      # or $SYNTHGEN_SERVER, $SYNTHGEN_TOKEN
    job = client.submit("seeds.jsonl", n=2000, model="gpt-4o-mini", concurrency=16)
    job.wait()                      # follows the job's Server-Sent Events until it ends
    job.download("out/")            # train.jsonl, eval.jsonl, report.json, ...
    job = client.job(job_id)        # the same job from another process

The server's errors become synthgen errors carrying its message: :class:`RequestRejected`
(an InputError: a 4xx, the request was refused) and :class:`ServiceUnavailable` (a
RunError: unreachable, or a 5xx). The token is sent as a bearer header and shown nowhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx

from synthgen.service.api_models import (
    TERMINAL_STATES,
    ExamplesPage,
    FileView,
    JobList,
    JobView,
)
from synthgen.service.client_wire import (
    CHUNK,
    DEFAULT_SERVER,
    PATIENCE,
    STREAM_TIMEOUT,
    ClientBase,
    Outage,
    RequestRejected,
    ServiceUnavailable,
    SSEParser,
    check_response,
    finished,
    job_body,
    job_path,
    safe_file_name,
    seeds_file,
    unreachable,
)

__all__ = [
    "DEFAULT_SERVER",
    "AsyncClient",
    "AsyncJobHandle",
    "Client",
    "JobHandle",
    "RequestRejected",
    "ServiceUnavailable",
]


class JobHandle:
    """A job on the server; ``view`` is its state as last seen."""

    def __init__(self, client: Client, view: JobView) -> None:
        self.client = client
        self.view = view
        self.id = view.id
        self._path = job_path(view.id)

    def __repr__(self) -> str:
        return f"JobHandle({self.id!r}, state={self.view.state!r})"

    def status(self) -> JobView:
        self.view = JobView.model_validate_json(self.client._call("GET", self._path).content)
        return self.view

    def events(self, *, patience: float = PATIENCE) -> Iterator[JobView]:
        """The job as it moves, from its event stream, until it ends (the last one yielded
        is terminal). A dropped stream is picked up again, and a server that went away
        (restarting) is waited for, up to ``patience`` seconds."""
        outage = Outage(patience)
        while True:
            try:
                with self.client._stream(f"{self._path}/events") as response:
                    parser = SSEParser()
                    for line in response.iter_lines():
                        event = parser.feed(line)
                        if event is not None:
                            outage.over()
                            self.view = event[1]
                            yield self.view
                            if event[0] == "end":
                                return
                if self.status().state in TERMINAL_STATES:  # closed without its end
                    yield self.view
                    return
                delay = outage.over()
            except ServiceUnavailable as e:
                delay = outage.wait(e)
            time.sleep(delay)

    def wait(
        self, *, poll: float | None = None, timeout: float | None = None, check: bool = True
    ) -> JobView:
        """Block until the job ends: following its events, or with ``poll``, asking every
        ``poll`` seconds. ``check``: raise RunError unless it succeeded. TimeoutError after
        ``timeout`` seconds (the job goes on)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if poll is None and deadline is None:
            for view in self.events():
                if view.state in TERMINAL_STATES:
                    return finished(view, check)
        while self.status().state not in TERMINAL_STATES:
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"job {self.id} still {self.view.state} after {timeout}s")
            time.sleep(poll or 0.5)
        return finished(self.view, check)

    def download(
        self, dest: str | os.PathLike[str], names: Sequence[str] | None = None
    ) -> list[Path]:
        """Save the job's files (all of them, or ``names``) into folder ``dest``."""
        folder = Path(dest)
        folder.mkdir(parents=True, exist_ok=True)
        saved = []
        for name in names if names is not None else self.status().files:
            target = folder / safe_file_name(name)
            part = target.with_name(f".{target.name}.part")
            try:
                with (
                    self.client._stream(f"{self._path}/files/{target.name}") as response,
                    part.open("wb") as f,
                ):
                    for chunk in response.iter_bytes(CHUNK):
                        f.write(chunk)
                part.replace(target)
            finally:
                part.unlink(missing_ok=True)  # a broken download leaves nothing
            saved.append(target)
        return saved

    def examples(self, split: str = "train", *, offset: int = 0, limit: int = 20) -> ExamplesPage:
        params = {"split": split, "offset": offset, "limit": limit}
        response = self.client._call("GET", f"{self._path}/examples", params=params)
        return ExamplesPage.model_validate_json(response.content)

    def cancel(self) -> JobView:
        self.view = JobView.model_validate_json(
            self.client._call("POST", f"{self._path}/cancel").content
        )
        return self.view

    def delete(self) -> None:
        self.client._call("DELETE", self._path)


class Client(ClientBase):
    """A blocking client of a synthgen server (``server``: $SYNTHGEN_SERVER, else
    http://127.0.0.1:8700; ``token``: $SYNTHGEN_TOKEN when not given)."""

    def __init__(
        self, server: str | None = None, *, token: str | None = None, timeout: float = 30.0
    ) -> None:
        super().__init__(server, token)
        self._http = httpx.Client(base_url=self.server, headers=self._headers, timeout=timeout)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return check_response(self._http.request(method, path, **kwargs))
        except httpx.TransportError as e:
            raise unreachable(self.server, e) from None

    @contextlib.contextmanager
    def _stream(self, path: str) -> Iterator[httpx.Response]:
        """A GET whose body is read as it comes, with the same errors as every call."""
        try:
            with self._http.stream("GET", path, timeout=STREAM_TIMEOUT) as response:
                if not response.is_success:
                    response.read()
                    check_response(response)
                yield response
        except httpx.TransportError as e:
            raise unreachable(self.server, e) from None

    def upload(self, seeds: str | os.PathLike[str]) -> FileView:
        """Upload a seeds file; the server reads and checks it at once."""
        path = seeds_file(seeds)
        with path.open("rb") as f:
            response = self._call("POST", "/v1/files", files={"file": (path.name, f)})
        return FileView.model_validate_json(response.content)

    def submit(
        self,
        seeds: str | os.PathLike[str] | Sequence[dict[str, Any] | str],
        *,
        n: int,
        model: str | None = None,
        base_url: str | None = None,
        concurrency: int | None = None,
        api_key: str | None = None,
        **settings: Any,
    ) -> JobHandle:
        """Submit a job: ``seeds`` a file (uploaded first) or a list of seed examples;
        the rest are Settings fields, as for ``expand``. ``api_key``: the teacher's key
        for this job, which the server holds in memory only."""
        body = job_body(seeds, n, model, base_url, concurrency, api_key, settings)
        if "file" in body:
            body["file_id"] = self.upload(body.pop("file")).id
        response = self._call("POST", "/v1/jobs", json=body)
        return JobHandle(self, JobView.model_validate_json(response.content))

    def job(self, job_id: str) -> JobHandle:
        """Re-attach to a job (from another process, or after a restart)."""
        response = self._call("GET", job_path(job_id))
        return JobHandle(self, JobView.model_validate_json(response.content))

    def jobs(self, *, state: str | None = None, offset: int = 0, limit: int = 50) -> JobList:
        params: dict[str, Any] = {"offset": offset, "limit": limit}
        if state:
            params["state"] = state
        return JobList.model_validate_json(self._call("GET", "/v1/jobs", params=params).content)


class AsyncJobHandle:
    """A job on the server, for :class:`AsyncClient`; ``view`` is its state as last seen."""

    def __init__(self, client: AsyncClient, view: JobView) -> None:
        self.client = client
        self.view = view
        self.id = view.id
        self._path = job_path(view.id)

    def __repr__(self) -> str:
        return f"AsyncJobHandle({self.id!r}, state={self.view.state!r})"

    async def status(self) -> JobView:
        response = await self.client._call("GET", self._path)
        self.view = JobView.model_validate_json(response.content)
        return self.view

    async def events(self, *, patience: float = PATIENCE) -> AsyncIterator[JobView]:
        """As :meth:`JobHandle.events`."""
        outage = Outage(patience)
        while True:
            try:
                async with self.client._stream(f"{self._path}/events") as response:
                    parser = SSEParser()
                    async for line in response.aiter_lines():
                        event = parser.feed(line)
                        if event is not None:
                            outage.over()
                            self.view = event[1]
                            yield self.view
                            if event[0] == "end":
                                return
                if (await self.status()).state in TERMINAL_STATES:
                    yield self.view
                    return
                delay = outage.over()
            except ServiceUnavailable as e:
                delay = outage.wait(e)
            await asyncio.sleep(delay)

    async def wait(
        self, *, poll: float | None = None, timeout: float | None = None, check: bool = True
    ) -> JobView:
        """As :meth:`JobHandle.wait`."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if poll is None and deadline is None:
            async for view in self.events():
                if view.state in TERMINAL_STATES:
                    return finished(view, check)
        while (await self.status()).state not in TERMINAL_STATES:
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"job {self.id} still {self.view.state} after {timeout}s")
            await asyncio.sleep(poll or 0.5)
        return finished(self.view, check)

    async def download(
        self, dest: str | os.PathLike[str], names: Sequence[str] | None = None
    ) -> list[Path]:
        """Save the job's files (all of them, or ``names``) into folder ``dest``."""
        folder = Path(dest)
        folder.mkdir(parents=True, exist_ok=True)
        saved = []
        for name in names if names is not None else (await self.status()).files:
            target = folder / safe_file_name(name)
            part = target.with_name(f".{target.name}.part")
            try:
                async with self.client._stream(f"{self._path}/files/{target.name}") as response:
                    with part.open("wb") as f:
                        async for chunk in response.aiter_bytes(CHUNK):
                            f.write(chunk)
                part.replace(target)
            finally:
                part.unlink(missing_ok=True)  # a broken download leaves nothing
            saved.append(target)
        return saved

    async def examples(
        self, split: str = "train", *, offset: int = 0, limit: int = 20
    ) -> ExamplesPage:
        params = {"split": split, "offset": offset, "limit": limit}
        response = await self.client._call("GET", f"{self._path}/examples", params=params)
        return ExamplesPage.model_validate_json(response.content)

    async def cancel(self) -> JobView:
        response = await self.client._call("POST", f"{self._path}/cancel")
        self.view = JobView.model_validate_json(response.content)
        return self.view

    async def delete(self) -> None:
        await self.client._call("DELETE", self._path)


class AsyncClient(ClientBase):
    """:class:`Client` for asyncio: the same methods, awaited."""

    def __init__(
        self, server: str | None = None, *, token: str | None = None, timeout: float = 30.0
    ) -> None:
        super().__init__(server, token)
        self._http = httpx.AsyncClient(base_url=self.server, headers=self._headers, timeout=timeout)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return check_response(await self._http.request(method, path, **kwargs))
        except httpx.TransportError as e:
            raise unreachable(self.server, e) from None

    @contextlib.asynccontextmanager
    async def _stream(self, path: str) -> AsyncIterator[httpx.Response]:
        try:
            async with self._http.stream("GET", path, timeout=STREAM_TIMEOUT) as response:
                if not response.is_success:
                    await response.aread()
                    check_response(response)
                yield response
        except httpx.TransportError as e:
            raise unreachable(self.server, e) from None

    async def upload(self, seeds: str | os.PathLike[str]) -> FileView:
        path = seeds_file(seeds)
        with path.open("rb") as f:
            response = await self._call("POST", "/v1/files", files={"file": (path.name, f.read())})
        return FileView.model_validate_json(response.content)

    async def submit(
        self,
        seeds: str | os.PathLike[str] | Sequence[dict[str, Any] | str],
        *,
        n: int,
        model: str | None = None,
        base_url: str | None = None,
        concurrency: int | None = None,
        api_key: str | None = None,
        **settings: Any,
    ) -> AsyncJobHandle:
        """As :meth:`Client.submit`."""
        body = job_body(seeds, n, model, base_url, concurrency, api_key, settings)
        if "file" in body:
            body["file_id"] = (await self.upload(body.pop("file"))).id
        response = await self._call("POST", "/v1/jobs", json=body)
        return AsyncJobHandle(self, JobView.model_validate_json(response.content))

    async def job(self, job_id: str) -> AsyncJobHandle:
        response = await self._call("GET", job_path(job_id))
        return AsyncJobHandle(self, JobView.model_validate_json(response.content))

    async def jobs(self, *, state: str | None = None, offset: int = 0, limit: int = 50) -> JobList:
        params: dict[str, Any] = {"offset": offset, "limit": limit}
        if state:
            params["state"] = state
        response = await self._call("GET", "/v1/jobs", params=params)
        return JobList.model_validate_json(response.content)
