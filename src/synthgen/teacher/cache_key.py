"""Cache keys: the sha256 of everything that shapes a reply, and never of a credential."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["cache_key", "refuse_secrets"]

# Names compared after lower-casing and "-" -> "_"; "x_api_key" etc. are caught by the suffix.
_SECRET_NAMES = frozenset(
    {"api_key", "apikey", "authorization", "proxy_authorization", "headers", "extra_headers"}
)


def _is_secret_name(name: str) -> bool:
    norm = name.lower().replace("-", "_")
    return norm in _SECRET_NAMES or norm.endswith("api_key")


def refuse_secrets(obj: Any, where: str, *, property_names: bool = False) -> None:
    """Raise ValueError if any mapping key anywhere in ``obj`` names a secret.

    Keys directly under a JSON-schema ``properties`` map are field names of the reply model
    (a reply may well have a ``headers`` field), so they are not checked; their values are.
    """
    if isinstance(obj, Mapping):
        for k, v in obj.items():
            name = str(k)
            if not property_names and _is_secret_name(name):
                raise ValueError(
                    f"refusing to {where} a field named {name!r}: credentials and headers must "
                    "never be hashed into cache keys or stored in the cache"
                )
            refuse_secrets(v, where, property_names=name == "properties" and not property_names)
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            refuse_secrets(item, where)


def _json_default(obj: Any) -> Any:
    dump = getattr(obj, "model_dump", None)  # pydantic models (Message, reply schemas)
    if callable(dump):
        return dump(mode="json")
    raise TypeError(f"cache_key: cannot serialise {type(obj).__name__} to canonical JSON")


def cache_key(parts: Mapping[str, Any]) -> str:
    """sha256 hex of the canonical JSON of ``parts``.

    Pass everything that shapes the reply: endpoint, model, the fully rendered messages
    (system prompt included), sampling params, response_format, request ordinal and run seed.
    Raises ValueError if a field is named like a credential (api_key, authorization, headers).
    """
    refuse_secrets(parts, "hash")
    text = json.dumps(
        parts,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_json_default,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
