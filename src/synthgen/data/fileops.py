"""``synthgen dedup`` and ``synthgen split`` on an existing JSONL dataset, with the same
guarantees as inside ``expand``. Kept lines are written back byte for byte (every field
stays), atomically, and nothing is written when the input is bad."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthgen.data.formats import write_text_lines
from synthgen.errors import ConfigError, OutputExistsError


@dataclass
class StageResult:
    kept: int
    dropped: dict[str, int] = field(default_factory=dict)
    files: dict[str, int] = field(default_factory=dict)  # written file -> lines


def _read(path: Path) -> tuple[list[str], list[Any]]:
    from synthgen.data.seeds import read_jsonl_lines

    raw, examples = [], []
    for _, text, example in read_jsonl_lines(path):
        raw.append(text)
        examples.append(example)
    return raw, examples


def _write_lines(path: Path, lines: Iterable[str]) -> int:
    return write_text_lines(path, lines)


def dedup_file(
    source: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    threshold: float = 0.8,
    force: bool = False,
) -> StageResult:
    """Drop exact and near duplicates (Jaccard >= threshold), keeping first occurrences."""
    from synthgen.data.dedup import dedup

    if not 0 < threshold <= 1:
        raise ConfigError(f"--threshold must be in (0, 1] (got {threshold})")
    src, dst = Path(source), Path(out)
    _check_target(dst, force)
    raw, examples = _read(src)
    tagged = [e.with_metadata(_line=i) for i, e in enumerate(examples)]
    kept, dropped = dedup(tagged, threshold=threshold)
    lines = [raw[e.metadata["_line"]] for e in kept]
    reasons: dict[str, int] = {}
    for _, match in dropped:
        reasons[match.reason] = reasons.get(match.reason, 0) + 1
    dst.parent.mkdir(parents=True, exist_ok=True)
    written = _write_lines(dst, lines)
    return StageResult(kept=len(kept), dropped=reasons, files={str(dst): written})


def split_file(
    source: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    eval_fraction: float = 0.1,
    seed: int = 0,
    balance_by: str | None = None,
    force: bool = False,
) -> StageResult:
    """Write OUT/train.jsonl and OUT/eval.jsonl: stratified, deterministic, and no cluster of
    near-duplicates (Jaccard >= 0.5) on both sides."""
    from synthgen.data.split import split

    if not 0 < eval_fraction < 1:  # before reading anything: usage errors come first
        raise ConfigError(f"--eval-fraction must be between 0 and 1 (got {eval_fraction})")
    src, folder = Path(source), Path(out_dir)
    train_path, eval_path = folder / "train.jsonl", folder / "eval.jsonl"
    for target in (train_path, eval_path):
        _check_target(target, force)
    raw, examples = _read(src)
    tagged = [e.with_metadata(_line=i) for i, e in enumerate(examples)]
    train, evals = split(tagged, eval_fraction=eval_fraction, seed=seed, balance_by=balance_by)
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        str(train_path): _write_lines(train_path, (raw[e.metadata["_line"]] for e in train)),
        str(eval_path): _write_lines(eval_path, (raw[e.metadata["_line"]] for e in evals)),
    }
    return StageResult(kept=len(examples), files=files)


def _check_target(path: Path, force: bool) -> None:
    if path.exists() and not force:
        raise OutputExistsError(f"{path}: exists; pass --force to replace it")


def summary(result: StageResult) -> Iterator[str]:
    for name, count in result.files.items():
        yield f"wrote {name} ({count} lines)"
    if result.dropped:
        yield "dropped " + ", ".join(f"{k} {v}" for k, v in result.dropped.items())
