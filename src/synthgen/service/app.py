"""create_app: the FastAPI application of ``synthgen serve`` (the /v1 API, /healthz,
/metrics and the web page), its lifespan starting and stopping the scheduler."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from synthgen._version import __version__
from synthgen.errors import InputError
from synthgen.redact import redact
from synthgen.service.api_models import Health
from synthgen.service.auth import Tokens
from synthgen.service.limits import BodyLimit
from synthgen.service.service import Limits, Service

__all__ = ["create_app"]


def create_app(
    data_dir: str | Path,
    *,
    db: str | None = None,
    tokens: Tokens | None = None,
    max_jobs: int = 2,
    limits: Limits | None = None,
) -> FastAPI:
    """The service over ``data_dir`` (job folders, uploads, the SQLite store unless ``db``
    names a PostgreSQL database)."""
    from synthgen.service.files import DataDir
    from synthgen.service.metrics import ServiceMetrics
    from synthgen.service.routes import router
    from synthgen.service.scheduler import Scheduler
    from synthgen.service.store import open_store

    data = DataDir(Path(data_dir))
    store = open_store(db, data.root)
    metrics = ServiceMetrics()
    service = Service(
        store=store,
        data=data,
        scheduler=Scheduler(store, data, max_jobs=max_jobs, metrics=metrics),
        metrics=metrics,
        tokens=tokens,
        limits=limits or Limits(),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await service.scheduler.start()
        try:
            yield
        finally:
            await service.scheduler.stop()
            store.close()

    app = FastAPI(
        title="synthgen",
        version=__version__,
        description="Generation jobs on the synthgen engine: submit, watch, download.",
        lifespan=lifespan,
    )
    app.state.service = service
    app.add_middleware(BodyLimit, limits=service.limits, metrics=metrics)
    _errors(app)
    app.include_router(router)

    @app.get("/healthz", response_model=Health)
    async def healthz() -> Health:
        return Health(version=__version__)

    @app.get("/metrics", response_class=Response, include_in_schema=False)
    async def metrics_text() -> Response:
        by_state = await asyncio.to_thread(store.count_by_state)
        body = metrics.render(by_state, len(service.scheduler.live))
        return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")

    from synthgen.service.web import add_web

    add_web(app)
    return app


def _errors(app: FastAPI) -> None:
    """Every refusal is a JSON ``{"detail": one line}`` naming the field or file."""

    @app.exception_handler(InputError)
    async def input_error(request: Request, e: InputError) -> JSONResponse:
        return JSONResponse({"detail": redact(str(e))}, status_code=422)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, e: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": validation_line(e.errors())}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, e: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"detail": redact(str(e.detail))}, status_code=e.status_code, headers=e.headers
        )


def validation_line(errors: Any) -> str:
    """pydantic's first error as one line: where (body.settings.n, query.limit) and what."""
    if not errors:
        return "invalid request"
    first = errors[0]
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
    message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    if first.get("type") == "json_invalid":
        return f"malformed JSON: {first.get('ctx', {}).get('error', message)}"
    return f"{where}: {message}"
