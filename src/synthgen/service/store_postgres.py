"""The job store in PostgreSQL (psycopg 3), for teams that run several API processes: a
claim takes the oldest queued job with ``FOR UPDATE SKIP LOCKED``, so two processes never
start the same job."""

from __future__ import annotations

import threading
import time
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

__all__ = ["PostgresStore"]

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS synthgen_jobs ("
    " id TEXT PRIMARY KEY, owner TEXT NOT NULL, state TEXT NOT NULL,"
    " created_at DOUBLE PRECISION NOT NULL, settings TEXT NOT NULL, seeds TEXT NOT NULL,"
    " has_key BOOLEAN NOT NULL DEFAULT FALSE, started_at DOUBLE PRECISION,"
    " finished_at DOUBLE PRECISION, error TEXT, progress TEXT NOT NULL DEFAULT '{}',"
    " files TEXT NOT NULL DEFAULT '[]', seq BIGSERIAL UNIQUE)",
    "CREATE INDEX IF NOT EXISTS synthgen_jobs_state ON synthgen_jobs (state, seq)",
    "CREATE INDEX IF NOT EXISTS synthgen_jobs_owner ON synthgen_jobs (owner, seq)",
    "CREATE TABLE IF NOT EXISTS synthgen_files ("
    " id TEXT PRIMARY KEY, owner TEXT NOT NULL, name TEXT NOT NULL, bytes BIGINT NOT NULL,"
    " examples BIGINT NOT NULL, path TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL)",
)
_INSERT_COLUMNS = JOB_COLUMNS.removesuffix(", seq")


class PostgresStore:
    def __init__(self, url: str) -> None:
        import psycopg

        from synthgen.teacher.urls import public_endpoint

        try:
            self._conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
            with self._conn.transaction():
                for statement in _SCHEMA:
                    self._conn.execute(statement)
        except psycopg.Error as e:
            # The URL may hold a password: name the database by its public form only.
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ConfigError(f"--db {public_endpoint(url)}: {first}") from None
        self._lock = threading.Lock()

    def _all(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def add_file(self, record: FileRecord) -> None:
        r = record
        with self._lock:
            self._conn.execute(
                f"INSERT INTO synthgen_files ({FILE_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (r.id, r.owner, r.name, r.bytes, r.examples, r.path, r.created_at),
            )

    def get_file(self, file_id: str) -> FileRecord | None:
        rows = self._all(f"SELECT {FILE_COLUMNS} FROM synthgen_files WHERE id = %s", (file_id,))
        return file_from_row(rows[0]) if rows else None

    def add_job(self, record: JobRecord) -> None:
        r = record
        settings, progress, files = (
            column_value(k, getattr(r, k)) for k in ("settings", "progress", "files")
        )
        with self._lock:
            r.created_at = time.time()  # under the lock: in the order of seq
            row = self._conn.execute(
                f"INSERT INTO synthgen_jobs ({_INSERT_COLUMNS}) VALUES "
                "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING seq",
                (
                    r.id,
                    r.owner,
                    r.state,
                    r.created_at,
                    settings,
                    r.seeds,
                    r.has_key,
                    r.started_at,
                    r.finished_at,
                    r.error,
                    progress,
                    files,
                ),
            ).fetchone()
        r.seq = int(row[0]) if row else 0

    def get_job(self, job_id: str) -> JobRecord | None:
        rows = self._all(f"SELECT {JOB_COLUMNS} FROM synthgen_jobs WHERE id = %s", (job_id,))
        return job_from_row(rows[0]) if rows else None

    def list_jobs(
        self, *, owner: str | None, state: str | None, offset: int, limit: int
    ) -> tuple[list[JobRecord], int]:
        clauses, params = [], []
        if owner is not None:
            clauses.append("owner = %s")
            params.append(owner)
        if state is not None:
            clauses.append("state = %s")
            params.append(state)
        where = " WHERE " + " AND ".join(clauses) if clauses else ""
        with self._lock:
            count = self._conn.execute(f"SELECT COUNT(*) FROM synthgen_jobs{where}", params)
            (total,) = count.fetchone() or (0,)
            rows = self._conn.execute(
                f"SELECT {JOB_COLUMNS} FROM synthgen_jobs{where} ORDER BY seq DESC "
                "LIMIT %s OFFSET %s",
                (*params, limit, offset),
            ).fetchall()
        return [job_from_row(r) for r in rows], int(total)

    def jobs_in(self, state: str) -> list[JobRecord]:
        rows = self._all(
            f"SELECT {JOB_COLUMNS} FROM synthgen_jobs WHERE state = %s ORDER BY seq", (state,)
        )
        return [job_from_row(r) for r in rows]

    def update(self, job_id: str, *, only_from: tuple[str, ...] = (), **fields: Any) -> bool:
        pairs = check_updates(fields)
        sql = f"UPDATE synthgen_jobs SET {', '.join(f'{k} = %s' for k, _ in pairs)} WHERE id = %s"
        params: list[Any] = [*(v for _, v in pairs), job_id]
        if only_from:
            sql += " AND state = ANY(%s)"
            params.append(list(only_from))
        with self._lock:
            return self._conn.execute(sql, params).rowcount > 0

    def claim_next(self, started_at: float) -> JobRecord | None:
        with self._lock, self._conn.transaction():
            row = self._conn.execute(
                f"SELECT {JOB_COLUMNS} FROM synthgen_jobs WHERE state = 'queued' "
                "ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED"
            ).fetchone()
            if row is not None:
                self._conn.execute(
                    "UPDATE synthgen_jobs SET state = 'running', started_at = %s WHERE id = %s",
                    (started_at, row[0]),
                )
        if row is None:
            return None
        job = job_from_row(row)
        job.state, job.started_at = "running", started_at
        return job

    def delete_job(self, job_id: str) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM synthgen_jobs WHERE id = %s", (job_id,))

    def count_by_state(self) -> dict[str, int]:
        rows = self._all("SELECT state, COUNT(*) FROM synthgen_jobs GROUP BY state")
        return {state: int(count) for state, count in rows}

    def close(self) -> None:
        with self._lock:
            self._conn.close()
