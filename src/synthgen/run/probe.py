"""Telling "the server is not there" from a dropped connection, in seconds.

The most common misconfiguration (a wrong port, a server not started) once ran for minutes,
every request retried with backoff, and ended with an empty dataset. So when a request cannot
connect before the endpoint has answered once in this run, a plain TCP connection to its host
and port is tried: if that fails too, the run stops at once, saying what to check; if it
opens, the error was a passing one and the request is retried as usual.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import urllib.request
from urllib.parse import urlsplit

from synthgen.errors import TeacherFatalError
from synthgen.settings.naming import setting

__all__ = ["PROBE_TIMEOUT", "unreachable"]

PROBE_TIMEOUT = 5.0
_OPENAI_HOST = "api.openai.com"


async def unreachable(endpoint: str, timeout: float = PROBE_TIMEOUT) -> TeacherFatalError | None:
    """The error to stop the run with when no TCP connection to ``endpoint`` (a public
    endpoint URL) opens; None when one does, or when that cannot be told here (not a URL, or
    the connection goes through a proxy)."""
    try:
        parts = urlsplit(endpoint)
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not host or _proxied(endpoint):
        return None
    port = port or (443 if parts.scheme == "https" else 80)
    why = await _connect(host, port, timeout)
    if why is None:
        return None
    where = f"{host}:{port}"
    if host == _OPENAI_HOST:
        advice = "check this machine's network connection (and HTTPS_PROXY, if it needs one)"
    else:
        advice = (
            f"is the server running? is the port right? (check {setting('base_url')}; "
            "nothing was sent)"
        )
    return TeacherFatalError(f"cannot connect to {where} ({why}): {advice}", kind="connection")


async def _connect(host: str, port: int, timeout: float) -> str | None:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except ConnectionRefusedError:
        return "connection refused"
    except socket.gaierror:
        return f"the host name {host!r} does not resolve"
    except (TimeoutError, asyncio.TimeoutError):
        return f"no answer within {timeout:g}s"
    except OSError as e:
        return e.strerror or type(e).__name__
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return None


def _proxied(url: str) -> bool:
    """Whether HTTP(S)_PROXY sends requests to ``url`` through a proxy (the transports honour
    it): then a direct connection says nothing."""
    parts = urlsplit(url)
    proxies = urllib.request.getproxies()
    if not proxies.get(parts.scheme) and not proxies.get("all"):
        return False
    return not urllib.request.proxy_bypass(parts.hostname or "")
