"""The run's durable state in ``OUT/.synthgen/``: what job this folder belongs to, and an
append-only journal with one line per processed request (accepted examples, rejections,
failure, usage). A run killed at any moment resumes from the journal: the dedup index, the
counts and the request ordinal are rebuilt from it, so nothing accepted is lost or accepted
twice. Responses that arrived but were not yet journaled are in the response cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any, Literal

from pydantic import BaseModel, ConfigDict, field_serializer

from synthgen.data.example import Example
from synthgen.errors import OutputExistsError

STATE_DIR = ".synthgen"
OUTPUT_FILES = (
    "train.jsonl",
    "eval.jsonl",
    "report.json",
    "rejected.jsonl",
    "failures.jsonl",
    "README.md",
)


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

    @field_serializer("acc")
    def _chat_lines(self, acc: list[Example]) -> list[dict[str, Any]]:
        return [{**e.to_chat(), "metadata": e.metadata} for e in acc]

    def line(self) -> str:
        """The record as a journal line (without the newline)."""
        if self.fail is not None:
            data: dict[str, Any] = {"i": self.i, "fail": self.fail.model_dump()}
        else:
            data = self.model_dump(exclude={"fail", "retries", "faults"}, exclude_none=True)
            if not self.sur:
                del data["sur"]
        if self.retries:
            data["retries"] = self.retries
        if self.faults:
            data["faults"] = self.faults
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def fingerprint(settings: Mapping[str, Any]) -> str:
    blob = json.dumps(settings, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


class RunState:
    def __init__(self, out_dir: Path, job: Mapping[str, Any]) -> None:
        self.out_dir = out_dir
        self.dir = out_dir / STATE_DIR
        self.job = dict(job)
        self.job_id = fingerprint(job)
        self.journal_path = self.dir / "journal.jsonl"
        self._fh: IO[str] | None = None

    def check(self, *, force: bool) -> bool:
        """Raise unless this folder is free, ours, or --force; True when resuming. Writes
        nothing, so a bad invocation leaves the folder as it was."""
        if not self.out_dir.exists():
            return False
        if not self.out_dir.is_dir():
            raise OutputExistsError(f"{self.out_dir}: exists and is not a folder")
        if not any(self.out_dir.iterdir()):
            return False
        job_file = self.dir / "job.json"
        if job_file.is_file():
            try:
                same = json.loads(job_file.read_text(encoding="utf-8")).get("id") == self.job_id
            except ValueError:
                same = False
            if same:
                return self.journal_path.is_file()
        if force:
            return False
        raise OutputExistsError(
            f"{self.out_dir}: holds files from a different job (other seeds or settings); "
            "pass --force to replace them, or choose another -o"
        )

    def open(self, *, resume: bool) -> None:
        """Start (wiping our own earlier files) or reopen the journal for appending."""
        if not resume:
            shutil.rmtree(self.dir, ignore_errors=True)
            for name in OUTPUT_FILES:
                (self.out_dir / name).unlink(missing_ok=True)
        self.dir.mkdir(parents=True, exist_ok=True)
        job_file = self.dir / "job.json"
        job_file.write_text(
            json.dumps({"id": self.job_id, "job": self.job}, ensure_ascii=False, indent=2),
            encoding="utf-8",
        )
        if resume:
            _cut_torn_tail(self.journal_path)
        self._fh = self.journal_path.open("a", encoding="utf-8")

    def replay(self) -> Iterator[JournalRecord]:
        """The journal's records in order (a torn last line from a crash is ignored). The one
        place journal lines are read."""
        if not self.journal_path.is_file():
            return
        with self.journal_path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.endswith("\n"):
                    yield JournalRecord.model_validate_json(line)

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
        self._fh.write(record.line() + "\n")
        self._fh.flush()

    def sync(self) -> None:
        if self._fh is not None:
            self._fh.flush()
            os.fsync(self._fh.fileno())

    def close(self) -> None:
        if self._fh is not None:
            self.sync()
            self._fh.close()
            self._fh = None


def _cut_torn_tail(path: Path) -> None:
    if not path.is_file():
        return
    with path.open("rb+") as fh:
        data = fh.read()
        if data and not data.endswith(b"\n"):
            fh.truncate(data.rfind(b"\n") + 1)
