"""Where the response cache lives, and its files: found, kept private, deleted unopened."""

from __future__ import annotations

import os
from pathlib import Path

from synthgen.errors import ConfigError

__all__ = [
    "CACHE_FILENAME",
    "ENV_CACHE_DIR",
    "db_files",
    "default_cache_dir",
    "delete_cache",
    "make_private",
    "resolve_path",
]

CACHE_FILENAME = "responses.sqlite"
ENV_CACHE_DIR = "SYNTHGEN_CACHE_DIR"


def default_cache_dir() -> Path:
    """``$SYNTHGEN_CACHE_DIR`` if set, else the platform's user cache dir for synthgen."""
    env = os.environ.get(ENV_CACHE_DIR, "").strip()
    if env:
        return Path(env).expanduser()
    import platformdirs  # 17 ms: only when the default location is actually needed

    return Path(platformdirs.user_cache_dir("synthgen"))


def resolve_path(path: str | os.PathLike[str] | None) -> Path:
    if path is None:
        return default_cache_dir() / CACHE_FILENAME
    p = Path(path).expanduser()
    return p / CACHE_FILENAME if p.is_dir() else p


def db_files(db: Path) -> list[Path]:
    return [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]


def make_private(db: Path) -> None:
    """Create the database file 0600 before SQLite does (it would use the umask, usually
    0644), and take away others' access to an existing one and its -wal/-shm files."""
    try:
        os.close(os.open(db, os.O_CREAT | os.O_WRONLY, 0o600))
    except OSError:
        return  # SQLite will report the problem with its own words
    for f in db_files(db):
        try:
            if f.stat().st_mode & 0o077:
                f.chmod(0o600)
        except OSError:
            continue  # absent, or not ours: nothing we may change


def delete_cache(path: str | os.PathLike[str] | None = None) -> bool:
    """Remove the cache files without opening them (for a corrupt cache); True if any existed."""
    removed = False
    for f in db_files(resolve_path(path)):
        try:
            f.unlink()
            removed = True
        except FileNotFoundError:
            pass
        except OSError as e:
            raise ConfigError(f"cannot delete cache file {f}: {e.strerror or e}") from None
    return removed
