"""What the endpoints share: the store, the data folder, the scheduler, the tokens and the
limits, and the two dependencies every endpoint takes (the service, the caller's name)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import HTTPException, Request

from synthgen.service.auth import COOKIE, LOCAL_OWNER, bearer

if TYPE_CHECKING:
    from synthgen.service.auth import Tokens
    from synthgen.service.files import DataDir
    from synthgen.service.metrics import ServiceMetrics
    from synthgen.service.scheduler import Scheduler
    from synthgen.service.store import JobStore

__all__ = ["Limits", "Service", "owner_of", "service_of"]

MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    upload_bytes: int = 100 * MIB  # one seeds file
    body_bytes: int = 20 * MIB  # any other request body (inline seeds)


@dataclass
class Service:
    store: JobStore
    data: DataDir
    scheduler: Scheduler
    metrics: ServiceMetrics
    tokens: Tokens | None
    limits: Limits


def service_of(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def owner_of(request: Request) -> str:
    """The caller's name: from ``Authorization: Bearer`` or the page's cookie; every job is
    the local user's on a server without tokens."""
    tokens = service_of(request).tokens
    if tokens is None:
        return LOCAL_OWNER
    token = bearer(request.headers.get("authorization")) or request.cookies.get(COOKIE)
    owner = tokens.owner(token)
    if owner is None:
        raise HTTPException(
            401,
            "a token is required: Authorization: Bearer TOKEN" if not token else "wrong token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return owner
