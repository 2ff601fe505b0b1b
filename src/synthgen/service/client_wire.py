"""The client's side of the wire, shared by :class:`~synthgen.service.client.Client` and
:class:`~synthgen.service.client.AsyncClient`: where the server is, the server's errors as
synthgen errors, the JobCreate body, and reading Server-Sent Events."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path, PurePath
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from synthgen.errors import ConfigError, InputError, RunError, SeedError
from synthgen.service.api_models import JobView

__all__ = [
    "CHUNK",
    "DEFAULT_SERVER",
    "PATIENCE",
    "SERVER_ENV",
    "STREAM_TIMEOUT",
    "TOKEN_ENV",
    "ClientBase",
    "Outage",
    "RequestRejected",
    "SSEParser",
    "ServiceUnavailable",
    "check_response",
    "error_detail",
    "finished",
    "job_body",
    "job_path",
    "safe_file_name",
    "seeds_file",
    "settings_json",
    "unreachable",
]

DEFAULT_SERVER = "http://127.0.0.1:8700"
SERVER_ENV = "SYNTHGEN_SERVER"
TOKEN_ENV = "SYNTHGEN_TOKEN"
# Streams stay open while a job is queued or slow: no read timeout on them.
STREAM_TIMEOUT = httpx.Timeout(10.0, read=None)
CHUNK = 1 << 16
# Seconds a job's follower waits for a server that went away (a restart) before it gives up.
PATIENCE = 60.0
_RETRY_DELAY = 1.0


class RequestRejected(InputError):
    """The server refused the request (a 4xx): bad settings or seeds, a wrong token, a job
    that is not yours or does not exist. ``status`` is the HTTP status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class ServiceUnavailable(RunError):
    """The server could not be reached, or failed (a 5xx)."""


def settings_json(given: dict[str, Any]) -> dict[str, Any]:
    """Settings as JSON (paths as text), each as given: None too (language=None is off)."""
    return {k: str(v) if isinstance(v, PurePath) else v for k, v in given.items()}


def error_detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:300] or response.reason_phrase
    detail = body.get("detail") if isinstance(body, dict) else body
    if isinstance(detail, list):  # FastAPI's own validation errors
        return "; ".join(
            ".".join(str(p) for p in d.get("loc", ()) if p != "body") + f": {d.get('msg', '')}"
            if isinstance(d, dict)
            else str(d)
            for d in detail
        )
    return str(detail)


def check_response(response: httpx.Response) -> httpx.Response:
    """``response`` if it succeeded, else the synthgen error with the server's message."""
    if response.is_success:
        return response
    message = f"{error_detail(response)} (HTTP {response.status_code})"
    if response.status_code < 500:
        raise RequestRejected(message, response.status_code)
    raise ServiceUnavailable(f"the synthgen server failed: {message}")


def unreachable(server: str, error: httpx.TransportError) -> ServiceUnavailable:
    return ServiceUnavailable(
        f"cannot reach the synthgen server at {server}: {error or type(error).__name__}"
    )


def seeds_file(seeds: str | os.PathLike[str]) -> Path:
    path = Path(seeds)
    if not path.is_file():
        raise SeedError(f"{path}: no such file")
    return path


def job_path(job_id: str) -> str:
    """The job's URL path; an id is one path segment, whatever it holds."""
    return f"/v1/jobs/{quote(job_id, safe='')}"


def safe_file_name(name: str) -> str:
    """A job's file name, safe to write under the download folder: one plain name, never a
    path out of it (whoever named it, the caller or the server)."""
    if not name or PurePath(name).name != name or name in (".", "..") or "\\" in name:
        raise InputError(f"{name!r} is not the name of a job's file")
    return name


class SSEParser:
    """Server-Sent Events, line by line: ``feed`` returns (event, JobView) when one is whole."""

    def __init__(self) -> None:
        self.event = "message"
        self.data: list[str] = []

    def feed(self, line: str) -> tuple[str, JobView] | None:
        if line == "":
            event, data = self.event, self.data
            self.event, self.data = "message", []
            if data and event in ("progress", "end"):
                return event, JobView.model_validate_json("\n".join(data))
            return None
        if line.startswith(":"):
            return None  # a comment: a keep-alive
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            self.event = value
        elif field == "data":
            self.data.append(value)
        return None


class Outage:
    """The server's unavailability while a job is followed: :meth:`wait` says how long to
    sleep before trying again, or raises once it has lasted ``patience`` seconds."""

    def __init__(self, patience: float) -> None:
        self.patience = patience
        self.since: float | None = None

    def over(self) -> float:
        """The server answered; the delay before the stream is opened again."""
        self.since = None
        return _RETRY_DELAY

    def wait(self, error: ServiceUnavailable) -> float:
        now = time.monotonic()
        if self.since is None:
            self.since = now
        if now - self.since >= self.patience:
            raise error
        return _RETRY_DELAY


class ClientBase:
    def __init__(self, server: str | None, token: str | None) -> None:
        self.server = (server or os.environ.get(SERVER_ENV) or DEFAULT_SERVER).rstrip("/")
        parts = urlsplit(self.server)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"server {self.server!r}: use http://HOST:PORT (or https://)")
        token = token or os.environ.get(TOKEN_ENV) or None
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}

    def __repr__(self) -> str:  # never the token
        return f"{type(self).__name__}({self.server!r})"


def job_body(
    seeds: str | os.PathLike[str] | Sequence[dict[str, Any] | str],
    n: int,
    model: str | None,
    base_url: str | None,
    concurrency: int | None,
    api_key: str | None,
    settings: dict[str, Any],
) -> dict[str, Any]:
    """The JobCreate body, with ``file``: the seeds file to upload first, if any. The
    model, endpoint and concurrency left at None are the server's."""
    named = {"model": model, "base_url": base_url, "concurrency": concurrency}
    given = {"n": n, **{k: v for k, v in named.items() if v is not None}, **settings}
    body: dict[str, Any] = {"settings": settings_json(given)}
    if isinstance(seeds, (str, os.PathLike)):
        body["file"] = seeds_file(seeds)
    else:
        body["seeds"] = list(seeds)
    if api_key:
        body["api_key"] = api_key
    return body


def finished(view: JobView, check: bool) -> JobView:
    if check and view.state != "succeeded":
        raise RunError(f"job {view.id} {view.state}" + (f": {view.error}" if view.error else ""))
    return view
