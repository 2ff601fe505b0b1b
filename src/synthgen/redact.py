"""Keeping secrets out of every message synthgen prints or writes.

Three nets, widest last: the actual secret values in use (registered by the teacher backends
when they are built: API keys, organisation and project ids, credentials inside a base URL),
the values of environment variables whose names say they are secrets, and the shapes of common
provider keys. A pattern alone is not enough: a local gateway's key can look like anything,
and a server that echoes the request's ``Authorization`` header puts it in its error message.
"""

from __future__ import annotations

import logging
import os
import re
import threading

__all__ = ["RedactFilter", "redact", "redact_registered", "register_secret", "secret_values"]

_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL)", re.IGNORECASE)
# Shapes of common provider keys, for secrets that never passed through our environment, and
# any bearer token, whatever its shape.
_SECRET_SHAPE = re.compile(
    r"\b(sk-[A-Za-z0-9_\-]{8,}|sk-ant-[A-Za-z0-9_\-]{8,}|AIza[0-9A-Za-z_\-]{20,})"
    r"|(?<=Bearer )[A-Za-z0-9._~+/=\-]{8,}",
    re.IGNORECASE,
)
# Shorter values would turn ordinary words into "***" everywhere; no real key is this short.
MIN_SECRET_LENGTH = 4

_registered: set[str] = set()
_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Redact ``value`` from every string synthgen shows or writes, for the rest of the
    process. Backends call this with each key or credential they are given."""
    if value and len(value) >= MIN_SECRET_LENGTH:
        with _lock:
            _registered.add(value)


def secret_values() -> list[str]:
    """The registered secrets and the values of environment variables whose names say they
    are secrets, longest first (so a key is replaced before a shorter one inside it)."""
    env = (v for k, v in os.environ.items() if _SECRET_NAME.search(k) and len(v) >= 6)
    with _lock:
        values = set(_registered)
    values.update(env)
    return sorted(values, key=len, reverse=True)


def redact_registered(text: str) -> str:
    """``text`` with only the registered secrets replaced: for teacher replies, which are
    data (a pattern would mangle an example about API keys) but must never carry our key."""
    with _lock:
        values = sorted(_registered, key=len, reverse=True)
    for value in values:
        if value in text:
            text = text.replace(value, "***")
    return text


def redact(text: str) -> str:
    """``text`` with every known secret value and every key-shaped string replaced by ***."""
    for value in secret_values():
        if value in text:
            text = text.replace(value, "***")
    return _SECRET_SHAPE.sub("***", text)


class RedactFilter(logging.Filter):
    """A logging filter that redacts each record's final message.

    Attach it to a handler (``handler.addFilter(RedactFilter())``): a filter on a logger sees
    only records logged on that very logger, not those of its children.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True
