"""The job store: one small interface, two backends (SQLite under the data folder, the
embedded default; PostgreSQL for several API processes). Rows hold what a job needs to be
run again after a restart (owner, state, settings, where its seeds are), never an API key."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

__all__ = ["FileRecord", "JobRecord", "JobStore", "open_store"]


@dataclass
class JobRecord:
    id: str
    owner: str
    state: str
    created_at: float
    settings: dict[str, Any]  # the job's settings as given and resolved (no out_dir, no key)
    seeds: str  # the seeds file's name inside the job's folder
    has_key: bool = False  # the job came with an API key (held in memory only, never here)
    started_at: float | None = None
    finished_at: float | None = None
    error: str | None = None
    progress: dict[str, Any] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    seq: int = 0  # submission order, set by the store


@dataclass
class FileRecord:
    id: str
    owner: str
    name: str
    bytes: int
    examples: int
    path: str  # the stored file's name inside its folder under the data folder
    created_at: float


# Columns of the jobs table, in the order the backends read them.
JOB_COLUMNS = (
    "id, owner, state, created_at, settings, seeds, has_key, started_at, finished_at, "
    "error, progress, files, seq"
)
FILE_COLUMNS = "id, owner, name, bytes, examples, path, created_at"
# What update() may change: the rest of a job is fixed at submission.
UPDATABLE = frozenset({"state", "started_at", "finished_at", "error", "progress", "files"})
JSON_FIELDS = frozenset({"progress", "files", "settings"})


def job_from_row(row: tuple[Any, ...]) -> JobRecord:
    (id_, owner, state, created, settings, seeds, has_key, started, finished, error) = row[:10]
    progress, files, seq = row[10:13]
    return JobRecord(
        id=id_,
        owner=owner,
        state=state,
        created_at=float(created),
        settings=json.loads(settings),
        seeds=seeds,
        has_key=bool(has_key),
        started_at=started,
        finished_at=finished,
        error=error,
        progress=json.loads(progress),
        files=json.loads(files),
        seq=int(seq),
    )


def file_from_row(row: tuple[Any, ...]) -> FileRecord:
    id_, owner, name, size, examples, path, created = row
    return FileRecord(id_, owner, name, int(size), int(examples), path, float(created))


def column_value(name: str, value: Any) -> Any:
    return json.dumps(value, ensure_ascii=False) if name in JSON_FIELDS else value


def check_updates(fields: dict[str, Any]) -> list[tuple[str, Any]]:
    unknown = set(fields) - UPDATABLE
    if unknown:
        raise ValueError(f"cannot update {sorted(unknown)}")
    return [(k, column_value(k, v)) for k, v in fields.items()]


class JobStore(Protocol):
    """Every method is synchronous and thread-safe; the API calls them off the event loop."""

    def add_file(self, record: FileRecord) -> None: ...

    def get_file(self, file_id: str) -> FileRecord | None: ...

    def add_job(self, record: JobRecord) -> None:
        """Insert a job; its ``created_at`` and ``seq`` are set here, in submission order."""
        ...

    def get_job(self, job_id: str) -> JobRecord | None: ...

    def list_jobs(
        self, *, owner: str | None, state: str | None, offset: int, limit: int
    ) -> tuple[list[JobRecord], int]:
        """A page of jobs, newest first, and how many there are in all (``owner`` None:
        everyone's)."""
        ...

    def jobs_in(self, state: str) -> list[JobRecord]:
        """Every job in ``state``, in submission order."""
        ...

    def update(self, job_id: str, *, only_from: tuple[str, ...] = (), **fields: Any) -> bool:
        """Change a job's fields; with ``only_from``, only while its state is one of them.
        False when no row changed."""
        ...

    def claim_next(self, started_at: float) -> JobRecord | None:
        """Atomically move the oldest queued job to running (two API processes never claim
        the same one) and return it."""
        ...

    def delete_job(self, job_id: str) -> None: ...

    def count_by_state(self) -> dict[str, int]: ...

    def close(self) -> None: ...


def open_store(url: str | None, data_dir: Path) -> JobStore:
    """``postgresql://...`` for PostgreSQL; None (or ``sqlite:///PATH``) for SQLite, by
    default ``DATA/jobs.sqlite``."""
    from synthgen.errors import ConfigError

    if url is None or url.startswith("sqlite:"):
        from synthgen.service.store_sqlite import SQLiteStore

        path = Path(url.removeprefix("sqlite:///")) if url else data_dir / "jobs.sqlite"
        return SQLiteStore(path)
    if url.startswith(("postgresql://", "postgres://")):
        from synthgen.service.store_postgres import PostgresStore

        return PostgresStore(url)
    raise ConfigError(
        "--db: use a postgresql://... URL, or sqlite:///PATH (default: DATA/jobs.sqlite)"
    )
