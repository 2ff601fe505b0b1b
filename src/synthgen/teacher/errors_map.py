"""Turning an HTTP status into a TeacherError, shared by both backends."""

from __future__ import annotations

from collections.abc import Mapping

from synthgen.errors import TeacherError, TeacherFatalError


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """The server's Retry-After hint (``retry-after-ms`` first, as OpenAI sends both)."""
    if not headers:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value:
            try:
                return max(0.0, float(value) * scale)
            except ValueError:
                continue  # an HTTP date: rare enough to fall back to our own backoff
    return None


def status_error(
    status: int, *, model: str, where: str, retry_after: float | None = None, detail: str = ""
) -> TeacherError:
    """The TeacherError for an HTTP status. ``where`` is the endpoint host, never a URL
    with a query string, and ``detail`` is the server's message, never our request."""
    detail = f": {detail[:200]}" if detail else ""
    if status in (401, 403):
        return TeacherFatalError(
            f"the teacher at {where} refused the API key for model {model!r} (HTTP {status}): "
            "check OPENAI_API_KEY or the provider's key variable",
            kind="auth",
            status=status,
        )
    if status == 404:
        return TeacherFatalError(
            f"model {model!r} was not found at {where} (HTTP 404): check --model and --base-url",
            kind="not_found",
            status=status,
        )
    if status == 429:
        return TeacherError(
            f"rate limited by {where} (HTTP 429)",
            kind="rate_limit",
            status=429,
            retry_after=retry_after,
        )
    if status == 408 or status >= 500:
        return TeacherError(
            f"{where} failed with HTTP {status}{detail}",
            kind="server",
            status=status,
            retry_after=retry_after,
        )
    return TeacherError(
        f"{where} rejected the request with HTTP {status}{detail}",
        kind="bad_request",
        status=status,
    )
