"""The output folder OUT: whether a run may write there, which of its files are synthgen's,
the lock that keeps a second run out, and what a killed write left behind.

- OUT belongs to a synthgen job when it holds the job marker, ``OUT/.synthgen/job.json``. The
  marker lists the files of OUT the job wrote (``files``); only those are ever replaced or,
  with ``--force``, deleted. A file of the same name that is not listed (a project's own
  README.md) is never touched: the run is refused instead.
- A folder that is not empty and has no marker is never written into, ``--force`` or not, and
  neither are the filesystem root and the home folder. An input of the run (the seeds file)
  that is one of the files the run would write refuses the run too.
- Everything the Hub should not publish lives in ``OUT/.synthgen/``: the marker, the journal,
  the lock, rejected.jsonl and failures.jsonl. ``hf upload NAME OUT --repo-type dataset
  --exclude ".synthgen/*"`` uploads the dataset and its card only.
- ``OUT/.synthgen/lock`` is held with an OS file lock (``flock``) for the whole run and names
  the holder's pid; the OS releases it when the process dies, however it dies.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

from synthgen.errors import InputError, OutputExistsError, OutputInUseError
from synthgen.settings.naming import setting

try:
    import fcntl
except ImportError:  # Windows: no flock, runs there are not locked
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "DATA_FILES",
    "LOCK",
    "MARKER",
    "STATE_DIR",
    "Marker",
    "OutLock",
    "check_folder",
    "discard_state",
    "is_input",
    "read_marker",
    "wipe",
]

STATE_DIR = ".synthgen"
MARKER = "job.json"
LOCK = "lock"
# The files a job writes at the top of OUT: what is published.
DATA_FILES = ("train.jsonl", "eval.jsonl", "metadata.jsonl", "report.json", "README.md")
# What synthgen versions before the "files" list wrote at the top of OUT.
LEGACY_FILES = (*DATA_FILES, "rejected.jsonl", "failures.jsonl")

# The run's input files by role ("seeds", or the Settings field that names the file).
Inputs: TypeAlias = Mapping[str, "str | os.PathLike[str] | None"]


@dataclass(frozen=True)
class Marker:
    """What ``job.json`` says: the job's id, the files of OUT it wrote (only known names
    count, whatever a hand edit put there) and how many request numbers it may use."""

    path: Path
    id: str
    files: frozenset[str]
    ordinals: int | None = None
    legacy: bool = False  # written before the files list: ours are found by name


def read_marker(out: Path) -> Marker | None:
    """OUT's job marker; None when there is none. An unreadable marker (garbage, hand-edited
    into something else) makes the folder not synthgen's: OutputExistsError names the file."""
    path = out / STATE_DIR / MARKER
    if not path.exists() and not path.is_symlink():
        return None
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError) as e:
        raise _not_ours(path, _why(e)) from None
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        raise _not_ours(path, "it names no job id")
    files = data.get("files")
    if files is not None and not (
        isinstance(files, list) and all(isinstance(f, str) for f in files)
    ):
        raise _not_ours(path, "its files list is not a list of names")
    limit = data.get("ordinals")
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        limit = None
    if files is None:
        return Marker(path, data["id"], _legacy_files(out), limit, legacy=True)
    return Marker(path, data["id"], frozenset(files) & set(DATA_FILES), limit)


def _why(e: BaseException) -> str:
    if isinstance(e, OSError):
        return e.strerror or type(e).__name__
    if isinstance(e, UnicodeDecodeError):
        return "not UTF-8 text"
    if isinstance(e, RecursionError):
        return "nested too deep"
    return "not JSON"


def _not_ours(path: Path, why: str) -> OutputExistsError:
    return OutputExistsError(
        f"{path}: cannot be read as synthgen's job marker ({why}), so nothing in "
        f"{path.parent.parent} is treated as synthgen's and nothing there is replaced: "
        f"choose another {setting('out_dir')}, or put back the job.json that was there"
    )


def _legacy_files(out: Path) -> frozenset[str]:
    """The files of a marked folder from before the files list: the names synthgen wrote,
    and README.md only when it is a synthgen dataset card."""
    found = {name for name in LEGACY_FILES if (out / name).is_file()}
    if "README.md" in found and not _is_our_card(out / "README.md"):
        found.discard("README.md")
    return frozenset(found)


