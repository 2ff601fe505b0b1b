"""What a run bought but never curated, kept for the runs after it.

When a run ends (``n`` reached, a budget, Ctrl-C), replies still in flight may land: they are
paid for and go to the response cache, but no journal record counts them, as journal records
are written in request order and these come after the last one curated. The ledger counts them
at the end (:meth:`synthgen.run.ledger.Ledger.settle`); ``OUT/.synthgen/settled.jsonl`` keeps
them, a line per request, so a re-run or a resume starts from the same totals: the report of a
finished job is the same however often its command is run again. A resumed run that takes such
a reply from the cache counts nothing for it again (cache hits cost nothing); one that buys it
again (no cache) counts it again, as it was paid for twice.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from synthgen.errors import write_error

__all__ = ["SETTLED_LOG", "SettledLog"]

SETTLED_LOG = "settled.jsonl"

log = logging.getLogger("synthgen")


class SettledLog:
    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / SETTLED_LOG

    def read(self) -> Iterator[dict[str, Any]]:
        """The entries of earlier runs; a torn or unreadable line (a kill mid-write) is
        skipped: its purchases are then missing from the totals, never counted twice."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return
        for line in raw.splitlines(keepends=True):
            try:
                entry = json.loads(line)
            except ValueError:
                log.warning("%s: skipped a damaged line", self.path)
                continue
            if isinstance(entry, dict) and isinstance(entry.get("i"), int):
                yield entry

    def append(self, entries: list[dict[str, Any]]) -> None:
        if not entries:
            return
        text = "".join(
            json.dumps(e, ensure_ascii=False, separators=(",", ":")) + "\n" for e in entries
        )
        try:
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as e:
            raise write_error(self.path, e) from e
