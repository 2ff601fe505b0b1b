"""The /v1 endpoints: uploads, jobs, their files, examples and event streams."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, HTTPException, Query, Request, UploadFile
from fastapi.responses import FileResponse, Response, StreamingResponse

from synthgen.errors import ConfigError
from synthgen.service.api_models import (
    TERMINAL_STATES,
    ErrorView,
    ExampleItem,
    ExamplesPage,
    FileView,
    JobCreate,
    JobList,
    JobState,
    JobView,
    Split,
)
from synthgen.service.auth import ADMIN
from synthgen.service.files import checked, new_id, safe_name
from synthgen.service.service import Service, owner_of, service_of
from synthgen.service.store import FileRecord, JobRecord
from synthgen.service.views import job_view

__all__ = ["router"]

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorView} for code in (401, 404, 413, 422)
}
router = APIRouter(prefix="/v1", responses=_ERRORS)
Owner = Annotated[str, Depends(owner_of)]
Svc = Annotated[Service, Depends(service_of)]
EVENT_MIN_GAP = 0.25  # at most four progress events a second per stream
KEEPALIVE = 15.0


def _visible(owner: str, record_owner: str) -> bool:
    return owner in (ADMIN, record_owner)


async def _job(svc: Service, owner: str, job_id: str) -> JobRecord:
    record = await asyncio.to_thread(svc.store.get_job, job_id)
    if record is None or not _visible(owner, record.owner):
        raise HTTPException(404, f"no job {job_id!r}")
    return record


@router.post("/files", status_code=201, response_model=FileView)
async def upload(svc: Svc, owner: Owner, file: Annotated[UploadFile, File()]) -> FileView:
    """A seeds file (multipart field ``file``), read with synthgen's seed readers now."""
    name = safe_name(file.filename or "upload")
    limit = svc.limits.upload_bytes

    def chunks() -> Any:
        size = 0
        while chunk := file.file.read(1 << 20):
            size += len(chunk)
            if size > limit:
                raise HTTPException(413, f"{name}: larger than the {limit:,}-byte upload limit")
            yield chunk

    file_id, path, size, examples = await asyncio.to_thread(svc.data.store_upload, name, chunks())
    record = FileRecord(file_id, owner, name, size, examples, path.name, time.time())
    await asyncio.to_thread(svc.store.add_file, record)
    return FileView(id=file_id, name=name, bytes=size, examples=examples)


@router.post("/jobs", status_code=201, response_model=JobView)
async def create_job(svc: Svc, owner: Owner, body: JobCreate) -> JobView:
    """Queue a job: its settings are checked by Settings and its seeds read, now."""
    from synthgen.run.expand import prepare
    from synthgen.service.job_settings import job_settings

    job_id = new_id("job")
    settings, stored = job_settings(body.settings, svc.data.out_dir(job_id))
    _check_key(settings, body.api_key)
    if body.file_id is not None:
        upload = await asyncio.to_thread(svc.store.get_file, body.file_id)
        if upload is None or not _visible(owner, upload.owner):
            raise HTTPException(404, f"file_id {body.file_id!r}: no such upload")
        staged = svc.data.upload_path(upload.id, upload.path)
        shown = upload.name
    else:
        staged = await asyncio.to_thread(svc.data.write_inline, body.seeds or [])
        shown = "seeds"
    try:
        await asyncio.to_thread(checked, lambda: prepare(staged, settings), staged, shown)
        name = svc.data.adopt(staged, job_id)
    except BaseException:
        svc.data.discard_staged(staged)
        raise
    record = JobRecord(
        id=job_id,
        owner=owner,
        state="queued",
        created_at=time.time(),
        settings=stored,
        seeds=name,
        has_key=body.api_key is not None,
        progress={"n": settings.n},
    )
    if body.api_key is not None:
        svc.scheduler.remember_key(job_id, body.api_key)
    try:
        await asyncio.to_thread(svc.store.add_job, record)
    except BaseException:
        svc.data.remove_job(job_id)
        raise
    svc.scheduler.wake()
    return job_view(record)


def _check_key(settings: Any, api_key: str | None) -> None:
    from synthgen.redact import register_secret
    from synthgen.teacher import check_credentials, route

    if api_key is None:
        if not settings.demo:
            check_credentials(settings.model, settings.base_url)
        return
    register_secret(api_key)  # never in a message, a log or a stored error
    if route(settings.model, settings.base_url) != "openai":
        raise ConfigError(
            "api_key: a key sent with a job is for OpenAI and OpenAI-compatible endpoints; "
            f"for {settings.model!r} the server's environment must hold the provider's key"
        )


