"""The job store in one SQLite file under the data folder (stdlib sqlite3, WAL mode)."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from synthgen.errors import ConfigError
from synthgen.service.store import (
    FILE_COLUMNS,
    JOB_COLUMNS,
    FileRecord,
    JobRecord,
    check_updates,
    column_value,
    file_from_row,
    job_from_row,
)

__all__ = ["SQLiteStore"]

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS jobs ("
    " id TEXT PRIMARY KEY, owner TEXT NOT NULL, state TEXT NOT NULL, created_at REAL NOT NULL,"
    " settings TEXT NOT NULL, seeds TEXT NOT NULL, has_key INTEGER NOT NULL DEFAULT 0,"
    " started_at REAL, finished_at REAL, error TEXT, progress TEXT NOT NULL DEFAULT '{}',"
    " files TEXT NOT NULL DEFAULT '[]', seq INTEGER NOT NULL UNIQUE)",
    "CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state, seq)",
    "CREATE INDEX IF NOT EXISTS jobs_owner ON jobs (owner, seq)",
    "CREATE TABLE IF NOT EXISTS files ("
    " id TEXT PRIMARY KEY, owner TEXT NOT NULL, name TEXT NOT NULL, bytes INTEGER NOT NULL,"
    " examples INTEGER NOT NULL, path TEXT NOT NULL, created_at REAL NOT NULL)",
)


class SQLiteStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # One connection shared by the API's threads, behind a lock; autocommit, with
            # explicit transactions where a read and a write must be one.
            self._conn = sqlite3.connect(
                path, check_same_thread=False, isolation_level=None, timeout=10.0
            )
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            for statement in _SCHEMA:
                self._conn.execute(statement)
        except (OSError, sqlite3.Error) as e:
            raise ConfigError(f"{path}: cannot open the job store ({e})") from None
        self._lock = threading.Lock()

    def _all(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def add_file(self, record: FileRecord) -> None:
        r = record
        with self._lock:
            self._conn.execute(
                f"INSERT INTO files ({FILE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (r.id, r.owner, r.name, r.bytes, r.examples, r.path, r.created_at),
            )

    def get_file(self, file_id: str) -> FileRecord | None:
        rows = self._all(f"SELECT {FILE_COLUMNS} FROM files WHERE id = ?", (file_id,))
        return file_from_row(rows[0]) if rows else None

    def add_job(self, record: JobRecord) -> None:
        r = record
        values = [column_value(k, getattr(r, k)) for k in ("settings", "progress", "files")]
        with self._lock:
            r.created_at = time.time()  # under the lock: in the order of seq
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                (seq,) = self._conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs").fetchone()
                self._conn.execute(
                    f"INSERT INTO jobs ({JOB_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        r.id,
                        r.owner,
                        r.state,
                        r.created_at,
                        values[0],
                        r.seeds,
                        int(r.has_key),
                        r.started_at,
                        r.finished_at,
                        r.error,
                        values[1],
                        values[2],
                        seq,
                    ),
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        r.seq = seq

    def get_job(self, job_id: str) -> JobRecord | None:
        rows = self._all(f"SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?", (job_id,))
        return job_from_row(rows[0]) if rows else None

    def list_jobs(
        self, *, owner: str | None, state: str | None, offset: int, limit: int
    ) -> tuple[list[JobRecord], int]:
        where, params = _filters(owner, state)
        with self._lock:
            (total,) = self._conn.execute(f"SELECT COUNT(*) FROM jobs{where}", params).fetchone()
            rows = self._conn.execute(
                f"SELECT {JOB_COLUMNS} FROM jobs{where} ORDER BY seq DESC LIMIT ? OFFSET ?",
                (*params, limit, offset),
            ).fetchall()
        return [job_from_row(r) for r in rows], int(total)

    def jobs_in(self, state: str) -> list[JobRecord]:
        rows = self._all(f"SELECT {JOB_COLUMNS} FROM jobs WHERE state = ? ORDER BY seq", (state,))
        return [job_from_row(r) for r in rows]

    def update(self, job_id: str, *, only_from: tuple[str, ...] = (), **fields: Any) -> bool:
        pairs = check_updates(fields)
        sql = f"UPDATE jobs SET {', '.join(f'{k} = ?' for k, _ in pairs)} WHERE id = ?"
        params: tuple[Any, ...] = (*(v for _, v in pairs), job_id)
        if only_from:
            sql += f" AND state IN ({', '.join('?' for _ in only_from)})"
            params += only_from
        with self._lock:
            return self._conn.execute(sql, params).rowcount > 0

    def claim_next(self, started_at: float) -> JobRecord | None:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")  # the write lock: one claimer at a time
            try:
                row = self._conn.execute(
                    f"SELECT {JOB_COLUMNS} FROM jobs WHERE state = 'queued' ORDER BY seq LIMIT 1"
                ).fetchone()
                if row is not None:
                    self._conn.execute(
                        "UPDATE jobs SET state = 'running', started_at = ? WHERE id = ?",
                        (started_at, row[0]),
                    )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        if row is None:
            return None
        job = job_from_row(row)
        job.state, job.started_at = "running", started_at
        return job

    def delete_job(self, job_id: str) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM jobs WHERE id = ?", (job_id,))

    def count_by_state(self) -> dict[str, int]:
        rows = self._all("SELECT state, COUNT(*) FROM jobs GROUP BY state")
        return {state: int(count) for state, count in rows}

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _filters(owner: str | None, state: str | None) -> tuple[str, tuple[Any, ...]]:
    clauses, params = [], []
    if owner is not None:
        clauses.append("owner = ?")
        params.append(owner)
    if state is not None:
        clauses.append("state = ?")
        params.append(state)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), tuple(params)
