"""Bearer tokens from ``--tokens FILE`` (``name:token`` per line), kept as SHA-256 digests
and compared in constant time. Each name owns its jobs; the name ``admin`` sees all."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from synthgen.errors import ConfigError

__all__ = ["ADMIN", "COOKIE", "LOCAL_OWNER", "Tokens"]

ADMIN = "admin"
LOCAL_OWNER = "local"  # the owner of every job on a server without tokens
COOKIE = "synthgen_token"
_MIN_TOKEN = 16


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


class Tokens:
    def __init__(self, entries: dict[str, str]) -> None:
        """``entries``: name -> token; only digests are kept."""
        self._digests = [(name, _digest(token)) for name, token in entries.items()]

    @classmethod
    def load(cls, path: Path) -> Tokens:
        """Read FILE; ConfigError naming ``FILE:LINE`` for a line that is not ``name:token``,
        a token shorter than 16 characters, or a name or token given twice."""
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            reason = getattr(e, "strerror", None) or "not UTF-8 text"
            raise ConfigError(f"--tokens {path}: cannot be read ({reason})") from None
        entries: dict[str, str] = {}
        for number, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            name, sep, token = (p.strip() for p in line.partition(":"))
            where = f"--tokens {path}:{number}"
            if not sep or not name or not token:
                raise ConfigError(f"{where}: expected name:token")
            if len(token) < _MIN_TOKEN:
                raise ConfigError(f"{where}: the token is shorter than {_MIN_TOKEN} characters")
            if name in entries or token in entries.values():
                raise ConfigError(f"{where}: name or token given twice")
            entries[name] = token
        if not entries:
            raise ConfigError(f"--tokens {path}: no name:token lines")
        return cls(entries)

    def owner(self, token: str | None) -> str | None:
        """The name a token belongs to, or None. Every entry is compared, so the time taken
        says nothing about which one (or how much of one) matched."""
        if not token:
            return None
        given = _digest(token)
        found = None
        for name, digest in self._digests:
            if hmac.compare_digest(given, digest):
                found = name
        return found


def bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None
