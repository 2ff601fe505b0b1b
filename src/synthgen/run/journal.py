"""The run's durable state in ``OUT/.synthgen/``: what job this folder belongs to and which
of its files the job wrote (job.json), and an append-only journal with one line per processed
request (accepted examples, rejections, failure, usage). A run killed at any moment resumes
from the journal: the dedup index, the counts and the request ordinal are rebuilt from it, so
nothing accepted is lost or accepted twice. Responses that arrived but were not yet journaled
are in the response cache. A damaged journal (a line garbled by hand or by a disk) is read
around, never a crash. Whether a folder may be used at all is :mod:`synthgen.run.outdir`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_serializer

from synthgen.data.example import Example
from synthgen.data.formats import remove_stale_temps, write_json
from synthgen.errors import (
    DamagedStateError,
    InputError,
    OutputExistsError,
    write_error,
)
from synthgen.run.hedge import HedgeRecord
from synthgen.run.outdir import (
    DATA_FILES,
    LEGACY_FILES,
    MARKER,
    STATE_DIR,
    Inputs,
    Marker,
    OutLock,
    check_folder,
    discard_state,
    is_input,
    read_marker,
    wipe,
)
from synthgen.settings.naming import setting

log = logging.getLogger("synthgen")


class FailRecord(BaseModel):
    """A request that failed for good (after its retries): a line of failures.jsonl."""

    model_config = ConfigDict(frozen=True)

    kind: str
    status: int | None
    message: str


class JudgeRecord(BaseModel):
    """The judge's scores for a reply's candidates and what its calls cost (cached verdicts
    are not in ``sent``, ``pt``, ``ct`` or ``cost``)."""

    model_config = ConfigDict(frozen=True)

    scores: list[int | None]
    sent: int
    pt: int
    ct: int
    cost: float


class JournalRecord(BaseModel):
    """One curated request, as one journal line. A failed request has only ``i`` and
    ``fail``; a reply has the rest. The keys are short because a long run writes one line
    per request, and they are the on-disk format: journals of earlier versions resume."""

    model_config = ConfigDict(frozen=True)

    i: int  # the request's ordinal
    src: Literal["sent", "cache"] | None = None  # None: failed
    pt: int = 0  # prompt tokens
    ct: int = 0  # completion tokens
    cpt: int = 0  # of pt, served from the provider's prompt cache (absent: none)
    rt: int = 0  # of ct, spent on the teacher's reasoning (absent: none)
    cand: int = 0  # candidates in the reply
    acc: list[Example] = []  # accepted
    rej: list[dict[str, Any]] = []  # rejected.jsonl rows
    sur: int = 0  # good candidates of a category that had filled up meanwhile
    judge: JudgeRecord | None = None
    cost: float | None = None  # the teacher reply's price (absent: from the cache or unpriced)
    fail: FailRecord | None = None
    # Retried attempts and faults by kind, teacher and judge calls together (absent: none;
    # journals before these keys resume with none).
    retries: int = 0
    faults: dict[str, int] = {}
    hedge: HedgeRecord | None = None  # absent: not hedged

    @field_serializer("acc")
    def _chat_lines(self, acc: list[Example]) -> list[dict[str, Any]]:
        return [{**e.to_chat(), "metadata": e.metadata} for e in acc]

    def line(self) -> str:
        """The record as a journal line (without the newline)."""
        if self.fail is not None:
            data: dict[str, Any] = {"i": self.i, "fail": self.fail.model_dump()}
        else:
            data = self.model_dump(exclude={"fail", "retries", "faults"}, exclude_none=True)
            for key in ("sur", "cpt", "rt"):  # absent when 0, as journals always had them
                if not data[key]:
                    del data[key]
        if self.retries:
            data["retries"] = self.retries
        if self.faults:
            data["faults"] = self.faults
        if self.hedge is not None and self.fail is not None:
            data["hedge"] = self.hedge.model_dump()
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def fingerprint(settings: Mapping[str, Any]) -> str:
    blob = json.dumps(settings, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


class RunState:
    """The run's state in ``OUT/.synthgen/``: the folder's checks (:mod:`synthgen.run.outdir`),
    its lock, the job marker and the journal."""

    def __init__(self, out_dir: Path, job: Mapping[str, Any]) -> None:
        self.out_dir = out_dir
        self.dir = out_dir / STATE_DIR
        self.job = dict(job)
        self.job_id = fingerprint(job)
        self.journal_path = self.dir / "journal.jsonl"
        self.rejected_path = self.dir / "rejected.jsonl"
        self.failures_path = self.dir / "failures.jsonl"
        self.files: set[str] = set()  # the files of OUT this job wrote (job.json "files")
        # The request numbers the job may use: --max-requests times its categories (a full
        # category's turn takes a number, not a request); the largest of all its runs.
        self.ordinals: int | None = None
        self._force = False
        self._inputs: dict[str, Any] = {}
        self._checked = False
        self._lock: OutLock | None = None
        self._fh: IO[str] | None = None
        self._told = False  # the journal's damaged lines have been reported

    def check(
        self, *, force: bool, inputs: Inputs | None = None, ordinals: int | None = None
    ) -> bool:
        """Raise unless this folder is new or empty, this job's, or another synthgen job's and
        ``force``; True when resuming. Reads only, so a bad invocation leaves the folder as it
        was. ``inputs`` (the seeds file, by role) are never files the run writes;
        ``ordinals`` (see ``self.ordinals``) bounds the request numbers of a sound journal."""
        self._force, self._inputs, self._checked = force, dict(inputs or {}), True
        if ordinals is not None:
            self.ordinals = max(self.ordinals or 0, ordinals)
        return self._resume(check_folder(self.out_dir, inputs=self._inputs))

    def _resume(self, marker: Marker | None) -> bool:
        if marker is None:
            return False
        if marker.id == self.job_id:
            return self.journal_path.is_file()
        if self._force:
            return False
        raise OutputExistsError(
            f"{self.out_dir}: holds files from a different job (other seeds or settings); "
            f"pass {setting('force', True)} to replace them, or choose another "
            f"{setting('out_dir')}"
        )

    def open(self, *, resume: bool) -> None:
        """Lock the folder for the run, then start (deleting what the job marker lists and
        the earlier state) or reopen the journal for appending. Temp files that killed writes
        of ours left behind are removed."""
        made = not self.dir.exists()
        try:
            self._take_lock()
            # The folder as it is now that no other run can change it.
            marker = (
                check_folder(self.out_dir, inputs=self._inputs)
                if self._checked
                else read_marker(self.out_dir)
            )
            if self._checked:
                resume = self._resume(marker)
            self._start(marker, resume=resume)
        except BaseException as e:
            self.release()
            if made:
                discard_state(self.out_dir)
            if isinstance(e, OSError):  # a read-only or full disk: one line naming the file
                raise InputError(
                    f"{e.filename or self.dir}: cannot be written ({e.strerror}); choose "
                    f"another {setting('out_dir')}"
                ) from None
            raise

    def _take_lock(self) -> None:
        if self._lock is not None:
            self._lock.busy = True
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock = OutLock.acquire(self.dir, self.out_dir)

    def _start(self, marker: Marker | None, *, resume: bool) -> None:
        remove_stale_temps(self.out_dir, LEGACY_FILES)
        remove_stale_temps(self.dir, (MARKER, self.rejected_path.name, self.failures_path.name))
        if marker is not None and marker.ordinals:
            self.ordinals = max(self.ordinals or 0, marker.ordinals)
        if marker is not None and marker.legacy:
            # rejected.jsonl and failures.jsonl were at the top; they live in the state now.
            for name in marker.files - set(DATA_FILES):
                (self.out_dir / name).unlink(missing_ok=True)
        if resume and marker is not None:
            self.files = set(marker.files) & set(DATA_FILES)
        else:
            wipe(self.out_dir, marker, self._inputs)
            self.files = set()
        self._write_marker()
        if resume:
            _cut_torn_tail(self.journal_path)
        self._fh = self.journal_path.open("a", encoding="utf-8")

    def _write_marker(self) -> None:
        """job.json, atomically: a temp file, fsync, rename."""
        write_json(
            self.dir / MARKER,
            {
                "id": self.job_id,
                "job": self.job,
                "files": sorted(self.files),
                "ordinals": self.ordinals,
            },
        )

    def claim(self, names: Iterable[str]) -> None:
        """Record files of OUT as this job's in job.json before they are written; a file of
        that name that synthgen did not write is never replaced (OutputExistsError)."""
        new = sorted(set(names) - self.files)
        for name in new:
            if name not in DATA_FILES:
                raise ValueError(f"{name!r} is not one of the files a job writes")
            path = self.out_dir / name
            if path.exists() or path.is_symlink() or is_input(path, self._inputs):
                raise OutputExistsError(
                    f"{path}: was not written by synthgen, and is not replaced; move it "
                    "elsewhere and run the same command again (the work done is kept)"
                )
        if new:
            self.files.update(new)
            self._write_marker()

    def discard(self) -> None:
        """Remove the state of a job that wrote nothing of value yet (no outputs, no journal
        line) from a folder that holds nothing else, and the folder: the corrected command
        then starts afresh. Beside other files the marker stays, as without it the folder
        would no longer be synthgen's."""
        if self.files or _has_lines(self.journal_path):
            return
        try:
            if any(entry.name != STATE_DIR for entry in self.out_dir.iterdir()):
                return
        except OSError:
            return
        self.release()
        discard_state(self.out_dir)

    def release(self) -> None:
        """Unlock the folder (the run is over); the OS does it when the process dies."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def replay(self) -> Iterator[JournalRecord]:
        """The journal's records in order; the one place journal lines are read. A torn last
        line (a crash mid-write) is ignored; blank, unreadable and repeated lines are skipped
        and reported once (their line numbers, on the ``synthgen`` logger); a request number
        no run of this job can have reached is a DamagedStateError naming the line."""
        if not self.journal_path.is_file():
            return
        limit = min(_MAX_ORDINAL, 10 * self.ordinals if self.ordinals else _MAX_ORDINAL)
        skipped: list[str] = []
        last = -1
        with self.journal_path.open("rb") as fh:
            for number, raw in enumerate(fh, 1):
                if not raw.endswith(b"\n"):
                    break
                record, why = _parse(raw)
                if record is not None and record.i > limit:
                    raise DamagedStateError(
                        f"{self.journal_path}:{number}: request number {record.i} is beyond "
                        f"what this job can have sent (at most {limit}): the journal is "
                        "damaged; delete that line and run the same command again"
                    )
                if record is not None and record.i <= last:
                    why = f"request {record.i} again" if record.i == last else "out of order"
                    record = None
                if record is None:
                    skipped.append(f"{number} ({why})")
                    continue
                last = record.i
                yield record
        if skipped and not self._told:
            self._told = True
            shown = ", ".join(skipped[:_SHOWN]) + (", ..." if len(skipped) > _SHOWN else "")
            log.warning(
                "%s: skipped %d damaged or repeated line(s): line %s",
                self.journal_path,
                len(skipped),
                shown,
            )

    def rejected(self) -> Iterator[dict[str, Any]]:
        """The rows of rejected.jsonl, in request order."""
        for record in self.replay():
            yield from record.rej

    def failures(self) -> Iterator[dict[str, Any]]:
        """The rows of failures.jsonl, in request order."""
        for record in self.replay():
            if record.fail is not None:
                yield {"request": record.i, **record.fail.model_dump()}

    def append(self, record: JournalRecord) -> None:
        """The one place journal lines are written."""
        assert self._fh is not None, "open() first"
        # One write per record and a flush: after kill -9 the OS still holds every record
        # that append() returned from.
        try:
            self._fh.write(record.line() + "\n")
            self._fh.flush()
        except OSError as e:  # a full disk: a torn last line is cut on resume
            raise write_error(self.journal_path, e) from e

    def sync(self) -> None:
        if self._fh is not None:
            try:
                self._fh.flush()
                os.fsync(self._fh.fileno())
            except OSError as e:
                raise write_error(self.journal_path, e) from e

    def close(self) -> None:
        """Close the journal. The folder stays locked until release() (the outputs are
        written after this), or until a later run of this process takes the lock over."""
        fh = self._fh
        try:
            self.sync()
        finally:
            self._fh = None
            if fh is not None:
                with contextlib.suppress(OSError):  # sync() said why; the rest is lost
                    fh.close()
            if self._lock is not None:
                self._lock.busy = False


_MAX_ORDINAL = 10**9
_SHOWN = 5  # damaged lines named in the warning


def _parse(raw: bytes) -> tuple[JournalRecord | None, str]:
    """A journal line as a record, or None and why not."""
    if not raw.strip():
        return None, "blank"
    try:
        record = JournalRecord.model_validate_json(raw)
    except ValidationError as e:
        first = e.errors()[0]
        if first["type"] in ("json_invalid", "json_type"):
            return None, "not JSON"
        where = ".".join(str(x) for x in first["loc"]) or "line"
        return None, f"{where}: {first['msg'].lower()}"
    except (ValueError, RecursionError):
        return None, "not JSON"
    if record.i < 0:
        return None, "negative request number"
    return record, ""


def _has_lines(path: Path) -> bool:
    try:
        return path.stat().st_size > 0
    except OSError:
        return False


def _cut_torn_tail(path: Path) -> None:
    if not path.is_file():
        return
    with path.open("rb+") as fh:
        data = fh.read()
        if data and not data.endswith(b"\n"):
            fh.truncate(data.rfind(b"\n") + 1)