def _is_our_card(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            head = fh.read(8192).decode("utf-8", "replace")
    except OSError:
        return False
    return head.startswith("---\n") and "seed examples with synthgen" in head


def check_folder(out: Path, *, inputs: Inputs | None = None) -> Marker | None:
    """Raise unless a run may use OUT; its marker, or None for a new or empty folder.
    Reads only. ``inputs`` are the run's input files by role (``seeds``, ``decontaminate``):
    none of them may be a file the run writes."""
    refuse_wrong_target(out)
    if not out.exists():
        if out.is_symlink():
            raise InputError(f"{out}: is a symbolic link to nothing; choose another {_o()}")
        return None
    if not out.is_dir():
        raise OutputExistsError(f"{out}: exists and is not a folder")
    _refuse_inputs(out, inputs or {})
    try:
        entries = list(out.iterdir())
    except OSError as e:
        raise InputError(f"{out}: cannot be read ({e.strerror})") from None
    marker = read_marker(out)
    if marker is None:
        if all(_leftover(entry) for entry in entries):
            return None
        raise _unmarked(out)
    strangers = sorted(n for n in DATA_FILES if _exists(out / n) and n not in marker.files)
    if strangers:
        raise OutputExistsError(
            f"{out / strangers[0]}: was not written by synthgen (it is not in {marker.path}), "
            f"and this run would replace it; move it elsewhere, or choose another {_o()}"
        )
    return marker


def _o() -> str:
    return setting("out_dir")


def refuse_wrong_target(out: Path) -> None:
    """The filesystem root, the home folder and the folders above it are never OUT."""
    where = out.resolve()
    what = None
    if where == where.parent:
        what = "the filesystem root"
    else:
        try:
            home = Path.home().resolve()
        except (RuntimeError, KeyError, OSError):
            home = None
        if home is not None and where == home:
            what = "your home folder"
        elif home is not None and where in home.parents:
            what = "a folder above your home folder"
    if what is not None:
        raise OutputExistsError(
            f"{out}: is {what}; synthgen writes its dataset into a folder of its own: "
            f"choose one with {_o()}, e.g. {_o()} out"
        )


def _unmarked(out: Path) -> OutputExistsError:
    here = out.resolve() == Path.cwd().resolve()
    name = f"the current folder ({out})" if here else str(out)
    return OutputExistsError(
        f"{name}: is not empty and holds no synthgen job ({STATE_DIR}/{MARKER}); synthgen "
        f"writes only into a new or empty folder, or one it wrote before: choose another "
        f"{_o()}, e.g. {_o()} {out / 'synthgen-out'}"
    )


def _leftover(entry: Path) -> bool:
    """A state folder with no marker and nothing in it but a lock and temp files: what a run
    killed before writing its marker leaves. The folder still counts as empty."""
    if entry.name != STATE_DIR or not entry.is_dir() or entry.is_symlink():
        return False
    try:
        return all(p.name == LOCK or p.name.startswith(f".{MARKER}.") for p in entry.iterdir())
    except OSError:
        return False


def _exists(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def _refuse_inputs(out: Path, inputs: Inputs) -> None:
    written = {(out / name).resolve(): name for name in DATA_FILES}
    state = (out / STATE_DIR).resolve()
    for role, value in inputs.items():
        if value is None:
            continue
        path = Path(value)
        where = path.resolve()
        if where in written or state in where.parents:
            what = "seeds file" if role == "seeds" else f"{setting(role)} file"
            target = written.get(where, f"{STATE_DIR}/")
            raise OutputExistsError(
                f"{path}: the {what} is where this run writes {target} in {out}; it is never "
                f"replaced: write the dataset to another folder with {_o()}"
            )


def is_input(path: Path, inputs: Inputs) -> bool:
    where = path.resolve()
    return any(v is not None and Path(v).resolve() == where for v in inputs.values())


def wipe(out: Path, marker: Marker | None, inputs: Inputs) -> None:
    """Start a job afresh in OUT: delete the files the marker lists (never an input of the
    run) and everything in the state folder but its lock."""
    if marker is not None:
        for name in marker.files:
            path = out / name
            if not is_input(path, inputs):
                path.unlink(missing_ok=True)
    state = out / STATE_DIR
    if not state.is_dir():
        return
    for entry in state.iterdir():
        if entry.name == LOCK:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink(missing_ok=True)


def discard_state(out: Path) -> None:
    """Remove the state folder, and OUT when that leaves it empty: a job that wrote nothing
    of value leaves no trace, so the corrected command is not refused."""
    shutil.rmtree(out / STATE_DIR, ignore_errors=True)
    with contextlib.suppress(OSError):
        out.rmdir()


# -- the lock ------------------------------------------------------------------------------
# Locks this process holds, by the lock file's identity: a later run in the same process (a
# notebook re-running a cell) takes over the lock of one that has ended.
_HELD: weakref.WeakValueDictionary[tuple[int, int], OutLock] = weakref.WeakValueDictionary()


class OutLock:
    """An exclusive ``flock`` on ``OUT/.synthgen/lock``, which holds the holder's pid."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self.busy = True  # a run is using it; False once its journal is closed
        self._fd: int | None = fd
        self._close = weakref.finalize(self, os.close, fd)  # closed (unlocked) when dropped
        st = os.fstat(fd)
        _HELD[(st.st_dev, st.st_ino)] = self

    @classmethod
    def acquire(cls, state_dir: Path, out: Path) -> OutLock:
        """Take the lock, or raise OutputInUseError naming the run that holds it."""
        path = state_dir / LOCK
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if not _try_lock(fd):
                st = os.fstat(fd)
                mine = _HELD.get((st.st_dev, st.st_ino))
                if mine is None or mine.busy:
                    raise _in_use(out, _holder(fd))
                mine.release()  # an earlier run of this process that has ended
                if not _try_lock(fd):
                    raise _in_use(out, _holder(fd))
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, f"{os.getpid()}\n".encode())
        except BaseException:
            os.close(fd)
            raise
        return cls(path, fd)

    def release(self) -> None:
        if self._fd is not None:
            self._fd = None
            self.busy = False
            self._close()


def _try_lock(fd: int) -> bool:
    if fcntl is None:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


def _holder(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 32).decode("ascii", "replace").strip()
    except OSError:
        text = ""
    return f"pid {text}" if text.isdigit() else "pid unknown"


def _in_use(out: Path, holder: str) -> OutputInUseError:
    own = f"pid {os.getpid()}"
    who = f"this process ({own})" if holder == own else f"another synthgen run ({holder})"
    return OutputInUseError(
        f"{out}: {who} is writing this folder; two runs on one folder would corrupt its "
        f"job: wait for that run to end, or choose another {_o()}"
    )
