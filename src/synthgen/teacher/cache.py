"""The response cache: never pay for the same teacher response twice.

One SQLite file (WAL mode) maps ``cache_key(request parts)`` to the completion dict the teacher
returned. It is called synchronously from the asyncio loop for every request, so ``get`` and
``put`` are one prepared statement each; hit counters live in memory and are flushed in batches.

Durability: every ``put`` is its own committed transaction. With ``journal_mode=WAL`` and
``synchronous=NORMAL`` a commit hands the WAL frames to the OS without an fsync, so a crash or
``kill -9`` of synthgen loses nothing that ``put`` returned True for; only an OS crash or power
loss can drop the last few transactions (the database itself stays consistent either way).

A cache that cannot be written (full disk, another process holding the write lock past
``busy_timeout``) must not end a run that has paid for its replies: ``put`` then returns
False, logs one warning, and stops trying for the rest of the session; reads go on.

Privacy: replies can hold whatever the prompts held, so the folder is created 0700 and the
files 0600 (SQLite gives the -wal and -shm files the database file's mode).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from synthgen.errors import ConfigError
from synthgen.teacher.base import Completion, clean_text
from synthgen.teacher.cache_files import (
    CACHE_FILENAME,
    ENV_CACHE_DIR,
    db_files,
    default_cache_dir,
    delete_cache,
    make_private,
    resolve_path,
)
from synthgen.teacher.cache_key import cache_key, refuse_secrets

__all__ = [
    "CACHE_FILENAME",
    "CacheInfo",
    "ResponseCache",
    "cache_key",
    "default_cache_dir",
    "delete_cache",
]

log = logging.getLogger("synthgen")

SCHEMA_VERSION = 1

# Hit counters are written in one transaction every FLUSH_EVERY gets or FLUSH_SECONDS, and on
# info()/clear()/close(); a kill -9 loses at most that many hit counts, never a response.
FLUSH_EVERY = 1000
FLUSH_SECONDS = 2.0

_SQL_GET = "SELECT value FROM responses WHERE key = ?"
_SQL_PUT = "INSERT OR REPLACE INTO responses (key, value, created, hits) VALUES (?, ?, ?, 0)"
_SQL_HIT = "UPDATE responses SET hits = hits + ? WHERE key = ?"
_SQL_META_ADD = "UPDATE meta SET value = value + ? WHERE name = ?"
_SQL_META_SET = "INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS responses ("
    " key TEXT PRIMARY KEY, value TEXT NOT NULL, created REAL, hits INTEGER NOT NULL DEFAULT 0"
    ")",
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value NUMERIC)",
)


@dataclass(frozen=True)
class CacheInfo:
    """What ``synthgen cache info`` shows."""

    path: Path
    entries: int
    size_bytes: int  # database + -wal + -shm files
    hits: int  # lifetime hits since the cache was created or last cleared
    created: float | None = None  # unix time
    last_used: float | None = None  # unix time of the last flushed get/put


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    # IMMEDIATE takes the write lock up front, so busy_timeout applies instead of a deadlock.
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if conn.in_transaction:  # SQLite may already have rolled back (e.g. disk full)
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


class ResponseCache:
    """Completion dicts keyed by ``cache_key``; safe to share between synthgen processes.

    ``path`` is the database file, or a directory to hold ``responses.sqlite``; None means
    ``default_cache_dir()``. Not for concurrent use from several threads.
    """

    def __init__(
        self, path: str | os.PathLike[str] | None = None, *, busy_timeout: float = 5.0
    ) -> None:
        self.path: Path = resolve_path(path)
        self._busy_timeout = busy_timeout
        # Why the last put() failed; once set, put() no longer tries (see the module doc).
        self.write_error: str | None = None
        self._pending: dict[str, int] = {}  # key -> hits not yet written
        self._pending_total = 0
        self._dirty = False  # last_used not yet written
        self._last_flush = time.time()
        self._last_used = self._last_flush
        self.session_hits = 0
        self.session_misses = 0
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as e:
            raise ConfigError(
                f"cannot create cache folder {self.path.parent}: {e.strerror or e}; "
                f"set {ENV_CACHE_DIR} to a writable folder"
            ) from None
        if self.path.is_dir():
            raise ConfigError(f"cache path {self.path} is a folder, expected a file")
        make_private(self.path)
        conn: sqlite3.Connection | None = None
        try:
            # isolation_level=None: autocommit, so each put() is committed when it returns.
            conn = sqlite3.connect(
                self.path, isolation_level=None, timeout=busy_timeout, check_same_thread=False
            )
            self._conn: sqlite3.Connection | None = conn
            self._setup(conn)
        except BaseException as e:
            if conn is not None:
                conn.close()
            self._conn = None
            if isinstance(e, sqlite3.Error):
                raise self._unusable(e) from None
            raise

    def _setup(self, conn: sqlite3.Connection) -> None:
        # busy_timeout: another synthgen process writing the same cache waits, not fails.
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
        # Only takes effect on a new file. Completions are ~0.5-4 KB: with 4 KB pages a 2 KB row
        # fills a page alone (measured: 84 MB for 20,000 x 2 KB), with 8 KB pages 56 MB.
        conn.execute("PRAGMA page_size = 8192")
        # Reads page 1 first, so a non-SQLite file fails here ("file is not a database").
        conn.execute("PRAGMA journal_mode = WAL").fetchone()
        # NORMAL in WAL mode: no fsync per commit; survives kill -9, not power loss.
        conn.execute("PRAGMA synchronous = NORMAL")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == 0:
            with _transaction(conn):  # two processes creating the cache at once
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version == 0:
                    for stmt in _SCHEMA:
                        conn.execute(stmt)
                    self._check_schema(conn)  # before committing anything to a foreign file
                    conn.execute("INSERT OR IGNORE INTO meta VALUES ('hits', 0)")
                    conn.execute("INSERT OR IGNORE INTO meta VALUES ('created', ?)", (time.time(),))
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                    version = SCHEMA_VERSION
        if version > SCHEMA_VERSION:
            raise ConfigError(
                f"cache file {self.path} was written by a newer synthgen (schema {version}, "
                f"this one reads {SCHEMA_VERSION}); upgrade synthgen or set {ENV_CACHE_DIR} "
                "to another folder"
            )
        self._check_schema(conn)

    @staticmethod
    def _check_schema(conn: sqlite3.Connection) -> None:
        # A SQLite file that is not ours fails here instead of on the first get().
        conn.execute("SELECT key, value, created, hits FROM responses LIMIT 0")
        conn.execute("SELECT name, value FROM meta LIMIT 0")

    def _unusable(self, e: sqlite3.Error) -> ConfigError:
        # OperationalError: locked, read-only, I/O: the paid replies in it are fine, so never
        # advise deleting them. Any other DatabaseError: corrupt contents.
        if isinstance(e, sqlite3.OperationalError):
            return ConfigError(
                f"cache file {self.path} cannot be used ({e}); free disk space or wait for the "
                f"other synthgen process, or set {ENV_CACHE_DIR} to another folder"
            )
        return ConfigError(
            f"cache file {self.path} is corrupt ({e}); run `synthgen cache clear` "
            f"or set {ENV_CACHE_DIR} to another folder"
        )

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ValueError(f"response cache {self.path} is closed")
        return self._conn

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored completion dict for ``key``, or None; a hit is counted."""
        try:
            row = self._db().execute(_SQL_GET, (key,)).fetchone()
        except sqlite3.Error as e:
            raise self._unusable(e) from None
        value: Any = None
        if row is not None and isinstance(row[0], (str, bytes)):
            try:
                value = json.loads(row[0])
            except (ValueError, RecursionError):
                value = None  # a damaged row is a miss; the next put() replaces it
        if not isinstance(value, dict):
            self.session_misses += 1
            return None
        self.session_hits += 1
        self._pending[key] = self._pending.get(key, 0) + 1
        self._pending_total += 1
        self._touch()
        return value

    def get_completion(self, key: str) -> Completion | None:
        """The stored :class:`Completion` for ``key``, or None; a row that is not a
        completion (hand-edited, another version's) is a miss, never an error."""
        value = self.get(key)
        got = Completion.from_cached(value)
        if got is None and value is not None:  # counted as a hit by get(): undo that
            self._uncount(key)
        return got

    def _uncount(self, key: str) -> None:
        self.session_hits -= 1
        self.session_misses += 1
        self._pending_total -= 1
        self._pending[key] -= 1
        if not self._pending[key]:
            del self._pending[key]

    def put(self, key: str, value: Mapping[str, Any]) -> bool:
        """Store ``value`` (JSON-serialisable) under ``key``; True once committed.

        False if the cache cannot be written (full disk, read-only, locked by another
        process past ``busy_timeout``): the failure is logged once, ``write_error`` says why,
        and later puts return False at once. A run keeps going without the cache.
        ValueError for a value holding credentials (a bug, not a condition of the disk).
        """
        refuse_secrets(value, "cache")
        if self.write_error is not None:
            return False
        text = json.dumps(dict(value), ensure_ascii=False, separators=(",", ":"))
        try:
            self._db().execute(_SQL_PUT, (key, clean_text(text), time.time()))
        except sqlite3.Error as e:
            self.write_error = str(e)
            log.warning(
                "cannot write to the response cache %s (%s): going on without storing "
                "replies there; the replies already stored are kept",
                self.path,
                e,
            )
            return False
        self._touch()
        return True

    def _touch(self) -> None:
        self._dirty = True
        self._last_used = now = time.time()
        if self._pending_total >= FLUSH_EVERY or now - self._last_flush >= FLUSH_SECONDS:
            self._flush()

    def _flush(self) -> None:
        """Write pending hit counts and last_used in one transaction."""
        if not self._dirty or self._conn is None:
            return
        conn = self._conn
        self._last_flush = time.time()
        try:
            with _transaction(conn):
                if self._pending:
                    conn.executemany(_SQL_HIT, [(n, k) for k, n in self._pending.items()])
                    conn.execute(_SQL_META_ADD, (self._pending_total, "hits"))
                conn.execute(_SQL_META_SET, ("last_used", self._last_used))
        except sqlite3.OperationalError:
            # Busy beyond busy_timeout (another process): hit statistics can wait for the
            # next flush; a request must not fail over them.
            return
        except sqlite3.Error as e:
            raise self._unusable(e) from None
        self._pending.clear()
        self._pending_total = 0
        self._dirty = False

    def info(self) -> CacheInfo:
        """Entry count, size on disk and lifetime hits."""
        try:
            self._flush()
            conn = self._db()
            entries = conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
            meta = dict(conn.execute("SELECT name, value FROM meta").fetchall())
        except sqlite3.Error as e:
            raise self._unusable(e) from None
        size = sum(f.stat().st_size for f in db_files(self.path) if f.exists())
        created, last_used = meta.get("created"), meta.get("last_used")
        return CacheInfo(
            path=self.path,
            entries=int(entries),
            size_bytes=size,
            hits=int(meta.get("hits", 0)) + self._pending_total,
            created=float(created) if created is not None else None,
            last_used=float(last_used) if last_used is not None else None,
        )

    def clear(self) -> int:
        """Delete every entry and reset the hit count; returns how many entries were deleted."""
        conn = self._db()
        self._pending.clear()
        self._pending_total = 0
        try:
            with _transaction(conn):
                deleted = conn.execute("DELETE FROM responses").rowcount
                conn.execute(_SQL_META_SET, ("hits", 0))
                conn.execute(_SQL_META_SET, ("created", time.time()))
                conn.execute(_SQL_META_SET, ("last_used", time.time()))
        except sqlite3.Error as e:
            raise self._unusable(e) from None
        self._dirty = False
        try:
            conn.execute("VACUUM")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.OperationalError:
            pass  # another process has it open: the entries are gone, space is reused later
        return int(deleted)

    def close(self) -> None:
        """Flush hit counters and close; calling it twice is harmless."""
        if self._conn is None:
            return
        try:
            self._flush()
        finally:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> ResponseCache:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._conn is None else "open"
        return f"ResponseCache({str(self.path)!r}, {state})"
