"""Seed and dataset files by format (.txt, .jsonl, .json, .csv/.tsv): the format detected,
the bytes decoded, and every record yielded with its line (item number in a JSON array)."""

from __future__ import annotations

import csv
import json
import os
import stat
from collections.abc import Generator, Iterator
from typing import Any, BinaryIO, Literal

from synthgen.data.example import Example
from synthgen.data.seed_records import MAX_JSON_DEPTH, check_json, json_type
from synthgen.data.shapes import parse_shaped
from synthgen.errors import InputError, SeedError

__all__ = [
    "MAX_LINE_BYTES",
    "Format",
    "detect_file_format",
    "load_json",
    "open_regular",
    "read_file",
    "text_lines",
]

Format = Literal["txt", "jsonl", "json", "csv", "tsv"]

_EXTENSIONS: dict[str, Format] = {
    ".txt": "txt",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "tsv",
}
_BOM = "\ufeff"
_DELIMITERS: tuple[tuple[str, Format], ...] = ((",", "csv"), ("\t", "tsv"))
_MIB = 1024 * 1024
# A line is read whole before it is parsed: without a cap, a file with no newline (or
# /dev/zero) is read until memory runs out. 1 MiB of text is ~250k tokens, past any context.
MAX_LINE_BYTES = _MIB
# A JSON array is parsed whole, and is often written on one line.
_MAX_JSON_ARRAY_BYTES = 256 * _MIB
_HEAD_BYTES = 64 * 1024  # what format detection looks at
_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def open_regular(
    path: str | os.PathLike[str],
    *,
    what: str = "a seeds file",
    error: type[InputError] = SeedError,
    max_bytes: int | None = None,
) -> BinaryIO:
    """``path`` opened for reading in binary, if it is a regular file (of at most
    ``max_bytes``); else an ``error`` naming it.

    A FIFO would block the open until a writer comes (forever, for a typo) and a device such
    as /dev/zero never ends: both are refused. The open itself does not block (O_NONBLOCK),
    and the type is checked on the opened file, so nothing can be swapped in between.
    """
    name = os.fspath(path)
    try:
        fd = os.open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise error(f"{name}: no such file") from None
    except OSError as e:
        raise error(f"{name}: cannot read: {e.strerror or e}") from None
    try:
        info = os.fstat(fd)
        mode, size = info.st_mode, info.st_size
        if stat.S_ISDIR(mode):
            raise error(f"{name}: is a directory, not {what}")
        if not stat.S_ISREG(mode):
            kind = next((k for test, k in _KINDS if test(mode)), "a special file")
            raise error(f"{name}: is {kind}, not a regular file: give {what}")
        if max_bytes is not None and size > max_bytes:
            raise error(f"{name}: {size:,} bytes, more than {what} may have ({max_bytes:,})")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def load_json(text: str, where: str) -> Any:
    """One JSON value of a seeds file, or a ``SeedError`` naming ``where``: invalid JSON,
    nesting too deep for the parser (or for what reads the record later), a lone surrogate."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise SeedError(f"{where}: invalid JSON: {e.msg} (column {e.colno})") from None
    except RecursionError:
        raise SeedError(f"{where}: invalid JSON: nested too deeply to read") from None
    # The walk costs as much as the parse: only when the text allows a problem at all.
    deep = text.count("[") + text.count("{") > MAX_JSON_DEPTH
    if deep or _maybe_surrogate(text):
        check_json(value, where)
    return value


def _maybe_surrogate(text: str) -> bool:
    """Whether JSON text can decode to a lone surrogate: only a ``\\uD800``-``\\uDFFF``
    escape can (decoded UTF-8 holds none)."""
    return "\\ud" in text or "\\uD" in text


def detect_file_format(path: str) -> Format:
    """The format by extension, else by the first non-blank content."""
    ext = os.path.splitext(path)[1].lower()
    by_ext = _EXTENSIONS.get(ext)
    if by_ext is not None and by_ext != "json":
        return by_ext
    head = _head_line(path)
    if by_ext == "json":
        # Many ".json" fine-tuning files are really JSON Lines.
        return "jsonl" if head.startswith("{") else "json"
    if head.startswith("{"):
        return "jsonl"
    if head.startswith("["):
        return "json"
    if not head.startswith("#"):
        for delimiter, fmt in _DELIMITERS:
            names = {n.strip().lower() for n in next(csv.reader([head], delimiter=delimiter))}
            if {"input", "output"} <= names:
                return fmt
    return "txt"


def _head_line(path: str) -> str:
    """The first non-blank line within the first 64 KiB (a one-line JSON array may be far
    longer than a line may be). Bad bytes are left for the reader to report with their line."""
    with open_regular(path) as f:
        head = f.read(_HEAD_BYTES).decode("utf-8", "replace").removeprefix(_BOM)
    return next((line.strip() for line in head.splitlines() if line.strip()), "")


def text_lines(path: str, max_line: int = MAX_LINE_BYTES) -> Generator[tuple[int, str], None, None]:
    """Decoded lines (line endings kept), streaming; a BOM is dropped, bad bytes and lines
    longer than ``max_line`` bytes are errors."""
    with open_regular(path) as f:
        number = 0
        while raw := f.readline(max_line + 1):
            number += 1
            if len(raw) > max_line:
                raise SeedError(
                    f"{path}:{number}: line longer than {max_line:,} bytes: not a seeds file,"
                    " or one record is far too long"
                )
            yield number, _decode(raw, path, number)


def _decode(raw: bytes, path: str, number: int) -> str:
    nul = raw.find(b"\0")
    try:
        text = raw.decode("utf-8")
        bad = nul
    except UnicodeDecodeError as e:
        text = ""
        bad = e.start if nul < 0 else min(nul, e.start)
    if bad >= 0:
        hint = ""
        if number == 1 and raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
            hint = "; it looks like UTF-16: save it as UTF-8"
        raise SeedError(
            f"{path}:{number}: not UTF-8 text (byte 0x{raw[bad]:02x} at column {bad + 1}){hint}"
        )
    return text[1:] if number == 1 and text.startswith(_BOM) else text


def read_file(path: str, fmt: Format) -> Iterator[tuple[int, str, Example]]:
    """``(line, shape, example)`` for every record of a file; at least one, or an error."""
    if fmt == "txt":
        records = _read_txt(path)
    elif fmt == "jsonl":
        records = _read_jsonl(path)
    elif fmt == "json":
        records = _read_json_array(path)
    else:
        records = _read_csv(path, "\t" if fmt == "tsv" else ",")
    found = False
    for record in records:
        found = True
        yield record
    if not found:
        raise SeedError(f"{path}: no seed examples found")


def _read_txt(path: str) -> Iterator[tuple[int, str, Example]]:
    for number, text in text_lines(path):
        line = text.strip()
        if not line or line.startswith("#"):
            continue
        sep = "\t" if "\t" in line else ";" if ";" in line else None
        if sep is None:
            yield number, "txt", Example.from_pairs([("user", line)])
            continue
        given, _, wanted = line.partition(sep)
        given, wanted = given.strip(), wanted.strip()
        name = "TAB" if sep == "\t" else "';'"
        if not given:
            raise SeedError(f"{path}:{number}: empty input before {name}")
        if not wanted:
            raise SeedError(f"{path}:{number}: empty output after {name}")
        yield number, "txt", Example.from_pairs([("user", given), ("assistant", wanted)])


def _read_jsonl(path: str) -> Iterator[tuple[int, str, Example]]:
    for number, text in text_lines(path):
        if not text.strip():
            continue
        where = f"{path}:{number}"
        shape, example = parse_shaped(load_json(text, where), where)
        yield number, shape, example


def _read_json_array(path: str) -> Iterator[tuple[int, str, Example]]:
    text = "".join(t for _, t in text_lines(path, _MAX_JSON_ARRAY_BYTES))
    if not text.strip():
        return
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise SeedError(f"{path}:{e.lineno}: invalid JSON: {e.msg} (column {e.colno})") from None
    except RecursionError:
        raise SeedError(f"{path}: invalid JSON: nested too deeply to read") from None
    if not isinstance(data, list):
        raise SeedError(
            f"{path}: expected a JSON array of records (or JSON Lines), got {json_type(data)}"
        )
    halves = _maybe_surrogate(text)
    for index, record in enumerate(data, 1):
        where = f"{path}: item {index}"
        check_json(record, where, surrogates=halves)
        shape, example = parse_shaped(record, where)
        yield index, shape, example


def _read_csv(path: str, delimiter: str) -> Iterator[tuple[int, str, Example]]:
    lines = (text for _, text in text_lines(path))
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    rows = _csv_rows(reader, path)
    header: list[str] | None = None
    for start, row in rows:
        if not row:
            continue
        if header is None:
            header = [_column(name) for name in row]
            if "input" not in header:
                found = ", ".join(row) or "nothing"
                raise SeedError(f"{path}:{start}: header has no 'input' column (found: {found})")
            repeated = next((n for i, n in enumerate(header) if n in header[:i]), None)
            if repeated is not None:
                raise SeedError(f"{path}:{start}: column {repeated!r} appears twice in the header")
            continue
        if len(row) != len(header):
            raise SeedError(f"{path}:{start}: {len(row)} fields, but the header has {len(header)}")
        # Quoted multi-line cells keep the file's line endings; contents use "\n".
        cells = dict(zip(header, (cell.replace("\r\n", "\n") for cell in row), strict=True))
        given = cells.pop("input").strip()
        wanted = cells.pop("output", "").strip()
        system = cells.pop("system", "").strip() or None
        if not given:
            raise SeedError(f"{path}:{start}: empty input")
        pairs = [("user", given)] + ([("assistant", wanted)] if wanted else [])
        # Empty cells are left out so that --balance-by names a row lacking its category.
        metadata = {k: v for k, v in cells.items() if v != ""}
        yield start, "csv", Example.from_pairs(pairs, system=system, metadata=metadata)


def _column(name: str) -> str:
    """Header names: the reserved columns match case-insensitively, the others keep their case."""
    name = name.strip()
    return name.lower() if name.lower() in {"input", "output", "system"} else name


def _csv_rows(reader: Any, path: str) -> Iterator[tuple[int, list[str]]]:
    """Rows with the line each starts on (quoted fields may span lines)."""
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise SeedError(f"{path}:{reader.line_num}: invalid CSV: {e}") from None
        yield start, row
