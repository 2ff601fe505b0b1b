"""Reading seed examples (.txt, .jsonl, .json, .csv/.tsv, or Python objects) into Examples.

Every problem is a ``SeedError`` whose one-line message names the file and line (``FILE:LINE:``),
or ``FILE: item N:`` for a JSON array and ``item N:`` for an iterable.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Generator, Iterable, Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass, replace
from typing import Any, Literal

from synthgen.data.example import Example, Message, Role
from synthgen.errors import ConfigError, SeedError

Format = Literal["txt", "jsonl", "json", "csv", "tsv"]

_EXTENSIONS: dict[str, Format] = {
    ".txt": "txt",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "tsv",
}
_ROLES = ("system", "user", "assistant")
_MESSAGE_KEYS = {"role", "content", "name", "weight"}
_SHAREGPT_ROLES: dict[str, Role] = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "chatgpt": "assistant",
    "bard": "assistant",
    "model": "assistant",
    "system": "system",
}
_EXPECTED = "expected messages, prompt/completion, instruction/output or conversations"
_BOM = "\ufeff"
_DELIMITERS: tuple[tuple[str, Format], ...] = ((",", "csv"), ("\t", "tsv"))


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
        fmt = _detect(file)
        numbering: Literal["line", "item"] = "item" if fmt == "json" else "line"
        records = list(_read(file, fmt))
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
                    " pass --system to choose it"
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
    for line, _, example in _read(p, _detect(p)):
        yield line, example


def read_jsonl_lines(path: str | os.PathLike[str]) -> Iterator[tuple[int, str, Example]]:
    """``(line, raw line, Example)`` for each record of a JSONL dataset, so a stage that
    filters a dataset can write the kept lines back byte for byte, fields and all."""
    p = os.fspath(path)
    found = False
    for number, text in _text_lines(p):
        if not text.strip():
            continue
        where = f"{p}:{number}"
        try:
            record = json.loads(text)
        except json.JSONDecodeError as e:
            raise SeedError(f"{where}: invalid JSON: {e.msg} (column {e.colno})") from None
        found = True
        yield number, text.rstrip("\r\n"), _parse_record(record, where)[1]
    if not found:
        raise SeedError(f"{p}: no examples found")


def parse_record(record: object, where: str) -> Example:
    """Turn one JSON-shaped record (chat, prompt/completion, Alpaca, ShareGPT) into an Example;
    ``where`` (e.g. ``"data.jsonl:3"``) prefixes any error message."""
    return _parse_record(record, where)[1]


# --- reading files -----------------------------------------------------------------------


def _location(path: str, line: int, numbering: str) -> str:
    return f"{path}: item {line}" if numbering == "item" else f"{path}:{line}"


def _without_system(example: Example) -> Example:
    if example.system is None:
        return example
    # Already validated: model_construct skips a second validation (3x faster than with_system).
    return Example.model_construct(messages=example.turns, metadata=example.metadata)


def _describe(system: str | None) -> str:
    if system is None:
        return "no system prompt"
    short = system if len(system) <= 40 else system[:37] + "..."
    return f"the system prompt {short!r}"


def _check_path(path: str) -> None:
    if os.path.isdir(path):
        raise SeedError(f"{path}: is a directory, not a seeds file")
    if not os.path.exists(path):
        raise SeedError(f"{path}: no such file")


def _detect(path: str) -> Format:
    """The format by extension, else by the first non-blank content."""
    ext = os.path.splitext(path)[1].lower()
    by_ext = _EXTENSIONS.get(ext)
    if by_ext is not None and by_ext != "json":
        return by_ext
    with closing(_text_lines(path)) as lines:
        head = next((t.strip() for _, t in lines if t.strip()), "")
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


def _text_lines(path: str) -> Generator[tuple[int, str], None, None]:
    """Decoded lines (line endings kept), streaming; a BOM is dropped, bad bytes are errors."""
    _check_path(path)
    try:
        f = open(path, "rb")  # noqa: SIM115 -- closed by the with below; open errors mapped here
    except OSError as e:
        raise SeedError(f"{path}: cannot read: {e.strerror or e}") from None
    with f:
        for number, raw in enumerate(f, 1):
            nul = raw.find(b"\0")
            try:
                text = raw.decode("utf-8")
                bad = nul
            except UnicodeDecodeError as e:
                bad = e.start if nul < 0 else min(nul, e.start)
            if bad >= 0:
                hint = ""
                if number == 1 and raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
                    hint = "; it looks like UTF-16: save it as UTF-8"
                raise SeedError(
                    f"{path}:{number}: not UTF-8 text (byte 0x{raw[bad]:02x} at column {bad + 1})"
                    f"{hint}"
                )
            if number == 1 and text.startswith(_BOM):
                text = text[1:]
            yield number, text


def _read(path: str, fmt: Format) -> Iterator[tuple[int, str, Example]]:
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
    for number, text in _text_lines(path):
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
    for number, text in _text_lines(path):
        if not text.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(text)
        except json.JSONDecodeError as e:
            raise SeedError(f"{where}: invalid JSON: {e.msg} (column {e.colno})") from None
        shape, example = _parse_record(record, where)
        yield number, shape, example


def _read_json_array(path: str) -> Iterator[tuple[int, str, Example]]:
    text = "".join(t for _, t in _text_lines(path))
    if not text.strip():
        return
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise SeedError(f"{path}:{e.lineno}: invalid JSON: {e.msg} (column {e.colno})") from None
    if not isinstance(data, list):
        raise SeedError(
            f"{path}: expected a JSON array of records (or JSON Lines), got {_json_type(data)}"
        )
    for index, record in enumerate(data, 1):
        shape, example = _parse_record(record, f"{path}: item {index}")
        yield index, shape, example


def _read_csv(path: str, delimiter: str) -> Iterator[tuple[int, str, Example]]:
    lines = (text for _, text in _text_lines(path))
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


# --- records -----------------------------------------------------------------------------


def _read_iterable(
    items: Iterable[Example | Mapping[str, Any]],
) -> Iterator[tuple[int, str, Example]]:
    for index, item in enumerate(items, 1):
        where = f"item {index}"
        if isinstance(item, Example):
            _check_conversation(item.messages, where)
            yield 0, "python", item
        elif isinstance(item, Mapping):
            shape, example = _parse_record(item, where)
            yield 0, shape, example
        else:
            raise SeedError(f"{where}: expected an Example or a mapping, got {type(item).__name__}")


def _json_type(value: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number")


def _parse_record(record: object, where: str) -> tuple[str, Example]:
    if not isinstance(record, Mapping):
        raise SeedError(f"{where}: expected a JSON object, got {_json_type(record)}")
    keys = set(record)
    if "messages" in keys:
        shape, used = "chat", {"messages"}
        messages = _chat_messages(record["messages"], where)
    elif "conversations" in keys:
        shape, used = "sharegpt", {"conversations", "system"}
        messages = _sharegpt_messages(record["conversations"], where)
    elif {"prompt", "chosen", "rejected"} <= keys:
        raise SeedError(
            f"{where}: preference records (prompt/chosen/rejected) are not supported;"
            ' convert them to {"messages": [...]} with the chosen reply'
        )
    elif {"prompt", "completion"} <= keys:
        shape, used = "prompt-completion", {"prompt", "completion", "system"}
        messages = _prompt_completion(record["prompt"], record["completion"], where)
    elif {"instruction", "output"} <= keys:
        shape, used = "alpaca", {"instruction", "input", "output", "system"}
        messages = _alpaca(record, where)
    else:
        listed = ", ".join(repr(k) for k in record)
        raise SeedError(f"{where}: unrecognised record with keys [{listed}]: {_EXPECTED}")
    if shape != "chat" and "system" in keys and record["system"] not in (None, ""):
        # LLaMA-Factory and others put the system prompt in a top-level field.
        messages.insert(0, Message(role="system", content=_string(record, "system", where)))
    _check_conversation(messages, where)
    metadata = {k: v for k, v in record.items() if k not in used}
    return shape, Example(messages=tuple(messages), metadata=metadata)


def _string(record: Mapping[str, Any], key: str, where: str) -> str:
    value = record[key]
    if not isinstance(value, str):
        raise SeedError(f"{where}: {key!r} must be a string, got {_json_type(value)}")
    return value


def _chat_messages(raw: object, where: str) -> list[Message]:
    if not isinstance(raw, list):
        raise SeedError(f"{where}: 'messages' must be a list, got {_json_type(raw)}")
    messages = []
    for n, msg in enumerate(raw, 1):
        at = f"{where}: message {n}"
        if not isinstance(msg, Mapping):
            raise SeedError(f"{at}: expected an object, got {_json_type(msg)}")
        extra = [k for k in msg if k not in _MESSAGE_KEYS]
        if extra:
            raise SeedError(
                f"{at}: unsupported key {extra[0]!r} (allowed: role, content, name, weight)"
            )
        role = msg.get("role")
        if role not in _ROLES:
            raise SeedError(f"{at}: unknown role {role!r} (expected system, user or assistant)")
        content = msg.get("content")
        if not isinstance(content, str):
            what = "missing" if "content" not in msg else _json_type(content)
            raise SeedError(f"{at}: content must be a string, got {what}")
        name = msg.get("name")
        if name is not None and not isinstance(name, str):
            raise SeedError(f"{at}: name must be a string, got {_json_type(name)}")
        weight = msg.get("weight")
        if weight is not None and (
            role != "assistant" or isinstance(weight, bool) or weight not in (0, 1)
        ):
            raise SeedError(f"{at}: weight must be 0 or 1, and only on assistant messages")
        messages.append(Message(role=role, content=content, name=name, weight=weight))
    return messages


def _sharegpt_messages(raw: object, where: str) -> list[Message]:
    if not isinstance(raw, list):
        raise SeedError(f"{where}: 'conversations' must be a list, got {_json_type(raw)}")
    messages = []
    for n, turn in enumerate(raw, 1):
        at = f"{where}: turn {n}"
        if not isinstance(turn, Mapping):
            raise SeedError(f"{at}: expected an object, got {_json_type(turn)}")
        speaker = turn.get("from")
        role = _SHAREGPT_ROLES.get(speaker) if isinstance(speaker, str) else None
        if role is None:
            raise SeedError(f"{at}: unknown 'from' {speaker!r} (expected human, gpt or system)")
        value = turn.get("value")
        if not isinstance(value, str):
            what = "missing" if "value" not in turn else _json_type(value)
            raise SeedError(f"{at}: value must be a string, got {what}")
        messages.append(Message(role=role, content=value))
    return messages


def _prompt_completion(prompt: object, completion: object, where: str) -> list[Message]:
    if isinstance(prompt, list) and isinstance(completion, list):
        # TRL's conversational prompt-completion: both halves are message lists.
        return _chat_messages(prompt + completion, where)
    if not isinstance(prompt, str):
        raise SeedError(f"{where}: 'prompt' must be a string, got {_json_type(prompt)}")
    if not isinstance(completion, str):
        raise SeedError(f"{where}: 'completion' must be a string, got {_json_type(completion)}")
    return [Message(role="user", content=prompt), Message(role="assistant", content=completion)]


def _alpaca(record: Mapping[str, Any], where: str) -> list[Message]:
    instruction = _string(record, "instruction", where)
    output = _string(record, "output", where)
    given = record.get("input")
    if given not in (None, ""):
        if not isinstance(given, str):
            raise SeedError(f"{where}: 'input' must be a string, got {_json_type(given)}")
        if given.strip():
            instruction = f"{instruction}\n\n{given}"
    return [Message(role="user", content=instruction), Message(role="assistant", content=output)]


def _check_conversation(messages: Iterable[Message], where: str) -> None:
    """One optional system prompt, first; at least one other message; no empty contents."""
    turns = 0
    for n, msg in enumerate(messages, 1):
        if not msg.content.strip():
            raise SeedError(f"{where}: message {n} ({msg.role}) has empty content")
        if msg.role == "system":
            if n != 1:
                raise SeedError(f"{where}: message {n}: a system message must come first")
        else:
            turns += 1
    if not turns:
        raise SeedError(f"{where}: no user or assistant message")


__all__ = ["SeedSet", "load_seeds", "parse_record", "read_records"]
