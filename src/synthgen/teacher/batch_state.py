"""The batches a run has submitted, in ``OUT/.synthgen/batches.jsonl``: an append-only log,
each line written and fsynced before the step it records goes on.

A batch is recorded before it is created (its uploaded file and the ``custom_id`` of every
request in it), then its batch id once the provider has it, then how it ended. A run killed
at any point, run again, finds the batch its requests are in and waits for that batch
instead of submitting (and paying for) a new one; a batch recorded without an id (killed
between upload and the provider's answer) is looked up by its file before a new one is made.
A torn or damaged line is skipped: the worst it costs is one batch submitted again.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["BATCH_LOG", "FINAL", "BatchEntry", "BatchLog"]

BATCH_LOG = "batches.jsonl"
# The statuses a batch does not leave.
FINAL = frozenset({"completed", "expired", "failed", "cancelled"})


@dataclass
class BatchEntry:
    """One batch: the file of its requests, their custom ids, and, once known, its id and
    how it ended."""

    file: str
    ids: tuple[str, ...]
    batch: str | None = None
    status: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINAL


class BatchLog:
    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> list[BatchEntry]:
        """The batches recorded, oldest first."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return []
        entries: dict[str, BatchEntry] = {}
        for line in raw.splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if not isinstance(row, dict) or not isinstance(row.get("file"), str):
                continue
            entry = entries.get(row["file"])
            ids = row.get("ids")
            if entry is None:
                if not isinstance(ids, list):
                    continue
                entry = entries[row["file"]] = BatchEntry(row["file"], tuple(map(str, ids)))
            if isinstance(row.get("batch"), str):
                entry.batch = row["batch"]
            if isinstance(row.get("status"), str):
                entry.status = row["status"]
        return list(entries.values())

    def submitting(self, file_id: str, ids: list[str]) -> BatchEntry:
        """Record a batch about to be created from ``file_id``."""
        self._append({"file": file_id, "ids": ids})
        return BatchEntry(file_id, tuple(ids))

    def submitted(self, entry: BatchEntry, batch_id: str) -> None:
        entry.batch = batch_id
        self._append({"file": entry.file, "batch": batch_id})

    def ended(self, entry: BatchEntry, status: str) -> None:
        entry.status = status
        self._append({"file": entry.file, "status": status})

    def _append(self, row: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = (json.dumps(row, separators=(",", ":")) + "\n").encode()
        with self.path.open("a+b") as fh:
            if fh.seek(0, os.SEEK_END) > 0:
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":  # a line torn by a kill: end it, keep this one whole
                    line = b"\n" + line
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())
