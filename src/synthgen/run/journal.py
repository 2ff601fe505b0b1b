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
from typing import IO, Any

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

    def replay(self) -> Iterator[dict[str, Any]]:
        """The journal's records in order (a torn last line from a crash is ignored)."""
        if not self.journal_path.is_file():
            return
        with self.journal_path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.endswith("\n"):
                    yield json.loads(line)

    def append(self, record: Mapping[str, Any]) -> None:
        assert self._fh is not None, "open() first"
        # One write per record and a flush: after kill -9 the OS still holds every record
        # that append() returned from.
        self._fh.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
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