@router.get("/jobs", response_model=JobList)
async def list_jobs(
    svc: Svc,
    owner: Owner,
    state: JobState | None = None,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> JobList:
    records, total = await asyncio.to_thread(
        svc.store.list_jobs,
        owner=None if owner == ADMIN else owner,
        state=state,
        offset=offset,
        limit=limit,
    )
    jobs = [job_view(r, svc.scheduler.live.get(r.id)) for r in records]
    return JobList(jobs=jobs, total=total, offset=offset, limit=limit)


@router.get("/jobs/{job_id}", response_model=JobView)
async def get_job(svc: Svc, owner: Owner, job_id: str) -> JobView:
    record = await _job(svc, owner, job_id)
    return job_view(record, svc.scheduler.live.get(job_id))


@router.post("/jobs/{job_id}/cancel", response_model=JobView)
async def cancel_job(svc: Svc, owner: Owner, job_id: str) -> JobView:
    await _job(svc, owner, job_id)
    await svc.scheduler.cancel(job_id)
    return job_view(await _job(svc, owner, job_id), svc.scheduler.live.get(job_id))


@router.delete("/jobs/{job_id}", status_code=204, response_class=Response)
async def delete_job(svc: Svc, owner: Owner, job_id: str) -> Response:
    record = await _job(svc, owner, job_id)
    if record.state not in TERMINAL_STATES:
        await svc.scheduler.cancel(job_id)
    await asyncio.to_thread(svc.store.delete_job, job_id)
    await asyncio.to_thread(svc.data.remove_job, job_id)
    return Response(status_code=204)


@router.get(
    "/jobs/{job_id}/files/{name:path}",
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def job_file(svc: Svc, owner: Owner, job_id: str, name: str) -> FileResponse:
    record = await _job(svc, owner, job_id)
    # Only names from the job's own list: nothing a client writes becomes a path.
    path = svc.data.job_file(job_id, name) if name in record.files else None
    if path is None:
        listed = ", ".join(record.files) or "none yet"
        raise HTTPException(404, f"no file {name[:100]!r} in job {job_id} (files: {listed})")
    kind = "application/json" if name.endswith(".json") else None
    return FileResponse(path, filename=name, media_type=kind)


@router.get("/jobs/{job_id}/examples", response_model=ExamplesPage)
async def examples(
    svc: Svc,
    owner: Owner,
    job_id: str,
    split: Split = "train",
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> ExamplesPage:
    await _job(svc, owner, job_id)
    total, items = await asyncio.to_thread(svc.data.examples, job_id, split, offset, limit)
    page = [ExampleItem.model_validate(i) for i in items]
    return ExamplesPage(split=split, offset=offset, limit=limit, total=total, items=page)


@router.get(
    "/jobs/{job_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def events(svc: Svc, owner: Owner, job_id: str, request: Request) -> StreamingResponse:
    """Server-Sent Events: ``progress`` (a JobView) at connect and whenever the job moves,
    ``end`` (the final JobView) when it reaches a terminal state."""
    await _job(svc, owner, job_id)
    return StreamingResponse(
        _stream(svc, owner, job_id, request),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _stream(svc: Service, owner: str, job_id: str, request: Request) -> AsyncIterator[str]:
    last = ""
    quiet_since = time.monotonic()
    while True:
        try:
            view = await get_job(svc, owner, job_id)
        except HTTPException:  # deleted meanwhile
            return
        data = view.model_dump_json()
        if view.state in TERMINAL_STATES:
            if data != last:
                yield _event("progress", data)
            yield _event("end", data)
            return
        if data != last:
            yield _event("progress", data)
            last, quiet_since = data, time.monotonic()
        elif time.monotonic() - quiet_since > KEEPALIVE:
            yield ": keep-alive\n\n"
            quiet_since = time.monotonic()
        await asyncio.sleep(EVENT_MIN_GAP)
        await svc.scheduler.changed.wait(timeout=1.0)
        if await request.is_disconnected():
            return


def _event(name: str, data: str) -> str:
    return f"event: {name}\ndata: {data}\n\n"
