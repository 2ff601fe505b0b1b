"""Turning an HTTP status and the server's error body into a TeacherError, for every backend.

What decides the kind is whether sending the same request again can help: a 4xx (other than
408/409/429) or a 5xx whose body is a validation error will get the same answer every time,
so it is ``bad_request`` and not retried (llama-cpp-python answers an unsupported
``response_format`` with HTTP 500 and a pydantic validation message; retrying it 7 times per
request wasted a whole run). Out of credit (402, or 429 ``insufficient_quota``) stops the run
like a refused key: no amount of waiting buys more credit.
"""

from __future__ import annotations

import email.utils
import json
import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass

from synthgen.errors import TeacherError, TeacherFatalError

log = logging.getLogger("synthgen")

# Longer hints are capped, not obeyed: Retry-After: 999999 made each retry wait 300 s.
MAX_RETRY_AFTER = 60.0
# How much of an error body is read and searched; the message shown is shorter still.
ERROR_BODY_LIMIT = 64 * 1024
_DETAIL_SHOWN = 300

_VALIDATION_MARKERS = (
    "validation error",  # pydantic (llama-cpp-python, FastAPI servers)
    "[type=",  # pydantic's error details
    "input should be",
    "field required",
    "extra inputs are not permitted",
    "unprocessable",
    "is not valid under any of the given schemas",  # jsonschema (vLLM, LiteLLM proxy)
)
_QUOTA_MARKERS = ("insufficient_quota", "exceeded your current quota", "insufficient credit")


@dataclass(frozen=True)
class ErrorBody:
    """What an error reply says: the server's message and its error code or type."""

    message: str = ""
    code: str = ""


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """The server's Retry-After hint (``retry-after-ms`` first, as OpenAI sends both), in
    seconds, capped at MAX_RETRY_AFTER; an HTTP date counts from now."""
    if not headers:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if not value:
            continue
        seconds: float | None
        try:
            seconds = float(value) * scale
        except ValueError:
            seconds = _seconds_until(value)
        if seconds is None or math.isnan(seconds):
            continue
        if seconds > MAX_RETRY_AFTER:
            log.info("the server asked to wait %s s; waiting %g s at most", value, MAX_RETRY_AFTER)
        return min(max(0.0, seconds), MAX_RETRY_AFTER)
    return None


def _seconds_until(http_date: str) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(http_date)
    except (TypeError, ValueError, IndexError):
        return None
    return when.timestamp() - time.time()


def read_error_body(body: bytes | str | object) -> ErrorBody:
    """The message and code of an error reply in any common shape: OpenAI's
    ``{"error": {"message", "code", "type"}}``, ``{"error": "text"}``, FastAPI's
    ``{"detail": [{"loc", "msg"}]}``, ``{"message": ...}``, or plain text."""
    data: object = body
    if isinstance(body, bytes):
        body = body[:ERROR_BODY_LIMIT].decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            return ErrorBody(message=" ".join(body.split())[:ERROR_BODY_LIMIT])
    if not isinstance(data, dict):
        return ErrorBody()
    err = data.get("error", data)
    if isinstance(err, str):
        return ErrorBody(message=err)
    if not isinstance(err, dict):
        return ErrorBody()
    code = next((str(err[k]) for k in ("code", "type") if isinstance(err.get(k), str)), "")
    detail = err.get("detail")
    if isinstance(err.get("message"), str):
        message = str(err["message"])
    elif isinstance(detail, list):  # FastAPI / pydantic: where each problem is, and what
        message = "; ".join(_fastapi_item(item) for item in detail[:10])
    elif isinstance(detail, str):
        message = detail
    else:
        message = ""
    return ErrorBody(message=message, code=code.lower())


def _fastapi_item(item: object) -> str:
    if not isinstance(item, dict):
        return str(item)[:200]
    loc = item.get("loc")
    where = ".".join(str(p) for p in loc) if isinstance(loc, list) else ""
    return f"{where}: {item.get('msg', '')}" if where else str(item.get("msg", ""))


def is_validation_error(body: ErrorBody) -> bool:
    text = body.message.lower()
    return any(marker in text for marker in _VALIDATION_MARKERS)


def status_error(
    status: int,
    *,
    model: str,
    where: str,
    retry_after: float | None = None,
    body: ErrorBody | None = None,
) -> TeacherError:
    """The TeacherError for an HTTP status. ``where`` is the endpoint host, never a URL
    with a query string; the server's message goes in (redacted, bounded) as ``detail``."""
    body = body or ErrorBody()
    detail = " ".join(body.message.split())
    # Redacted before it is cut: a cut could leave half a key that no longer matches.
    from synthgen.redact import redact

    detail = redact(detail)
    said = f": {detail[:_DETAIL_SHOWN]}" if detail else ""
    if status in (401, 403):
        return TeacherFatalError(
            f"the teacher at {where} refused the API key for model {model!r} (HTTP {status}): "
            "check OPENAI_API_KEY or the provider's key variable",
            kind="auth",
            status=status,
            detail=detail,
        )
    if status == 404:
        return TeacherFatalError(
            f"model {model!r} was not found at {where} (HTTP 404): check the model name and "
            "the base URL",
            kind="not_found",
            status=status,
            detail=detail,
        )
    if status == 402 or (status == 429 and _out_of_quota(body)):
        return TeacherFatalError(
            f"the account behind the API key at {where} is out of credit or quota "
            f"(HTTP {status}{', insufficient_quota' if status == 429 else ''}): add credit "
            "or raise the limit in the provider's billing settings, then run again to resume"
            f"{said}",
            kind="quota",
            status=status,
            detail=detail,
        )
    if status == 429:
        return TeacherError(
            f"rate limited by {where} (HTTP 429)",
            kind="rate_limit",
            retry_after=retry_after,
            status=status,
            detail=detail,
        )
    if status >= 500 and is_validation_error(body):
        return TeacherError(
            f"{where} rejected the request with HTTP {status} (a validation error: sending it "
            f"again cannot help){said}",
            kind="bad_request",
            status=status,
            detail=detail,
        )
    if status in (408, 409) or status >= 500:
        return TeacherError(
            f"{where} failed with HTTP {status}{said}",
            kind="server",
            retry_after=retry_after,
            status=status,
            detail=detail,
        )
    return TeacherError(
        f"{where} rejected the request with HTTP {status}{said}",
        kind="bad_request",
        status=status,
        detail=detail,
    )


def _out_of_quota(body: ErrorBody) -> bool:
    text = f"{body.code} {body.message}".lower()
    return any(marker in text for marker in _QUOTA_MARKERS)


def unparsable_reply(raw: bytes | str, where: str, content_type: str) -> TeacherError:
    """The error for a 200 whose body does not parse. Cut JSON (it starts like an object) or
    an empty body is a broken reply worth retrying; anything else (an HTML page, plain text)
    means this URL is not a chat-completions API, and asking again gets the same page."""
    head = raw[:64].strip()
    if not head or (head[:1] in (b"{", b"[", "{", "[") and "html" not in content_type.lower()):
        return TeacherError(f"{where} sent a malformed response (cut or empty)", kind="server")
    what = content_type.split(";")[0].strip() or "no content type"
    return TeacherError(
        f"{where} answered with something that is not JSON ({what}), not a chat completion: "
        "the base URL is probably wrong; it should be the API root that serves "
        "/chat/completions, usually ending in /v1",
        kind="not_json",
    )
