"""Requests are counted when they are sent, not when their replies come back.

``OUT/.synthgen/sent.log`` gets one line (the request's ordinal) per request sent to the
teacher, written and flushed *before* it is sent: a run killed (even with kill -9) between
sending a request and its reply still counts it, so ``--max-requests`` holds across kills and
report.json's ``sent`` is what the server saw. A request sent again after a kill (its reply
never arrived) is counted again: it was sent twice. Retries of a request are not lines of
their own (report.json counts them as retries).
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

__all__ = ["SENT_LOG", "SendLog"]

SENT_LOG = "sent.log"


class SendLog:
    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / SENT_LOG
        self._fh: IO[str] | None = None

    def count(self) -> int | None:
        """Requests sent by earlier runs of this job, or None when no run of it kept a log
        (a journal written before the log existed: the journal's count stands)."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        return data.count(b"\n")

    def append(self, ordinal: int) -> None:
        """Record that request ``ordinal`` is about to be sent. One write and a flush: after
        kill -9 the OS still holds every line this returned from."""
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("a", encoding="utf-8")
        self._fh.write(f"{ordinal}\n")
        self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
