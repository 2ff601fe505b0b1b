"""What each prompt of a pairs job got: its responses and their judge scores, one line per
prompt in ``OUT/.synthgen/pairs.jsonl``, written as soon as the prompt is done. A resumed run
skips the prompts found here (and takes the others' responses from the response cache), so a
kill costs no response or verdict twice. The pairs themselves are chosen from these lines when
the outputs are written, so another ``--min-margin`` needs no request at all."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from synthgen.data.example import Example
from synthgen.errors import write_error

__all__ = ["PAIRS_JOURNAL", "PairJournal", "Sample", "Scored", "prompt_key"]

PAIRS_JOURNAL = "pairs.jsonl"

log = logging.getLogger("synthgen")


@dataclass(frozen=True)
class Sample:
    """One response: ``text`` None when the teacher gave none that can be used (``why``
    says what happened), ``score`` None when the judge gave no score (``why`` says why)."""

    text: str | None
    score: int | None
    why: str = ""


@dataclass(frozen=True)
class Scored:
    """A prompt and its scored responses."""

    prompt: Example
    samples: tuple[Sample, ...]


def prompt_key(prompt: Example) -> str:
    """The prompt's identity in the journal: its messages, exactly."""
    blob = json.dumps(prompt.to_chat()["messages"], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


class PairJournal:
    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / PAIRS_JOURNAL
        self._fh: IO[str] | None = None

    def read(self) -> dict[str, tuple[Sample, ...]]:
        """The prompts earlier runs finished; a torn or damaged line (a kill mid-write) is
        skipped: that prompt is asked again, its replies then come from the cache."""
        done: dict[str, tuple[Sample, ...]] = {}
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return done
        for line in raw.splitlines():
            try:
                entry = json.loads(line)
                done[entry["key"]] = tuple(Sample(t, s, w) for t, s, w in entry["samples"])
            except (ValueError, KeyError, TypeError):
                log.warning("%s: skipped a damaged line", self.path)
        return done

    def append(self, key: str, samples: tuple[Sample, ...]) -> None:
        """One line, written and flushed: after a kill the OS still holds it."""
        line = {"key": key, "samples": [[s.text, s.score, s.why] for s in samples]}
        try:
            if self._fh is None:
                self._fh = self.path.open("a", encoding="utf-8")
            self._fh.write(json.dumps(line, ensure_ascii=False) + "\n")
            self._fh.flush()
        except OSError as e:
            raise write_error(self.path, e) from e

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
