"""Output formats (``to_record``, ``detect_format``), and atomic JSONL/JSON writers.

What each format's record looks like is in ``synthgen.data.record_writers``; the formats
themselves (detection, reading, writing, validation) are one table in
``synthgen.data.shapes``. Rows of the formats that allow extra columns (``trl``,
``prompt-completion``, ``sharegpt``, ``alpaca``) carry the example's metadata (category,
origin, ...) in a ``metadata`` object; ``openai`` rows never do, as OpenAI's chat format lists
no such key. ``synthgen.data.sidecar`` writes the metadata of every format beside the data.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import IO, Any, TypeVar

from synthgen.data.example import Example
from synthgen.data.record_writers import SHAREGPT_FROM
from synthgen.data.shapes import FORMATS, METADATA_KEY, SHAPES, detect
from synthgen.errors import ConfigError, write_error

__all__ = [
    "FORMATS",
    "SHAREGPT_FROM",
    "TEMP_MARK",
    "detect_format",
    "remove_stale_temps",
    "to_record",
    "write",
    "write_json",
    "write_jsonl",
    "write_text_lines",
]

T = TypeVar("T")


def to_record(example: Example, fmt: str = "openai", *, metadata: bool = True) -> dict[str, Any]:
    """The line written for ``example`` in output format ``fmt``; with ``metadata``, the
    example's metadata goes in a ``metadata`` object where the format allows one."""
    shape = SHAPES.get(fmt)
    if shape is None:
        raise ConfigError(f"unknown output format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    record = shape.write(example)
    if metadata and shape.carries_metadata and example.metadata:
        # Left out when empty: an empty object is a column type some loaders cannot build.
        record[METADATA_KEY] = dict(example.metadata)
    return record


def detect_format(record: object) -> str | None:
    """Which format a parsed line is in, judged by its keys. A ``messages`` line is ``openai``
    unless it has top-level keys OpenAI's format does not list, which makes it ``trl``."""
    shape = detect(record)
    return shape.name if shape is not None else None


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable; not possible on every platform (Windows), hence best effort.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@cache
def _umask() -> int:
    # os.umask can only be read by setting it; done once, then restored.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# A temp file of an atomic write is ``.NAME.synthgen-tmp-XXXXXXXX`` beside NAME: hidden,
# recognisably synthgen's, and named after its target, so a run can remove what a kill during
# the write of one of its own files left behind (remove_stale_temps).
TEMP_MARK = ".synthgen-tmp-"


def remove_stale_temps(folder: str | os.PathLike[str], names: Iterable[str]) -> list[str]:
    """Delete the temp files that a killed atomic write of one of ``names`` left in
    ``folder`` (also the ``.NAME.XXXXXXXX.tmp`` of earlier versions); the names removed.
    Call it only when no other writer of those names can be running."""
    prefixes = tuple(f".{name}." for name in names)
    try:
        entries = os.listdir(folder)
    except OSError:
        return []
    removed = []
    for entry in entries:
        stem = entry.startswith(prefixes)
        if stem and (TEMP_MARK in entry or entry.endswith(".tmp")):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(folder, entry))
                removed.append(entry)
    return removed


def _write_atomic(path: str | os.PathLike[str], write: Callable[[IO[str]], T]) -> T:
    """Run ``write(file)`` on a temp file next to ``path`` (flushed to disk), then move it
    onto ``path``: a reader sees the old content or the new, never a part."""
    target = Path(path)
    folder = target.parent
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}{TEMP_MARK}", dir=folder)
    except OSError as e:
        raise write_error(target, e) from e
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            # mkstemp makes the file 0600; give it the mode a plain open() would have.
            os.chmod(tmp, 0o666 & ~_umask())
            result = write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError):  # a full disk, an I/O error: one line naming the file
            raise write_error(target, e) from e
        raise
    _fsync_dir(folder)
    return result


def write_jsonl(path: str | os.PathLike[str], records: Iterable[dict[str, Any]]) -> int:
    """Write one JSON object per line (UTF-8, unescaped), atomically; returns the line count.
    If ``records`` raises, ``path`` keeps its previous content and no temp file is left."""

    def write(f: IO[str]) -> int:
        n = 0
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False))
            f.write("\n")
            n += 1
        return n

    return _write_atomic(path, write)


def write_text_lines(path: str | os.PathLike[str], lines: Iterable[str]) -> int:
    """Write lines as they are (a newline after each), atomically; returns the count."""

    def write(f: IO[str]) -> int:
        count = 0
        for line in lines:
            f.write(line)
            f.write("\n")
            count += 1
        return count

    return _write_atomic(path, write)


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as indented JSON with a trailing newline, atomically."""

    def write(f: IO[str]) -> None:
        f.write(json.dumps(obj, ensure_ascii=False, indent=2))
        f.write("\n")

    _write_atomic(path, write)


def write(examples: Iterable[Example], path: str | os.PathLike[str], *, fmt: str = "openai") -> int:
    """Write examples to ``path`` as JSONL in ``fmt``, atomically; returns the line count."""
    return write_jsonl(path, (to_record(e, fmt) for e in examples))
