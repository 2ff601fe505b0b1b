"""Base URLs: checked before a run, and never stored or shown with credentials in them.

A base URL may carry credentials (``http://user:PASS@host/v1`` for a gateway behind basic
auth, ``?api-key=...`` for some hosted endpoints). They are sent to that endpoint only;
everything synthgen stores or shows (reports, the dataset card, ``job.json``, messages, the
cache key) uses :func:`public_endpoint`, which drops the userinfo and masks secret-looking
query values.
"""

from __future__ import annotations

import base64
import re
from urllib.parse import unquote, urlsplit, urlunsplit

from synthgen.errors import ConfigError

__all__ = [
    "authorization_header",
    "chat_url",
    "host_of",
    "public_endpoint",
    "url_secrets",
    "validate_base_url",
]

# Query parameters whose values are credentials (api-key, key, token, sig, X-Amz-Signature..).
_SECRET_PARAM = re.compile(r"key|token|secret|pass|pwd|auth|sig|credential|session", re.I)
_SCHEMES = ("http", "https")


def validate_base_url(url: str) -> str:
    """``url`` cleaned up (spaces and trailing slashes removed), or ConfigError saying what is
    wrong with it: not http(s), no scheme, no host, a bad port or IPv6 literal, spaces, or the
    full ``/chat/completions`` URL instead of the API root. Messages never show credentials."""
    text = url.strip() if isinstance(url, str) else ""
    if not text:
        raise ConfigError("the base URL is empty: give the API root, e.g. http://localhost:8000/v1")
    shown = public_endpoint(text)
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in text):
        raise ConfigError(f"base URL {shown!r} is not a URL: it contains spaces or control codes")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - parsing the port is what raises for a bad one
    except ValueError as e:
        raise ConfigError(f"base URL {shown!r} is not a valid URL: {e}") from None
    scheme = parts.scheme.lower()
    if "://" not in text:
        raise ConfigError(
            f"base URL {shown!r} has no scheme: write http://{shown.lstrip('/')} "
            "(or https:// for a remote endpoint)"
        )
    if scheme not in _SCHEMES:
        raise ConfigError(
            f"base URL {shown!r} uses {scheme}://, but a teacher is reached over http:// or "
            "https:// (e.g. http://localhost:8000/v1)"
        )
    if not parts.hostname:
        raise ConfigError(f"base URL {shown!r} has no host (e.g. http://localhost:8000/v1)")
    path = parts.path.rstrip("/")
    if path.endswith("/chat/completions"):
        root = public_endpoint(
            urlunsplit((scheme, parts.netloc, path[: -len("/chat/completions")], "", ""))
        )
        raise ConfigError(
            f"base URL {shown!r} is the full chat-completions URL: give the API root, {root!r}"
        )
    return urlunsplit((scheme, parts.netloc, path, parts.query, ""))


def public_endpoint(url: str) -> str:
    """``url`` as it may be stored and shown: no userinfo, secret-looking query values
    masked, no fragment. ``http://u:PASS@h/v1?api-key=K&v=2`` -> ``http://h/v1?api-key=***&v=2``."""
    from synthgen.redact import redact

    try:
        parts = urlsplit(url.strip())
    except ValueError:
        # Not parseable: cut everything that could hold userinfo or a query.
        return redact(re.sub(r"//[^/@]*@", "//", url.strip()).split("?", 1)[0])
    netloc = parts.netloc.rpartition("@")[2]
    pairs = []
    for pair in parts.query.split("&") if parts.query else ():
        name, eq, _ = pair.partition("=")
        pairs.append(f"{name}=***" if eq and _SECRET_PARAM.search(unquote(name)) else pair)
    return redact(urlunsplit((parts.scheme, netloc, parts.path, "&".join(pairs), "")))


def host_of(url: str) -> str:
    """The host[:port] of an endpoint, for messages (never userinfo, a path or a query)."""
    try:
        netloc = urlsplit(url.strip()).netloc.rpartition("@")[2]
    except ValueError:
        netloc = ""
    return netloc or public_endpoint(url)


def url_secrets(url: str) -> list[str]:
    """The credentials inside ``url`` (password, the basic-auth token made from it, secret
    query values), to register for redaction."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    found = []
    if parts.password:
        user, password = unquote(parts.username or ""), unquote(parts.password)
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        found += [parts.password, password, token]
    for pair in parts.query.split("&") if parts.query else ():
        name, eq, value = pair.partition("=")
        if eq and value and _SECRET_PARAM.search(unquote(name)):
            found += [value, unquote(value)]
    return found


def chat_url(base_url: str) -> str:
    """The chat-completions URL under ``base_url``, its query kept (``/v1?x=1`` ->
    ``/v1/chat/completions?x=1``) and its userinfo dropped (sent as a header instead)."""
    parts = urlsplit(base_url)
    netloc = parts.netloc.rpartition("@")[2]
    path = parts.path.rstrip("/") + "/chat/completions"
    return urlunsplit((parts.scheme, netloc, path, parts.query, ""))


def authorization_header(base_url: str, api_key: str | None) -> str | None:
    """The Authorization header for ``base_url``: basic auth from credentials inside it (they
    win: the user put them there for this endpoint, and httpx does the same), else the key
    as a bearer token, else None."""
    parts = urlsplit(base_url)
    if parts.username is not None or parts.password is not None:
        pair = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
        return "Basic " + base64.b64encode(pair.encode()).decode("ascii")
    return f"Bearer {api_key}" if api_key else None
