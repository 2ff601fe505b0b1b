"""Reading seed examples (.txt, .jsonl, .json, .csv/.tsv, or Python objects) into Examples.

Every problem is a ``SeedError`` whose one-line message names the file and line (``FILE:LINE:``),
or ``FILE: item N:`` for a JSON array and ``item N:`` for an iterable. The file formats are
read in ``seed_readers``, each record by its shape in ``shapes``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from synthgen.data.example import Example
from synthgen.data.seed_readers import detect_file_format, load_json, read_file, text_lines
from synthgen.data.seed_records import check_conversation
from synthgen.data.shapes import parse_record, parse_shaped
from synthgen.errors import ConfigError, SeedError
from synthgen.settings.naming import setting

__all__ = ["SeedSet", "load_seeds", "parse_record", "read_jsonl_lines", "read_records"]


@dataclass(frozen=True)
class SeedSet:
    """Seeds ready for the pipeline: turns without system prompts, plus the one system prompt."""

    examples: tuple[Example, ...]
    system: str | None
    path: str | None
    fmt: str
    lines: tuple[int, ...]
    numbering: Literal["line", "item"] = "line"

    def __len__(self) -> int:
        return len(self.examples)

    def where(self, index: int) -> str:
        """Where the seed at ``index`` came from: ``FILE:LINE``, ``FILE: item N`` or ``item N``."""
        if self.path is None:
            return f"item {index + 1}"
        return _location(self.path, self.lines[index], self.numbering)

    def categories(self, field: str) -> dict[str, int]:
        """Seeds per value of ``metadata[field]``, in first-seen order."""
        counts: dict[str, int] = {}
        for i, example in enumerate(self.examples):
            value = example.metadata.get(field)
            if value is None or value == "":
                present = ", ".join(example.metadata) or "none"
                raise ConfigError(
                    f"{self.where(i)}: seed has no {field!r} field to balance by"
                    f" (fields present: {present})"
                )
            if isinstance(value, (dict, list)):
                raise ConfigError(
                    f"{self.where(i)}: field {field!r} is a JSON {type(value).__name__},"
                    " not a category name"
                )
            key = value if isinstance(value, str) else json.dumps(value)
            counts[key] = counts.get(key, 0) + 1
        return counts


def load_seeds(
    source: str | os.PathLike[str] | Iterable[Example | Mapping[str, Any]],
    *,
    system: str | None = None,
) -> SeedSet:
    """Read seeds from a file or an iterable and settle the dataset's one system prompt.

    ``system`` (the ``--system`` flag) replaces every seed's system prompt; ``""`` means none.
    """
    if isinstance(source, (str, os.PathLike)):
        file = os.fspath(source)
        path: str | None = file
        fmt = detect_file_format(file)
        numbering: Literal["line", "item"] = "item" if fmt == "json" else "line"
        records = list(read_file(file, fmt))
    elif isinstance(source, (Example, Mapping)):
        raise SeedError("seeds: expected a file path or an iterable of examples, got one example")
    else:
        path, numbering = None, "item"
        records = list(_read_iterable(source))
        if not records:
            raise SeedError("seeds: no seed examples given")
    shapes = {shape for _, shape, _ in records}
    seeds = SeedSet(
        examples=tuple(ex for _, _, ex in records),
        system=None,
        path=path,
        fmt=shapes.pop() if len(shapes) == 1 else "mixed",
        lines=tuple(line for line, _, _ in records),
        numbering=numbering,
    )
    if system is not None:
        resolved = system or None
    else:
        resolved = seeds.examples[0].system
        for i, ex in enumerate(seeds.examples):
            if ex.system != resolved:
                first = f"{numbering} {seeds.lines[0]}" if path is not None else "item 1"
                raise SeedError(
                    f"{seeds.where(i)}: has {_describe(ex.system)}, but {first} has"
                    f" {_describe(resolved)}; every example of a dataset needs the same one:"
                    f" pass {setting('system')} to choose it"
                )
    return replace(
        seeds, examples=tuple(_without_system(ex) for ex in seeds.examples), system=resolved
    )


def read_records(path: str | os.PathLike[str]) -> Iterator[tuple[int, Example]]:
    """Parse a dataset or seeds file lazily into ``(line, Example)``, system prompts kept.

    Lines are 1-based (item numbers for a JSON array). Errors are raised when reached, so
    collect the results before acting on them if partial output must be avoided.
    """
    p = os.fspath(path)
    for line, _, example in read_file(p, detect_file_format(p)):
        yield line, example


def read_jsonl_lines(path: str | os.PathLike[str]) -> Iterator[tuple[int, str, Example]]:
    """``(line, raw line, Example)`` for each record of a JSONL dataset, so a stage that
    filters a dataset can write the kept lines back byte for byte, fields and all."""
    p = os.fspath(path)
    found = False
    for number, text in text_lines(p):
        if not text.strip():
            continue
        where = f"{p}:{number}"
        record = load_json(text, where)
        found = True
        yield number, text.rstrip("\r\n"), parse_record(record, where)
    if not found:
        raise SeedError(f"{p}: no examples found")


def _location(path: str, line: int, numbering: str) -> str:
    return f"{path}: item {line}" if numbering == "item" else f"{path}:{line}"


def _without_system(example: Example) -> Example:
    if example.system is None:
        return example
    # Already validated: model_construct skips a second validation (3x faster than with_system).
    return Example.model_construct(
        messages=example.turns,
        metadata=example.metadata,
        tools=example.tools,
        parallel_tool_calls=example.parallel_tool_calls,
    )


def _describe(system: str | None) -> str:
    if system is None:
        return "no system prompt"
    short = system if len(system) <= 40 else system[:37] + "..."
    return f"the system prompt {short!r}"


def _read_iterable(
    items: Iterable[Example | Mapping[str, Any]],
) -> Iterator[tuple[int, str, Example]]:
    for index, item in enumerate(items, 1):
        where = f"item {index}"
        if isinstance(item, Example):
            check_conversation(item.messages, where)
            yield 0, "python", item
        elif isinstance(item, Mapping):
            shape, example = parse_shaped(item, where)
            yield 0, shape, example
        else:
            raise SeedError(f"{where}: expected an Example or a mapping, got {type(item).__name__}")
