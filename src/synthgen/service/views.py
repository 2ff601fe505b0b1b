"""What the API shows of a job: its stored row, with the live counts of a running one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from synthgen.service.api_models import JobView, Progress

if TYPE_CHECKING:
    from synthgen.service.live import LiveJob
    from synthgen.service.store import JobRecord

__all__ = ["job_view", "shown"]

_URLS = ("base_url", "judge_base_url")


def shown(settings: dict[str, Any]) -> dict[str, Any]:
    """A job's stored settings as shown: endpoints without credentials."""
    from synthgen.teacher.urls import public_endpoint

    data = dict(settings)
    for name in _URLS:
        if isinstance(data.get(name), str) and data[name]:
            data[name] = public_endpoint(data[name])
    return data


def job_view(record: JobRecord, live: LiveJob | None = None) -> JobView:
    progress = live.snapshot if live is not None else None
    if progress is None:
        progress = record.progress or {"n": int(record.settings.get("n", 0))}
    return JobView(
        id=record.id,
        owner=record.owner,
        state=record.state,  # type: ignore[arg-type]  # the store holds only JobState values
        created_at=record.created_at,
        started_at=record.started_at,
        finished_at=record.finished_at,
        error=record.error,
        settings=shown(record.settings),
        files=record.files,
        progress=Progress.model_validate(progress),
    )
