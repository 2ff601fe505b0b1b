"""The metadata sidecar, OUT/metadata.jsonl: every written row's metadata (category, the
request and seeds it came from, judge score, ...), whatever the format.

One line per row of train.jsonl then eval.jsonl, in their order::

    {"split": "train", "index": 0, "metadata": {"category": "billing", ...}}

``index`` is the row's 0-based position in its split's file, so a loader joins the two by
position (``datasets.load_dataset("json", data_files="metadata.jsonl")`` reads it as it is).
The ``openai`` format cannot carry metadata in its rows; the other formats carry it in a
``metadata`` object too, but the sidecar is the one place that always has it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from synthgen.data.example import Example
from synthgen.data.formats import write_jsonl
from synthgen.errors import InputError

__all__ = ["SIDECAR_NAME", "SPLITS", "metadata_rows", "read_metadata", "write_metadata"]

SIDECAR_NAME = "metadata.jsonl"
# The split names are the data files' stems, so a row names the file it describes.
SPLITS = ("train", "eval")


def metadata_rows(splits: Iterable[tuple[str, Sequence[Example]]]) -> Iterator[dict[str, Any]]:
    """The sidecar's lines for ``(split, examples)`` pairs, in the order given."""
    for split, examples in splits:
        for index, example in enumerate(examples):
            yield {"split": split, "index": index, "metadata": dict(example.metadata)}


def write_metadata(
    out_dir: str | os.PathLike[str], train: Sequence[Example], evals: Sequence[Example]
) -> int:
    """Write OUT/metadata.jsonl for the rows of train.jsonl and eval.jsonl, atomically;
    returns the line count (``len(train) + len(evals)``)."""
    path = Path(out_dir) / SIDECAR_NAME
    return write_jsonl(path, metadata_rows((("train", train), ("eval", evals))))


def read_metadata(path: str | os.PathLike[str]) -> dict[str, list[dict[str, Any]]]:
    """The sidecar as ``{split: [metadata of row 0, row 1, ...]}``; ``path`` is the file or the
    output folder holding it. A gap or a repeat in a split's indexes is an ``InputError``."""
    file = Path(path)
    if file.is_dir():
        file = file / SIDECAR_NAME
    out: dict[str, list[dict[str, Any]]] = {}
    try:
        with file.open(encoding="utf-8") as f:
            for number, text in enumerate(f, 1):
                if text.strip():
                    split, index, metadata = _row(text, f"{file}:{number}")
                    rows = out.setdefault(split, [])
                    if index != len(rows):
                        raise InputError(
                            f"{file}:{number}: {split} row {index} out of order"
                            f" (expected {len(rows)})"
                        )
                    rows.append(metadata)
    except FileNotFoundError:
        raise InputError(f"{file}: no such file") from None
    return out


def _row(text: str, where: str) -> tuple[str, int, dict[str, Any]]:
    try:
        row = json.loads(text)
    except ValueError as e:
        raise InputError(f"{where}: invalid JSON: {e}") from None
    split = row.get("split") if isinstance(row, dict) else None
    index = row.get("index") if isinstance(row, dict) else None
    metadata = row.get("metadata") if isinstance(row, dict) else None
    if (
        not isinstance(split, str)
        or not isinstance(index, int)
        or isinstance(index, bool)
        or not isinstance(metadata, dict)
    ):
        raise InputError(f'{where}: expected {{"split": str, "index": int, "metadata": object}}')
    return split, index, metadata
